"""`dataplane` command line: `dataplane serve --config server.properties --override key=value`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import ssl
import sys
from pathlib import Path

from dataplane import __version__, logs
from dataplane.admin.client import AdminClient, AdminError
from dataplane.admin.cluster import cluster_health, render_health
from dataplane.admin.groups import describe_lag, render_describe, render_list
from dataplane.broker.server import Broker
from dataplane.config import BrokerConfig, ConfigError, parse_properties
from dataplane.security.tls import TlsError, client_context_from_properties

log = logging.getLogger("dataplane")


async def serve(config: BrokerConfig) -> None:
    broker = Broker(config)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await broker.start()
    try:
        await stop.wait()
    finally:
        await broker.stop()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dataplane", description="Kafka-compatible broker")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    serve_cmd = commands.add_parser("serve", help="run a broker")
    serve_cmd.add_argument("--config", type=Path, help="server.properties file")
    serve_cmd.add_argument(
        "--override",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="set a property, overriding the file (repeatable)",
    )
    serve_cmd.add_argument("--log-level", default="INFO")
    groups_cmd = commands.add_parser("groups", help="list consumer groups or describe their lag")
    groups_cmd.add_argument("--bootstrap-server", required=True, metavar="HOST:PORT[,...]")
    action = groups_cmd.add_mutually_exclusive_group(required=True)
    action.add_argument("--list", action="store_true", help="list every group")
    action.add_argument("--describe", action="store_true", help="members, offsets and lag")
    groups_cmd.add_argument(
        "--group", action="append", default=[], help="group to describe (repeatable)"
    )
    groups_cmd.add_argument("--all-groups", action="store_true", help="describe every group")
    cluster_cmd = commands.add_parser("cluster", help="brokers, controller and partition health")
    cluster_cmd.add_argument("--bootstrap-server", required=True, metavar="HOST:PORT[,...]")
    for admin_cmd in (groups_cmd, cluster_cmd):
        admin_cmd.add_argument(
            "--command-config",
            type=Path,
            metavar="FILE",
            help="client properties, as Kafka's tools: security.protocol=SSL and ssl.* PEM files",
        )
    return parser


def _admin_tls(args: argparse.Namespace) -> ssl.SSLContext | None:
    """The TLS context --command-config asks for; None without one (plain text)."""
    if args.command_config is None:
        return None
    try:
        return client_context_from_properties(parse_properties(args.command_config.read_text()))
    except TlsError as exc:
        raise AdminError(f"--command-config: {exc}") from None


def run_cluster(args: argparse.Namespace) -> int:
    """Exit status 0 when every partition is fully replicated and online, 3 otherwise."""
    try:
        with AdminClient(args.bootstrap_server, tls=_admin_tls(args)) as client:
            health = cluster_health(client)
    except (AdminError, OSError) as exc:
        print(f"dataplane cluster: {exc}", file=sys.stderr)
        return 1
    print(render_health(health))
    return 0 if health.healthy else 3


def run_groups(args: argparse.Namespace) -> int:
    try:
        with AdminClient(args.bootstrap_server, tls=_admin_tls(args)) as client:
            if args.list:
                print(render_list(client.list_groups()))
                return 0
            names = [g["group_id"] for g in client.list_groups()] if args.all_groups else args.group
            if not names:
                print("dataplane groups: name a --group or use --all-groups", file=sys.stderr)
                return 2
            for index, name in enumerate(names):
                group, rows = describe_lag(client, name)
                print(("\n" if index else "") + render_describe(name, group, rows))
    except (AdminError, OSError) as exc:
        print(f"dataplane groups: {exc}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "groups":
        return run_groups(args)
    if args.command == "cluster":
        return run_cluster(args)
    try:
        config = BrokerConfig.load(args.config, args.override)
    except (ConfigError, OSError) as exc:
        print(f"dataplane: invalid configuration: {exc}", file=sys.stderr)
        return 2
    logs.configure(config["log.format"], args.log_level)
    code = 0
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(serve(config))
    except OSError as exc:
        log.error("broker failed", extra={"error": str(exc)})
        code = 1
    finally:
        loop.close()
    # The broker has stopped and written everything. A worker thread may still wait on ZooKeeper
    # (say it is down, and kazoo queues calls until it is back): it must not keep the process alive.
    logging.shutdown()
    os._exit(code)
