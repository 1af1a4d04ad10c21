"""The `streamplane` command: create and delete a cluster with progress bars, list, and clear errors."""

from __future__ import annotations

import socket
import subprocess
import sys

from tests.controlplane.test_faults import next_free_address
from tests.support.platform import ROOT, Platform


def streamplane(platform: Platform, token: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "apiclient.cli", "--url", platform.url, *args],
        cwd=ROOT,
        env={**platform.env, "STREAMPLANE_TOKEN": token},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_create_list_and_delete_from_the_command_line(platform: Platform, tenant: dict) -> None:
    token = tenant["token"]
    created = streamplane(
        platform,
        token,
        "clusters",
        "create",
        "cli-made",
        "--brokers",
        "1",
        "--security-protocol",
        "PLAINTEXT",
        "--wait",
    )
    assert created.returncode == 0, created.stderr
    assert ", PLAINTEXT, operation " in created.stdout
    assert "bootstrap servers: 127." in created.stdout
    # The progress bar counted the four steps of a create to the end.
    assert "4/4" in created.stderr

    listed = streamplane(platform, token, "clusters", "list")
    assert listed.returncode == 0
    row = next(line for line in listed.stdout.splitlines() if line.startswith("cli-made"))
    assert row.split()[1] == "running"

    plan = streamplane(
        platform, token, "clusters", "resize", "cli-made", "--size", "dev-medium", "--dry-run"
    )
    assert plan.returncode == 0, plan.stderr
    assert "→" in plan.stdout and "1. Resize broker 0 (cli-made-b0)" in plan.stdout
    assert "2. Record the new size" in plan.stdout

    grow = streamplane(
        platform, token, "clusters", "scale", "cli-made", "--brokers", "2", "--dry-run"
    )
    assert grow.returncode == 0, grow.stderr
    assert "new brokers: 1" in grow.stdout
    assert "Reassign partitions onto every broker" in grow.stdout

    storage = streamplane(
        platform, token, "clusters", "storage", "cli-made", "--gib", "20", "--dry-run"
    )
    assert storage.returncode == 0, storage.stderr
    assert "storage: 10 → 20 GiB" in storage.stdout  # dev-small comes with 10 GiB
    assert "1. Expand storage of broker 0 (cli-made-b0)" in storage.stdout

    deleted = streamplane(platform, token, "clusters", "delete", "cli-made", "--wait")
    assert deleted.returncode == 0, deleted.stderr
    assert "2/2" in deleted.stderr
    assert "cli-made" not in streamplane(platform, token, "clusters", "list").stdout


def test_errors_are_reported_with_the_api_code(platform: Platform, tenant: dict) -> None:
    invalid = streamplane(
        platform, tenant["token"], "clusters", "create", "Not_Valid", "--brokers", "1"
    )
    assert invalid.returncode == 2
    assert "400 invalid" in invalid.stderr and "name:" in invalid.stderr
    missing = streamplane(platform, tenant["token"], "clusters", "delete", "no-such-cluster")
    assert missing.returncode == 2 and "404 not_found" in missing.stderr
    # A failed operation makes --wait exit non-zero: the broker's port is taken.
    with socket.socket() as squatter:
        # A broker deleted earlier may have left this address's port in TIME_WAIT.
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind((next_free_address(platform), 9092))
        squatter.listen()
        doomed = streamplane(
            platform,
            tenant["token"],
            "clusters",
            "create",
            "cli-doomed",
            "--brokers",
            "1",
            "--wait",
        )
    assert doomed.returncode == 1, doomed.stdout
    assert "create failed at step 3" in doomed.stderr and "already in use" in doomed.stderr
    cleanup = streamplane(platform, tenant["token"], "clusters", "delete", "cli-doomed", "--wait")
    assert cleanup.returncode == 0, cleanup.stderr

    refused = streamplane(platform, "sp_wrong", "clusters", "list")
    assert refused.returncode == 2 and "authentication_failed" in refused.stderr
