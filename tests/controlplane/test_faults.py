"""Provisioning under faults: a step that fails is reported with its reason, leaves no stray process,
and can be retried; a worker killed mid-operation does not leave the cluster stuck."""

from __future__ import annotations

import ipaddress
import os
import signal
import socket
from pathlib import Path

from tests.controlplane.conftest import cluster_payload
from tests.support.platform import Platform, broker_processes, wait_gone
from tests.support.waiting import wait_until

BROKER_PORT = 9092


def next_free_address(platform: Platform) -> str:
    """The address the local provider hands out next: the lowest one no live node holds."""
    taken = {
        row[0]
        for row in platform.sql(
            "SELECT host FROM clusters_node WHERE status <> 'destroyed' AND host <> ''"
        )
    }
    return next(
        str(a) for a in ipaddress.ip_network(platform.network).hosts() if str(a) not in taken
    )


def delete_cluster(platform: Platform, api, cluster_id: str, name: str) -> None:
    deleted = api.delete(f"/clusters/{cluster_id}/", params={"confirm_name": name})
    assert deleted.status_code == 202, deleted.text
    operation = platform.wait_operation(api, deleted.json()["id"])
    assert operation["state"] == "succeeded", (operation, platform.describe_failure())


def cluster_dir(platform: Platform, cluster_id: str) -> Path:
    return platform.nodes_root / cluster_id


def test_a_taken_port_fails_the_step_with_its_reason_and_retry_succeeds(
    platform: Platform, tenant: dict
) -> None:
    api = platform.api(tenant["token"])
    address = next_free_address(platform)
    squatter = socket.socket()
    squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    squatter.bind((address, BROKER_PORT))
    squatter.listen()
    try:
        created = api.post("/clusters/", json=cluster_payload("squatted"))
        assert created.status_code == 202, created.text
        cluster_id = created.json()["cluster"]["id"]
        operation = platform.wait_operation(api, created.json()["operation"]["id"])
        assert operation["state"] == "failed", operation
        failed = [s for s in operation["steps"] if s["state"] == "failed"]
        assert [s["name"] for s in failed] == ["configure_brokers"]
        reason = f"port {BROKER_PORT} on {address} is already in use"
        assert reason in failed[0]["error"] and reason in operation["error"]
        assert reason in failed[0]["log"]
        assert operation["steps"][-1]["state"] == "pending"
        assert api.get(f"/clusters/{cluster_id}/").json()["status"] == "failed"
        # Nothing half-started stays behind: no broker process for this cluster.
        assert broker_processes(cluster_dir(platform, cluster_id)) == []
    finally:
        squatter.close()

    retried = api.post(f"/operations/{operation['id']}/retry/")
    assert retried.status_code == 202, retried.text
    assert api.post(f"/operations/{operation['id']}/retry/").status_code == 409
    operation = platform.wait_operation(api, operation["id"])
    assert operation["state"] == "succeeded", (operation, platform.describe_failure())
    assert api.get(f"/clusters/{cluster_id}/").json()["status"] == "running"
    assert api.get(f"/clusters/{cluster_id}/").json()["bootstrap_servers"] == (
        f"{address}:{BROKER_PORT}"
    )
    delete_cluster(platform, api, cluster_id, "squatted")
    wait_gone(cluster_dir(platform, cluster_id), 10)


def test_a_killed_worker_does_not_leave_the_operation_stuck(
    platform: Platform, tenant: dict
) -> None:
    api = platform.api(tenant["token"])
    created = api.post("/clusters/", json=cluster_payload("resilient"))
    assert created.status_code == 202, created.text
    cluster_id = created.json()["cluster"]["id"]
    operation_id = created.json()["operation"]["id"]

    def configuring() -> dict | None:
        operation = api.get(f"/operations/{operation_id}/").json()
        running = [s for s in operation["steps"] if s["state"] == "running"]
        return operation if running and running[0]["name"] != "allocate_nodes" else None

    interrupted = wait_until(configuring, 120, "provisioning to be configuring nodes", interval=0.2)
    interrupted_step = next(s["name"] for s in interrupted["steps"] if s["state"] == "running")
    platform.kill_worker()
    assert api.get(f"/operations/{operation_id}/").json()["state"] == "running"
    platform.start_worker()

    operation = platform.wait_operation(api, operation_id)
    assert operation["state"] == "succeeded", (operation, platform.describe_failure())
    assert operation["attempts"] >= 2
    step = next(s for s in operation["steps"] if s["name"] == interrupted_step)
    assert "resuming (attempt 2)" in step["log"]
    assert api.get(f"/clusters/{cluster_id}/").json()["status"] == "running"

    # A broker that dies stops reporting, and shows as down within a few report intervals.
    broker_pid = broker_processes(cluster_dir(platform, cluster_id))[0]
    os.kill(broker_pid, signal.SIGKILL)

    def broker_down() -> bool:
        nodes = api.get(f"/clusters/{cluster_id}/nodes/").json()["results"]
        return [n["status"] for n in nodes if n["role"] == "broker"] == ["down"]

    wait_until(broker_down, 30, "the killed broker to show as down")
    delete_cluster(platform, api, cluster_id, "resilient")
    wait_gone(cluster_dir(platform, cluster_id), 10)
