"""`streamplane`: clusters from the command line, for people and CI.

    export STREAMPLANE_URL=http://127.0.0.1:8000 STREAMPLANE_TOKEN=sp_...
    streamplane clusters create orders --brokers 3 --size dev-small --wait
    streamplane clusters list
    streamplane clusters restart orders --wait
    streamplane clusters resize orders --size dev-medium --dry-run
    streamplane clusters scale orders --brokers 5 --wait
    streamplane clusters upgrade orders --version 0.2.0 --wait
    streamplane clusters storage orders --gib 200 --wait
    streamplane operations wait <operation id>
    streamplane clusters delete orders --wait

Waiting shows a progress bar over the operation's steps; the exit status is 0 only if it succeeded.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from tqdm import tqdm

from apiclient.access import add_access_commands
from apiclient.client import Api, ApiError


def follow(api: Api, operation: dict[str, Any], quiet: bool) -> int:
    """Wait for the operation with a progress bar (one tick per finished step); 0 if it succeeded."""
    steps = len(operation["steps"])
    with tqdm(
        total=steps, unit="step", desc=operation["kind"], disable=quiet, file=sys.stderr
    ) as bar:

        def update(current: dict[str, Any]) -> None:
            done = sum(1 for s in current["steps"] if s["state"] == "succeeded")
            running = next((s["title"] for s in current["steps"] if s["state"] == "running"), "")
            bar.set_postfix_str(running or current["state"], refresh=False)
            bar.update(done - bar.n)

        final = api.wait(operation["id"], update)
    if final["state"] != "succeeded":
        failed = next((s for s in final["steps"] if s["state"] == "failed"), None)
        where = f" at step {failed['position']} ({failed['title']})" if failed else ""
        print(f"{final['kind']} {final['state']}{where}: {final['error']}", file=sys.stderr)
        return 1
    return 0


def cmd_list(api: Api, args: argparse.Namespace) -> int:
    clusters = list(api.paged("/clusters/"))
    if args.json:
        print(json.dumps(clusters, indent=2))
        return 0
    print(f"{'NAME':<24} {'STATUS':<10} {'BROKERS':>7}  BOOTSTRAP")
    for cluster in clusters:
        print(
            f"{cluster['name']:<24} {cluster['status']:<10} {cluster['broker_count']:>7}  "
            f"{cluster['bootstrap_servers'] or '-'}"
        )
    return 0


def cmd_create(api: Api, args: argparse.Namespace) -> int:
    spec = {
        "name": args.name,
        "provider": args.provider,
        "region": args.region,
        "node_size": args.size,
        "broker_count": args.brokers,
        "zookeeper_count": args.zookeepers,
        "default_replication_factor": args.replication_factor or min(3, args.brokers),
    }
    if args.security_protocol:
        spec["security_protocol"] = args.security_protocol
    answer = api.create_cluster(spec, args.idempotency_key)
    cluster, operation = answer["cluster"], answer["operation"]
    print(
        f"cluster {cluster['name']} ({cluster['id']}), {cluster['security_protocol']}, "
        f"operation {operation['id']}"
    )
    if not args.wait:
        return 0
    code = follow(api, operation, args.quiet)
    if code == 0:
        print(f"bootstrap servers: {api.find_cluster(cluster['id'])['bootstrap_servers']}")
    return code


def cmd_delete(api: Api, args: argparse.Namespace) -> int:
    cluster = api.find_cluster(args.name)
    operation = api.delete_cluster(cluster["id"], cluster["name"])
    print(f"deleting {cluster['name']}, operation {operation['id']}")
    return follow(api, operation, args.quiet) if args.wait else 0


def change(api: Api, args: argparse.Namespace, action: str, body: dict[str, Any]) -> int:
    """Post a change; print its plan for --dry-run, or start it (and follow it with --wait)."""
    cluster = api.find_cluster(args.name)
    dry_run = getattr(args, "dry_run", False)
    answer = api.request(
        "POST", f"/clusters/{cluster['id']}/{action}/", json=body | {"dry_run": dry_run}
    )
    if dry_run:
        print_plan(cluster["name"], answer)
        return 0
    order = " → ".join(answer["plan"].get("order", []))
    print(
        f"{answer['kind'].replace('_', ' ')} of {cluster['name']}"
        + (f" ({order})" if order else "")
        + f", operation {answer['id']}"
    )
    return follow(api, answer, args.quiet) if args.wait else 0


def print_plan(name: str, preview: dict[str, Any]) -> None:
    plan = preview["plan"]
    print(f"{preview['kind'].replace('_', ' ')} of {name}")
    facts = [
        ("from_size", "size", lambda p: f"{p['from_size']} → {p['to_size']}"),
        ("to_version", "dataplane", lambda p: f"{p['from_version']} → {p['to_version']}"),
        ("storage_gib", "storage", lambda p: f"{p['from_storage_gib']} → {p['storage_gib']} GiB"),
        ("new_broker_ids", "new brokers", lambda p: ", ".join(map(str, p["new_broker_ids"]))),
        (
            "removed_broker_ids",
            "drained and removed",
            lambda p: ", ".join(map(str, p["removed_broker_ids"])),
        ),
        ("partitions_to_move", "partitions to move", lambda p: str(p["partitions_to_move"])),
        ("price_change_per_hour", "price change per hour", lambda p: p["price_change_per_hour"]),
        ("estimated_duration_s", "estimated duration", lambda p: f"{p['estimated_duration_s']} s"),
    ]
    for key, label, text in facts:
        if key in plan:
            print(f"  {label}: {text(plan)}")
    for number, step in enumerate(preview["steps"], 1):
        print(f"  {number}. {step}")


def cmd_restart(api: Api, args: argparse.Namespace) -> int:
    return change(api, args, "restart", {})


def cmd_resize(api: Api, args: argparse.Namespace) -> int:
    return change(api, args, "resize", {"node_size": args.size})


def cmd_scale(api: Api, args: argparse.Namespace) -> int:
    return change(
        api,
        args,
        "scale",
        {"broker_count": args.brokers, "throttle_mb_per_s": args.throttle_mb_per_s},
    )


def cmd_upgrade(api: Api, args: argparse.Namespace) -> int:
    return change(api, args, "upgrade", {"dataplane_version": args.version})


def cmd_storage(api: Api, args: argparse.Namespace) -> int:
    return change(api, args, "storage", {"storage_gib": args.gib})


def cmd_cancel(api: Api, args: argparse.Namespace) -> int:
    operation = api.request("POST", f"/operations/{args.operation_id}/cancel/")
    print(f"{operation['kind']} {operation['id']} stops before its next step")
    return 0


def cmd_wait(api: Api, args: argparse.Namespace) -> int:
    return follow(api, api.operation(args.operation_id), args.quiet)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="streamplane", description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("STREAMPLANE_URL", "http://127.0.0.1:8000"))
    parser.add_argument("--token", default=os.environ.get("STREAMPLANE_TOKEN"))
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    groups = parser.add_subparsers(dest="group", required=True)

    clusters = groups.add_parser("clusters").add_subparsers(dest="command", required=True)
    listing = clusters.add_parser("list")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(run=cmd_list)
    create = clusters.add_parser("create")
    create.add_argument("name")
    create.add_argument("--provider", default="local")
    create.add_argument("--region", default="local")
    create.add_argument("--size", default="dev-small")
    create.add_argument("--brokers", type=int, default=3)
    create.add_argument("--zookeepers", type=int, default=1, choices=[1, 3])
    create.add_argument("--replication-factor", type=int)
    create.add_argument(
        "--security-protocol",
        choices=["SASL_SSL", "PLAINTEXT"],
        help="SASL_SSL (the default): TLS, SCRAM users and ACLs; PLAINTEXT: none of them",
    )
    create.add_argument("--idempotency-key", help="retries with the same key create nothing new")
    create.add_argument("--wait", action="store_true", help="follow the operation to its end")
    create.set_defaults(run=cmd_create)
    delete = clusters.add_parser("delete")
    delete.add_argument("name", help="the cluster's name (or id)")
    delete.add_argument("--wait", action="store_true")
    delete.set_defaults(run=cmd_delete)

    restart = clusters.add_parser("restart", help="rolling restart, one broker at a time")
    restart.add_argument("name", help="the cluster's name (or id)")
    restart.add_argument("--wait", action="store_true")
    restart.set_defaults(run=cmd_restart)

    resize = clusters.add_parser("resize", help="rolling resize to another node size")
    resize.add_argument("name", help="the cluster's name (or id)")
    resize.add_argument("--size", required=True)
    resize.add_argument("--dry-run", action="store_true", help="show the plan only")
    resize.add_argument("--wait", action="store_true")
    resize.set_defaults(run=cmd_resize)

    scale = clusters.add_parser(
        "scale", help="add brokers (partitions spread onto them) or drain and remove brokers"
    )
    scale.add_argument("name", help="the cluster's name (or id)")
    scale.add_argument("--brokers", type=int, required=True, help="the new broker count")
    scale.add_argument(
        "--throttle-mb-per-s",
        type=int,
        default=50,
        help="replication throttle per broker while partitions move (0: none)",
    )
    scale.add_argument("--dry-run", action="store_true", help="show the plan only")
    scale.add_argument("--wait", action="store_true")
    scale.set_defaults(run=cmd_scale)

    upgrade = clusters.add_parser("upgrade", help="rolling upgrade to a newer dataplane version")
    upgrade.add_argument("name", help="the cluster's name (or id)")
    upgrade.add_argument("--version", required=True)
    upgrade.add_argument("--dry-run", action="store_true", help="show the plan only")
    upgrade.add_argument("--wait", action="store_true")
    upgrade.set_defaults(run=cmd_upgrade)

    storage = clusters.add_parser("storage", help="grow every broker's storage, without restarts")
    storage.add_argument("name", help="the cluster's name (or id)")
    storage.add_argument("--gib", type=int, required=True, help="the new storage per broker")
    storage.add_argument("--dry-run", action="store_true", help="show the plan only")
    storage.add_argument("--wait", action="store_true")
    storage.set_defaults(run=cmd_storage)

    operations = groups.add_parser("operations").add_subparsers(dest="command", required=True)
    wait = operations.add_parser("wait")
    wait.add_argument("operation_id")
    wait.set_defaults(run=cmd_wait)
    cancel = operations.add_parser("cancel", help="stop a roll before its next step")
    cancel.add_argument("operation_id")
    cancel.set_defaults(run=cmd_cancel)

    add_access_commands(groups)

    args = parser.parse_args(argv)
    if not args.token:
        parser.error("give --token or set STREAMPLANE_TOKEN")
    try:
        return args.run(Api(args.url, args.token), args)
    except ApiError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
