"""Rebalance latency of a consumer group on one local broker: how long the partitions of a member
that goes away stay unconsumed.

A 3-member confluent-kafka group (each member its own OS process) consumes a 6-partition topic
that a producer keeps writing to. One member is then either killed with SIGKILL (the broker only
notices when its session times out) or closed cleanly (it sends LeaveGroup). The latency is the
time from the kill (or the close request) until a surviving member receives its first record from
a partition the departed member owned. A replacement member is started before the next round.
Prints p50 and max over the rounds, and when the partitions were reassigned.

    .venv/bin/python bench/rebalance.py [--rounds N] [--session-timeout-ms MS]
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from confluent_kafka import Producer, libversion  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

from tests.support.broker import BrokerProcess  # noqa: E402
from tests.support.consumer_process import ConsumerProcess  # noqa: E402
from tests.support.waiting import wait_until  # noqa: E402

TOPIC = "rebalance-bench"
GROUP = "rebalance-bench"
PARTITIONS = 6
BUDGET_S = 105  # stop starting new rounds after this, so the whole run stays under 2 minutes


class SteadyProducer:
    """Writes one record to every partition every `interval` seconds until stopped."""

    def __init__(self, bootstrap: str, interval: float = 0.02) -> None:
        self.producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0, "log_level": 4})
        self.interval = interval
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        for i in itertools.count():
            if self.stopping.is_set():
                break
            for p in range(PARTITIONS):
                self.producer.produce(TOPIC, key=f"{p}-{i}".encode(), value=b"x" * 100, partition=p)
            self.producer.poll(0)
            time.sleep(self.interval)
        self.producer.flush(10)

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(15)


def settled(members: list[ConsumerProcess]) -> bool:
    """Every partition owned by exactly one member, and every member consuming."""
    assignments = [m.assignment() for m in members]
    union = set().union(*assignments)
    if sum(len(a) for a in assignments) != PARTITIONS or len(union) != PARTITIONS:
        return False
    if not all(assignments):
        return False
    recent = time.time() - 0.5
    return all(m.records(since=recent) for m in members)


def one_round(
    members: list[ConsumerProcess], victim: ConsumerProcess, how: str
) -> tuple[float, float]:
    """Remove `victim`; (seconds until a survivor got its partitions, seconds until a survivor
    received a record from one of them)."""
    lost = {p for _, p in victim.assignment()}
    survivors = [m for m in members if m is not victim]
    gone_at = victim.kill() if how == "kill" else victim.close()

    def first_record() -> float | None:
        times = [
            e["t"]
            for s in survivors
            for e in s.of_kind("record", gone_at)
            if e["partition"] in lost
        ]
        return min(times) if times else None

    received = wait_until(
        first_record, 30, "a survivor to consume the departed member's partitions", interval=0.01
    )
    assigned = min(
        e["t"]
        for s in survivors
        for e in s.of_kind("assign", gone_at)
        if {p for _, p in e["partitions"]} & lost
    )
    return assigned - gone_at, received - gone_at


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="rounds per scenario")
    parser.add_argument("--session-timeout-ms", type=int, default=6000)
    parser.add_argument("--heartbeat-interval-ms", type=int, default=1000)
    args = parser.parse_args()
    started = time.monotonic()
    config = {
        "session.timeout.ms": args.session_timeout_ms,
        "heartbeat.interval.ms": args.heartbeat_interval_ms,
    }
    print(
        f"3-member confluent-kafka group (librdkafka {libversion()[0]}), {PARTITIONS} partitions, "
        f"range assignor, session.timeout.ms={args.session_timeout_ms}, "
        f"heartbeat.interval.ms={args.heartbeat_interval_ms}, one member per process"
    )
    with tempfile.TemporaryDirectory() as tmp:
        broker = BrokerProcess(
            Path(tmp),
            {
                "log.format": "text",
                "group.initial.rebalance.delay.ms": 0,
                "offsets.topic.num.partitions": 5,
            },
        ).start()
        bootstrap = broker.bootstrap
        names = (f"member-{i}" for i in itertools.count())
        members: list[ConsumerProcess] = []
        producer = None

        def new_member() -> ConsumerProcess:
            member = ConsumerProcess(bootstrap, GROUP, [TOPIC], config=config, name=next(names))
            members.append(member.start())
            return member

        try:
            admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 4})
            for future in admin.create_topics([NewTopic(TOPIC, PARTITIONS, 1)]).values():
                future.result(10)
            producer = SteadyProducer(bootstrap)
            for _ in range(3):
                new_member()
            results: dict[str, list[tuple[float, float]]] = {"kill": [], "leave": []}
            for how in ("leave", "kill"):
                for _ in range(args.rounds):
                    if time.monotonic() - started > BUDGET_S:
                        print(f"(time budget reached: {how} stopped early)")
                        break
                    live = [m for m in members if m.alive]
                    wait_until(
                        lambda live=live: settled(live), 30, "3 members consuming", interval=0.01
                    )
                    victim = live[0]
                    results[how].append(one_round(live, victim, how))
                    members.remove(victim)
                    new_member()
            for how, label in (("kill", "kill -9"), ("leave", "clean leave")):
                rounds = results[how]
                if not rounds:
                    continue
                assigned = [a for a, _ in rounds]
                consumed = [c for _, c in rounds]
                print(
                    f"{label:>12}: first record from the departed member's partitions after "
                    f"p50 {statistics.median(consumed):6.2f} s, max {max(consumed):6.2f} s "
                    f"(reassigned after p50 {statistics.median(assigned):.2f} s); "
                    f"n={len(rounds)}: " + ", ".join(f"{c:.2f}" for c in consumed)
                )
        finally:
            if producer is not None:
                producer.stop()
            for member in members:
                if member.alive:
                    member.kill()
            broker.stop()
    print(f"total {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
