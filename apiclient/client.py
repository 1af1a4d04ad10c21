"""Thin typed wrapper over the REST API (httpx). Errors surface as ApiError with the API's code."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx

TERMINAL_STATES = ("succeeded", "failed", "cancelled")


class ApiError(Exception):
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        self.status = status
        self.code = body.get("code", "error")
        self.errors = body.get("errors", {})
        message = body.get("message", "")
        details = "; ".join(
            f"{field}: {' '.join(map(str, msgs))}" for field, msgs in self.errors.items()
        )
        super().__init__(f"{status} {self.code}: {message}" + (f" ({details})" if details else ""))


class Api:
    def __init__(self, url: str, token: str, timeout: float = 60) -> None:
        self.http = httpx.Client(
            base_url=url.rstrip("/") + "/api/v1",
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
        )

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.http.request(method, path, **kwargs)
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = {"message": response.text[:200]}
            raise ApiError(response.status_code, body)
        return response.json() if response.content else None

    def paged(self, path: str) -> Iterator[dict[str, Any]]:
        offset = 0
        while True:
            page = self.request("GET", path, params={"offset": offset, "limit": 100})
            yield from page["results"]
            offset += len(page["results"])
            if not page.get("next"):
                return

    def create_cluster(
        self, spec: dict[str, Any], idempotency_key: str | None = None
    ) -> dict[str, Any]:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        return self.request("POST", "/clusters/", json=spec, headers=headers)

    def delete_cluster(self, cluster_id: str, name: str) -> dict[str, Any]:
        return self.request("DELETE", f"/clusters/{cluster_id}/", params={"confirm_name": name})

    def find_cluster(self, name_or_id: str) -> dict[str, Any]:
        for cluster in self.paged("/clusters/"):
            if name_or_id in (cluster["name"], cluster["id"]):
                return cluster
        raise ApiError(404, {"code": "not_found", "message": f"no cluster {name_or_id!r}"})

    def operation(self, operation_id: str) -> dict[str, Any]:
        return self.request("GET", f"/operations/{operation_id}/")

    def wait(
        self,
        operation_id: str,
        on_update: Callable[[dict[str, Any]], None] = lambda _op: None,
        timeout: float = 1800,
        interval: float = 1.0,
    ) -> dict[str, Any]:
        """Poll until the operation ends, calling `on_update` with every state seen."""
        deadline = time.monotonic() + timeout
        while True:
            operation = self.operation(operation_id)
            on_update(operation)
            if operation["state"] in TERMINAL_STATES:
                return operation
            if time.monotonic() > deadline:
                raise TimeoutError(f"operation {operation_id} still {operation['state']}")
            time.sleep(interval)
