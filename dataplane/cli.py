"""`dataplane` command line: `dataplane serve --config server.properties --override key=value`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path

from dataplane import logs
from dataplane.broker.server import Broker
from dataplane.config import BrokerConfig, ConfigError

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
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        config = BrokerConfig.load(args.config, args.override)
    except (ConfigError, OSError) as exc:
        print(f"dataplane: invalid configuration: {exc}", file=sys.stderr)
        return 2
    logs.configure(config["log.format"], args.log_level)
    try:
        asyncio.run(serve(config))
    except OSError as exc:
        log.error("broker failed", extra={"error": str(exc)})
        return 1
    return 0
