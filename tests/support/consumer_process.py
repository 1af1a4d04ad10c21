"""A confluent-kafka group consumer running as its own OS process, so a test can SIGKILL it.

Run as a script (`python -m tests.support.consumer_process SPEC`, SPEC a JSON object with `config`,
`topics` and `commit`), it subscribes and prints one JSON event per line on stdout:

    {"ev": "started", "t": ...}
    {"ev": "assign" | "revoke" | "lost", "t": ..., "partitions": [[topic, p], ...], "protocol": ...}
    {"ev": "record", "t": ..., "topic": ..., "partition": ..., "offset": ..., "key": ...}
    {"ev": "error", "t": ..., "code": ..., "name": ..., "fatal": ..., "str": ...}
    {"ev": "closed", "t": ...}
    {"ev": "crashed", "t": ..., "traceback": ...}

`t` is time.time() when the event happened, comparable across processes on one machine. A record
event is printed only after the record's offset was committed when `commit` is "sync" (the default),
so a printed record is a committed one. SIGTERM closes the consumer cleanly (close() sends
LeaveGroup, except for static members) and exits 0; SIGKILL leaves the broker to notice by itself.

`ConsumerProcess` starts such a process and collects its events from a reader thread.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


# --- the child process --------------------------------------------------------------------------


def _emit(event: str, **fields: Any) -> None:
    sys.stdout.write(json.dumps({"ev": event, "t": time.time(), **fields}) + "\n")
    sys.stdout.flush()


def _run(spec: dict[str, Any]) -> int:
    from confluent_kafka import Consumer, KafkaError

    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())

    def on_error(error: KafkaError) -> None:
        # librdkafka reports a fatal error (such as being fenced) as _FATAL through error_cb; the
        # instance is unusable afterwards, so the process closes and ends.
        fatal = error.fatal() or error.code() == KafkaError._FATAL
        _emit("error", code=error.code(), name=error.name(), fatal=fatal, str=error.str())
        if fatal:
            stopping.set()

    consumer = Consumer({**spec["config"], "error_cb": on_error})
    strategy = spec["config"].get("partition.assignment.strategy", "")
    protocol = "COOPERATIVE" if "cooperative" in strategy else "EAGER"

    def callback(event: str) -> Callable[[Any, list], None]:
        def on_change(_consumer: Any, partitions: list) -> None:
            _emit(
                event,
                partitions=sorted([tp.topic, tp.partition] for tp in partitions),
                protocol=protocol,
            )

        return on_change

    consumer.subscribe(
        spec["topics"],
        on_assign=callback("assign"),
        on_revoke=callback("revoke"),
        on_lost=callback("lost"),
    )
    _emit("started")
    commit = spec.get("commit", "sync")
    while not stopping.is_set():
        message = consumer.poll(0.1)
        if message is None:
            continue
        error = message.error()
        if error is not None:
            on_error(error)
            continue
        if commit in ("sync", "async"):
            try:
                consumer.commit(message=message, asynchronous=commit == "async")
            except Exception as exc:
                _emit("error", code=-1, name="commit", fatal=False, str=str(exc))
                continue
        key = message.key()
        _emit(
            "record",
            topic=message.topic(),
            partition=message.partition(),
            offset=message.offset(),
            key=None if key is None else key.decode(errors="replace"),
        )
    with contextlib.suppress(Exception):
        consumer.close()
    _emit("closed")
    return 0


# --- the test's side ----------------------------------------------------------------------------


class ConsumerProcess:
    """One consumer subprocess and the events it printed so far."""

    def __init__(
        self,
        bootstrap: str,
        group: str,
        topics: list[str],
        *,
        config: dict[str, Any] | None = None,
        commit: str = "sync",
        name: str = "consumer",
        log_dir: Path | None = None,
    ) -> None:
        self.name = name
        self.spec = {
            "config": {
                "bootstrap.servers": bootstrap,
                "group.id": group,
                "client.id": name,
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                **(config or {}),
            },
            "topics": topics,
            "commit": commit,
        }
        self.log_dir = log_dir
        self.events: list[dict[str, Any]] = []
        self._changed = threading.Condition()
        self.process: subprocess.Popen[bytes] | None = None
        self._reader: threading.Thread | None = None

    def start(self) -> ConsumerProcess:
        stderr: Any = subprocess.DEVNULL
        if self.log_dir is not None:
            stderr = open(self.log_dir / f"{self.name}.stderr", "ab")  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.support.consumer_process", json.dumps(self.spec)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=stderr,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        if self.log_dir is not None:
            stderr.close()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        return self

    def _read(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            with self._changed:
                self.events.append(event)
                self._changed.notify_all()
        with self._changed:
            self.events.append({"ev": "exited", "t": time.time()})
            self._changed.notify_all()

    # --- waiting --------------------------------------------------------------------------------

    def wait_until(self, condition: Callable[[], Any], timeout: float, what: str) -> Any:
        """Wait until `condition()` (called under the events lock) is truthy; return its value."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                value = condition()
                if value:
                    return value
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"{self.name}: timed out after {timeout}s waiting for {what}; "
                        f"last events: {self.events[-8:]}"
                    )
                self._changed.wait(min(remaining, 0.2))

    def snapshot(self) -> list[dict[str, Any]]:
        """The events so far; fails if the consumer crashed (a broken helper, not a broker fault)."""
        with self._changed:
            events = list(self.events)
        for event in events:
            if event["ev"] == "crashed":
                raise AssertionError(f"{self.name} crashed:\n{event['traceback']}")
        return events

    # --- what happened --------------------------------------------------------------------------

    def of_kind(self, kind: str, since: float = 0.0) -> list[dict[str, Any]]:
        return [e for e in self.snapshot() if e["ev"] == kind and e["t"] >= since]

    def assignment(self) -> set[tuple[str, int]]:
        """The current assignment, replayed from the callbacks (incremental under cooperative)."""
        owned: set[tuple[str, int]] = set()
        for event in self.snapshot():
            partitions = {(t, p) for t, p in event.get("partitions", [])}
            if event["ev"] == "assign":
                owned = owned | partitions if event["protocol"] == "COOPERATIVE" else partitions
            elif event["ev"] in ("revoke", "lost"):
                owned -= partitions
        return owned

    def records(self, since: float = 0.0) -> list[tuple[int, int]]:
        """(partition, offset) of every record consumed (and committed) since `since`."""
        return [(e["partition"], e["offset"]) for e in self.of_kind("record", since)]

    def errors(self) -> list[dict[str, Any]]:
        return self.of_kind("error")

    # --- ending ---------------------------------------------------------------------------------

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> float:
        """SIGKILL: no LeaveGroup, no commit. Returns the time.time() of the kill."""
        assert self.process is not None
        killed_at = time.time()
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)
        return killed_at

    def close(self, timeout: float = 15) -> float:
        """SIGTERM: the consumer closes cleanly. Returns the time.time() the close was asked for."""
        assert self.process is not None
        asked_at = time.time()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
            raise AssertionError(f"{self.name} did not close within {timeout}s") from None
        return asked_at

    def __enter__(self) -> ConsumerProcess:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        if self.alive:
            self.kill()


def _main() -> int:
    try:
        return _run(json.loads(sys.argv[1]))
    except BaseException:
        _emit("crashed", traceback=traceback.format_exc())
        raise


if __name__ == "__main__":
    sys.exit(_main())
