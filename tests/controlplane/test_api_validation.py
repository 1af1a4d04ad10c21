"""Bad input gets a clear 400 with field errors and a stable code, and creates nothing."""

from __future__ import annotations

import pytest

from tests.controlplane.conftest import cluster_payload
from tests.support.platform import Platform


@pytest.fixture(scope="module")
def tenant(platform: Platform) -> dict[str, str]:
    """One organisation for this module: nothing here creates anything."""
    return {"token": platform.tenant("validation", "validator")}


INVALID_CLUSTERS = [
    ({"name": "Bad_Name"}, "name"),
    ({"name": "ab"}, "name"),
    ({"name": "x" * 41}, "name"),
    ({"name": "ends-with-"}, "name"),
    ({"node_size": "huge"}, "node_size"),
    ({"region": "mars-1"}, "region"),
    ({"provider": "nowhere"}, "provider"),
    ({"broker_count": 0}, "broker_count"),
    ({"broker_count": 13}, "broker_count"),
    ({"broker_count": "three"}, "broker_count"),
    ({"zookeeper_count": 2}, "zookeeper_count"),
    ({"broker_count": 1, "default_replication_factor": 3}, "default_replication_factor"),
    ({"dataplane_version": "9.9.9"}, "dataplane_version"),
    ({"delete_protection": "perhaps"}, "delete_protection"),
]


@pytest.mark.parametrize(("change", "field"), INVALID_CLUSTERS)
def test_invalid_cluster_requests_are_refused_with_field_errors(
    platform: Platform, tenant: dict, change: dict, field: str
) -> None:
    api = platform.api(tenant["token"])
    response = api.post("/clusters/", json={**cluster_payload("valid-name"), **change})
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["code"] == "invalid"
    assert body["message"]
    assert field in body["errors"] and body["errors"][field][0]
    assert api.get("/clusters/").json()["count"] == 0
    actions = [e["action"] for e in api.get("/audit/").json()["results"]]
    assert not [a for a in actions if a.startswith("cluster.")]


def test_missing_fields_and_malformed_bodies(platform: Platform, tenant: dict) -> None:
    api = platform.api(tenant["token"])
    missing = api.post("/clusters/", json={})
    assert missing.status_code == 400
    assert {"name", "region", "node_size"} <= set(missing.json()["errors"])

    malformed = api.post(
        "/clusters/", content=b'{"name": "x",', headers={"Content-Type": "application/json"}
    )
    assert malformed.status_code == 400 and malformed.json()["code"] == "malformed_request"

    not_an_object = api.post("/clusters/", json=["name", "x"])
    assert not_an_object.status_code == 400 and not_an_object.json()["code"] == "invalid"

    wrong_type = api.post("/clusters/", content=b"name=x", headers={"Content-Type": "text/plain"})
    assert wrong_type.status_code == 415 and wrong_type.json()["code"] == "unsupported_media_type"
    assert api.get("/clusters/").json()["count"] == 0


def test_unknown_objects_answer_404_with_a_code(platform: Platform, tenant: dict) -> None:
    api = platform.api(tenant["token"])
    missing = "00000000-0000-0000-0000-000000000000"
    for path in (
        f"/clusters/{missing}/",
        f"/clusters/{missing}/nodes/",
        f"/clusters/{missing}/topics/",
        f"/operations/{missing}/",
    ):
        response = api.get(path)
        assert response.status_code == 404, path
        assert response.json()["code"] == "not_found"


def test_requests_without_a_valid_token_are_refused(platform: Platform) -> None:
    anonymous = platform.api(None).get("/clusters/")
    assert anonymous.status_code in (401, 403)
    assert anonymous.json()["code"] == "not_authenticated"
    forged = platform.api("sp_not-a-real-token").get("/clusters/")
    assert forged.status_code == 401 and forged.json()["code"] == "authentication_failed"


def test_invalid_token_requests(platform: Platform, tenant: dict) -> None:
    api = platform.api(tenant["token"])
    no_name = api.post("/tokens/", json={"name": ""})
    assert no_name.status_code == 400 and "name" in no_name.json()["errors"]
    past = api.post("/tokens/", json={"name": "old", "expires_at": "2001-01-01T00:00:00Z"})
    assert past.status_code == 400 and "expires_at" in past.json()["errors"]


def test_health_reports_need_the_node_credential(platform: Platform) -> None:
    import httpx

    report = {
        "state": "running",
        "uptime_s": 1,
        "partitions_led": 0,
        "under_replicated": 0,
        "bytes_in_per_s": 0,
        "bytes_out_per_s": 0,
        "disk_used_bytes": 0,
    }
    url = f"{platform.url}/api/v1/nodes/00000000-0000-0000-0000-000000000000/health"
    response = httpx.post(url, json=report, headers={"Authorization": "Bearer spn_guess"})
    assert response.status_code in (401, 403)


def test_openapi_schema_and_docs_are_served(platform: Platform) -> None:
    import httpx

    schema = httpx.get(f"{platform.url}/api/schema/", headers={"Accept": "application/json"})
    assert schema.status_code == 200
    document = schema.json()
    assert "/api/v1/clusters/" in document["paths"]
    assert "post" in document["paths"]["/api/v1/clusters/"]
    assert document["components"]["securitySchemes"]["apiToken"]["scheme"] == "bearer"
    docs = httpx.get(f"{platform.url}/api/docs/")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    assert "cdn" not in docs.text.lower(), "the docs page must not load assets from a CDN"
