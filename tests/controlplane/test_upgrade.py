"""A rolling dataplane upgrade while an idempotent acks=all producer writes: each broker restarts on
the new version's package (installed beside the node), reports the new version before the next one
goes, and no acknowledged record is lost; versions only go forward."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.controlplane.conftest import cluster_payload
from tests.replication.clients import (
    ProducerThread,
    abort_all_clients,
    check_acknowledged_survived,
    read_partitions,
)
from tests.support.packages import build_dataplane_wheel, next_version
from tests.support.platform import Bootstrap, Platform, broker_processes

PARTITIONS = 3


def broker_import_paths(platform: Platform, cluster_id: str) -> list[str]:
    """The PYTHONPATH each broker process of the cluster started with."""
    paths = []
    for pid in broker_processes(platform.nodes_root / cluster_id):
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        found = [e for e in environ if e.startswith(b"PYTHONPATH=")]
        paths.append(found[0].decode().partition("=")[2] if found else "")
    return sorted(paths)


@pytest.mark.timeout(900)  # a cluster made, rolled and deleted: minutes on a loaded machine
def test_rolling_upgrade_during_production(
    platform: Platform, tenant: dict, tmp_path: Path
) -> None:
    new_version = next_version()
    wheel = build_dataplane_wheel(tmp_path, new_version)
    platform.sql(
        "INSERT INTO clusters_dataplaneversion (version, package, is_default, available) "
        "VALUES (%s, %s, false, true)",
        new_version,
        str(wheel),
    )
    api = platform.api(tenant["token"])
    created = api.post("/clusters/", json=cluster_payload("upgrading", brokers=3))
    assert created.status_code == 202, created.text
    cluster_id = created.json()["cluster"]["id"]
    old_version = created.json()["cluster"]["dataplane_version"]
    operation = platform.wait_operation(api, created.json()["operation"]["id"])
    assert operation["state"] == "succeeded", (operation, platform.describe_failure())
    # The default version is the dataplane installed with the control plane: nothing on the path.
    assert broker_import_paths(platform, cluster_id) == [""] * 3
    cluster = api.get(f"/clusters/{cluster_id}/").json()
    topic = api.post(
        f"/clusters/{cluster_id}/topics/",
        json={"name": "events", "partitions": PARTITIONS, "configs": {"min.insync.replicas": "2"}},
    )
    assert topic.status_code == 201, topic.text

    preview = api.post(
        f"/clusters/{cluster_id}/upgrade/",
        json={"dataplane_version": new_version, "dry_run": True},
    )
    assert preview.status_code == 200, preview.text
    plan = preview.json()["plan"]
    assert (plan["from_version"], plan["to_version"]) == (old_version, new_version)
    assert plan["order"][-1] == f"upgrading-b{plan['controller']}"
    assert preview.json()["steps"][-1] == "Record the new version"

    servers = Bootstrap(cluster["bootstrap_servers"])
    producer = ProducerThread(servers, "events", 1_000_000, partitions=PARTITIONS, rate=400).start()
    try:
        producer.wait_acked(200, timeout=60)
        started = api.post(
            f"/clusters/{cluster_id}/upgrade/", json={"dataplane_version": new_version}
        )
        assert started.status_code == 202, started.text
        operation = platform.wait_operation(api, started.json()["id"], timeout=600)
        assert operation["state"] == "succeeded", [
            (s["title"], s["error"]) for s in operation["steps"]
        ]
        for step in operation["steps"][:3]:
            assert f"reports version {new_version}" in step["log"], step["log"][-2000:]
        acked_during_roll = producer.acked_count()
        producer.wait_acked(acked_during_roll + 200, timeout=60)
    finally:
        producer.stop_event.set()
        producer.join()
        abort_all_clients()
    assert not producer.failed, producer.failed[:5]
    check_acknowledged_survived(producer.acked, read_partitions(servers, "events", PARTITIONS, 60))

    cluster = api.get(f"/clusters/{cluster_id}/").json()
    assert cluster["dataplane_version"] == new_version and cluster["status"] == "running"
    nodes = api.get(f"/clusters/{cluster_id}/nodes/").json()["results"]
    assert (
        sorted(n["health"].get("version") for n in nodes if n["role"] == "broker")
        == [new_version] * 3
    )
    paths = broker_import_paths(platform, cluster_id)
    assert len(paths) == 3 and all(p.endswith(f"/dataplane/{new_version}") for p in paths)

    # Back to the older version is refused: an older broker may not read what a newer one wrote.
    downgrade = api.post(
        f"/clusters/{cluster_id}/upgrade/", json={"dataplane_version": old_version}
    )
    assert downgrade.status_code == 400
    assert "only go forward" in downgrade.json()["errors"]["dataplane_version"][0]

    deleted = api.delete(f"/clusters/{cluster_id}/", params={"confirm_name": "upgrading"})
    assert platform.wait_operation(api, deleted.json()["id"])["state"] == "succeeded"
