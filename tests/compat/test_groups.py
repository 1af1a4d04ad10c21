"""Consumer groups against a real broker process, with real clients: confluent-kafka (librdkafka),
kafka-python, aiokafka and kcat, plus a raw look at the wire for error paths.

1. Three members of one group split a 6-partition topic and consume every record exactly once,
   committing after processing and leaving cleanly (each client).
2. A member killed with SIGKILL loses its partitions after the session timeout, and the survivors
   consume what is produced to them; under cooperative-sticky the survivors keep their partitions.
3. Committed offsets survive a broker restart (SIGTERM and SIGKILL); kcat -G commits.
4. Static membership: a restarted static member rejoins without a rebalance; a duplicate instance
   id fences the older process.
5. Admin: list, describe, delete groups; committed offsets and lag; delete committed offsets.
6. Error paths on the wire: UNKNOWN_MEMBER_ID, MEMBER_ID_REQUIRED, ILLEGAL_GENERATION, ...

Most tests share one broker with short group timeouts (`group.min.session.timeout.ms=1000`, no
initial rebalance delay); each uses its own topic and group. Tests that restart the broker start
their own. After every test the broker must still be running and must not have failed a request.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import aiokafka
import kafka
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from confluent_kafka import (
    OFFSET_INVALID,
    Consumer,
    ConsumerGroupState,
    ConsumerGroupTopicPartitions,
    KafkaError,
    KafkaException,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient, NewTopic, OffsetSpec
from kafka.protocol.consumer import OffsetSpec as KafkaPythonOffsetSpec

from dataplane.protocol.errors import ErrorCode
from dataplane.protocol.primitives import Writer
from tests.support import wire
from tests.support.broker import BrokerProcess
from tests.support.consumer_process import ConsumerProcess
from tests.support.waiting import wait_until

GROUP_OVERRIDES = {
    "group.initial.rebalance.delay.ms": 0,
    "group.min.session.timeout.ms": 1000,
    "offsets.topic.num.partitions": 5,
    "num.partitions": 3,
}
TIMEOUT = 20.0  # seconds any awaited condition may take
SESSION_MS = 3000  # session timeout of members that get killed
HEARTBEAT_MS = 500
IN_PROCESS_SESSION_MS = 6000  # members that always leave cleanly

FIND_COORDINATOR = 10
JOIN_GROUP = 11
HEARTBEAT = 12
LEAVE_GROUP = 13
SYNC_GROUP = 14


# --- helpers ------------------------------------------------------------------------------------


def wait_for(condition: Callable[[], Any], what: str, timeout: float = TIMEOUT) -> Any:
    """Poll `condition` until it returns something truthy (returned) or fail after `timeout`."""
    return wait_until(condition, timeout, what, interval=0.05)


def create_topic(bootstrap: str, topic: str, partitions: int) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for future in admin.create_topics([NewTopic(topic, partitions, 1)]).values():
        future.result(TIMEOUT)


def produce(
    bootstrap: str, topic: str, partitions: int, per_partition: int, first: int = 0
) -> set[tuple[int, int]]:
    """`per_partition` keyed records to each partition (the key names partition and index);
    returns the (partition, offset) of every record, as the broker reported them."""
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    delivered: set[tuple[int, int]] = set()
    errors: list[KafkaError] = []

    def on_delivery(error: KafkaError | None, message: Any) -> None:
        if error is not None:
            errors.append(error)
        else:
            delivered.add((message.partition(), message.offset()))

    for i in range(first, first + per_partition):
        for p in range(partitions):
            producer.produce(
                topic,
                key=f"p{p}-{i}".encode(),
                value=str(i).encode(),
                partition=p,
                on_delivery=on_delivery,
            )
    assert producer.flush(TIMEOUT) == 0, "records still undelivered"
    assert not errors, errors
    assert len(delivered) == partitions * per_partition
    return delivered


def describe_group(bootstrap: str, group: str) -> Any:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    return admin.describe_consumer_groups([group])[group].result(TIMEOUT)


def committed_offsets(bootstrap: str, group: str) -> dict[tuple[str, int], int]:
    """The group's committed offsets as confluent's admin client lists them (-1001: none)."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    request = [ConsumerGroupTopicPartitions(group)]
    result = admin.list_consumer_group_offsets(request)[group].result(TIMEOUT)
    return {(tp.topic, tp.partition): tp.offset for tp in result.topic_partitions}


def group_log(broker: BrokerProcess, group: str, msg: str) -> list[dict]:
    return [r for r in broker.log_records() if r.get("group") == group and r.get("msg") == msg]


def disjoint_cover(assignments: list[set], everything: set) -> bool:
    union: set = set()
    for owned in assignments:
        if not owned or owned & union:
            return False
        union |= owned
    return union == everything


@pytest.fixture(scope="module")
def group_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    broker = BrokerProcess(tmp_path_factory.mktemp("groups"), GROUP_OVERRIDES)
    broker.start()
    try:
        yield broker
    finally:
        broker.kill()


def assert_healthy(broker: BrokerProcess, seen: int = 0) -> None:
    assert broker.alive, f"broker died:\n{broker.log_text()[-3000:]}"
    failures = [r for r in broker.log_records()[seen:] if r.get("msg") == "request handler failed"]
    assert not failures, f"broker failed requests: {failures}"


@pytest.fixture
def bootstrap(group_broker: BrokerProcess) -> Iterator[str]:
    seen = len(group_broker.log_records())
    yield group_broker.bootstrap
    assert_healthy(group_broker, seen)


@pytest.fixture
def group(topic_name: str) -> str:
    return f"group-{topic_name}"


# --- in-process members (threads for confluent and kafka-python, tasks for aiokafka) --------------


class Member:
    """A group member consuming in the background: it records its assignment as the callbacks
    report it and every record it processed, committing after processing."""

    def __init__(self, name: str, bootstrap: str, group: str, topic: str) -> None:
        self.name = name
        self.bootstrap = bootstrap
        self.group = group
        self.topic = topic
        self._lock = threading.Lock()
        self._assignment: set[int] = set()
        self._records: list[tuple[int, int]] = []
        self.errors: list[str] = []
        self.stopping = threading.Event()
        self.closed = threading.Event()

    def on_assign(self, partitions: list[int]) -> None:
        with self._lock:
            self._assignment = set(partitions)

    def on_revoke(self, partitions: list[int]) -> None:
        with self._lock:
            self._assignment -= set(partitions)

    def processed(self, partition: int, offset: int) -> None:
        with self._lock:
            self._records.append((partition, offset))

    @property
    def assignment(self) -> set[int]:
        with self._lock:
            return set(self._assignment)

    @property
    def records(self) -> list[tuple[int, int]]:
        with self._lock:
            return list(self._records)

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        self.stopping.set()
        assert self.closed.wait(TIMEOUT), f"{self.name} did not close"


class ConfluentMember(Member):
    def start(self) -> None:
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        try:
            consumer = Consumer(
                {
                    "bootstrap.servers": self.bootstrap,
                    "group.id": self.group,
                    "client.id": self.name,
                    "enable.auto.commit": False,
                    "auto.offset.reset": "earliest",
                    "session.timeout.ms": IN_PROCESS_SESSION_MS,
                    "heartbeat.interval.ms": HEARTBEAT_MS,
                }
            )
            consumer.subscribe(
                [self.topic],
                on_assign=lambda _, ps: self.on_assign([tp.partition for tp in ps]),
                on_revoke=lambda _, ps: self.on_revoke([tp.partition for tp in ps]),
            )
            while not self.stopping.is_set():
                message = consumer.poll(0.1)
                if message is None:
                    continue
                if message.error():
                    self.errors.append(str(message.error()))
                    continue
                self.processed(message.partition(), message.offset())
                consumer.commit(message=message, asynchronous=False)
            consumer.close()
        except Exception as exc:
            self.errors.append(repr(exc))
        finally:
            self.closed.set()


class KafkaPythonMember(Member):
    def start(self) -> None:
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        member = self

        class Listener(kafka.ConsumerRebalanceListener):
            def on_partitions_revoked(self, revoked):
                member.on_revoke([tp.partition for tp in revoked])

            def on_partitions_assigned(self, assigned):
                member.on_assign([tp.partition for tp in assigned])

        try:
            consumer = kafka.KafkaConsumer(
                bootstrap_servers=self.bootstrap,
                group_id=self.group,
                client_id=self.name,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                session_timeout_ms=IN_PROCESS_SESSION_MS,
                heartbeat_interval_ms=HEARTBEAT_MS,
            )
            consumer.subscribe([self.topic], listener=Listener())
            while not self.stopping.is_set():
                for tp, records in consumer.poll(timeout_ms=1000).items():
                    for record in records:
                        self.processed(tp.partition, record.offset)
                    consumer.commit({tp: kafka.OffsetAndMetadata(records[-1].offset + 1, "", -1)})
            consumer.close()
        except Exception as exc:
            self.errors.append(repr(exc))
        finally:
            self.closed.set()


class AsyncioThread:
    """An event loop running in a background thread, for aiokafka members."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def submit(self, coroutine: Any) -> concurrent.futures.Future:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


class AiokafkaMember(Member):
    def __init__(self, *args: Any, runner: AsyncioThread) -> None:
        super().__init__(*args)
        self.runner = runner

    def start(self) -> None:
        self.runner.submit(self._run())

    async def _run(self) -> None:
        member = self

        class Listener(aiokafka.ConsumerRebalanceListener):
            def on_partitions_revoked(self, revoked):
                member.on_revoke([tp.partition for tp in revoked])

            def on_partitions_assigned(self, assigned):
                member.on_assign([tp.partition for tp in assigned])

        try:
            consumer = aiokafka.AIOKafkaConsumer(
                bootstrap_servers=self.bootstrap,
                group_id=self.group,
                client_id=self.name,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                session_timeout_ms=IN_PROCESS_SESSION_MS,
                heartbeat_interval_ms=HEARTBEAT_MS,
            )
            consumer.subscribe([self.topic], listener=Listener())
            await consumer.start()
            try:
                while not self.stopping.is_set():
                    batches = await consumer.getmany(timeout_ms=100)
                    for tp, records in batches.items():
                        for record in records:
                            self.processed(tp.partition, record.offset)
                        await consumer.commit({tp: records[-1].offset + 1})
            finally:
                await consumer.stop()
        except Exception as exc:
            self.errors.append(repr(exc))
        finally:
            self.closed.set()


@contextlib.contextmanager
def member_factory(client: str) -> Iterator[Callable[[str, str, str, str], Member]]:
    """Makes members of one client kind; stops any still running afterwards."""
    made: list[Member] = []
    runner = AsyncioThread() if client == "aiokafka" else None

    def make(name: str, bootstrap: str, group: str, topic: str) -> Member:
        member: Member
        if client == "confluent":
            member = ConfluentMember(name, bootstrap, group, topic)
        elif client == "kafka-python":
            member = KafkaPythonMember(name, bootstrap, group, topic)
        else:
            assert runner is not None
            member = AiokafkaMember(name, bootstrap, group, topic, runner=runner)
        made.append(member)
        return member

    try:
        yield make
    finally:
        for member in made:
            member.stopping.set()
        for member in made:
            member.closed.wait(TIMEOUT)
        if runner is not None:
            runner.close()


# --- 1. three members, one group: disjoint assignments, each record once -------------------------


@pytest.mark.parametrize("client", ["confluent", "kafka-python", "aiokafka"])
def test_three_members_split_the_partitions_and_consume_each_record_once(
    client: str, bootstrap: str, topic_name: str, group: str
) -> None:
    create_topic(bootstrap, topic_name, 6)
    everything = set(range(6))
    with member_factory(client) as make:
        members = [make(f"{client}-{i}", bootstrap, group, topic_name) for i in range(3)]
        for member in members:
            member.start()
        assignments = wait_for(
            lambda: (a := [m.assignment for m in members]) and disjoint_cover(a, everything) and a,
            "three disjoint assignments covering all 6 partitions",
        )
        # librdkafka, kafka-python and aiokafka all assign 2 partitions each here.
        assert sorted(len(a) for a in assignments) == [2, 2, 2], assignments

        produced = produce(bootstrap, topic_name, 6, 100)
        wait_for(
            lambda: sum(len(m.records) for m in members) >= len(produced),
            "600 records consumed by the group",
        )
        # Nothing moved while consuming.
        assert [m.assignment for m in members] == assignments
        for member in members:
            member.stop()
    for member, owned in zip(members, assignments, strict=True):
        assert not member.errors, f"{member.name}: {member.errors}"
        assert {p for p, _ in member.records} <= owned, f"{member.name} read foreign partitions"
    consumed = Counter(r for m in members for r in m.records)
    duplicates = {r: n for r, n in consumed.items() if n > 1}
    assert not duplicates, f"records consumed more than once: {sorted(duplicates)[:10]}"
    assert set(consumed) == produced

    # Every member committed what it processed, then left (LeaveGroup): the group is empty right
    # away, not a session timeout later.
    assert committed_offsets(bootstrap, group) == {(topic_name, p): 100 for p in everything}
    description = wait_for(
        lambda: (d := describe_group(bootstrap, group)).state == ConsumerGroupState.EMPTY and d,
        "the group to be empty after every member closed",
        timeout=IN_PROCESS_SESSION_MS / 2000,
    )
    assert description.members == []


# --- 2. a member killed without leaving ---------------------------------------------------------


def start_processes(
    bootstrap: str, group: str, topic: str, names: list[str], log_dir: Path, **config: Any
) -> list[ConsumerProcess]:
    return [
        ConsumerProcess(
            bootstrap, group, [topic], config=config, name=name, log_dir=log_dir
        ).start()
        for name in names
    ]


def settled_assignments(processes: list[ConsumerProcess], topic: str, partitions: int) -> list:
    everything = {(topic, p) for p in range(partitions)}
    return wait_for(
        lambda: (a := [p.assignment() for p in processes]) and disjoint_cover(a, everything) and a,
        f"{len(processes)} disjoint assignments covering all {partitions} partitions",
    )


def consumed_by(processes: list[ConsumerProcess], since: float = 0.0) -> Counter:
    return Counter(r for p in processes for r in p.records(since))


@pytest.mark.parametrize("strategy", ["range", "cooperative-sticky"])
def test_killed_member_loses_its_partitions_after_the_session_timeout(
    strategy: str,
    group_broker: BrokerProcess,
    bootstrap: str,
    topic_name: str,
    group: str,
    tmp_path: Path,
) -> None:
    create_topic(bootstrap, topic_name, 6)
    config = {
        "session.timeout.ms": SESSION_MS,
        "heartbeat.interval.ms": HEARTBEAT_MS,
        "partition.assignment.strategy": strategy,
    }
    processes = start_processes(
        bootstrap, group, topic_name, ["victim", "survivor-1", "survivor-2"], tmp_path, **config
    )
    try:
        victim, survivors = processes[0], processes[1:]
        settled_assignments(processes, topic_name, 6)
        first = produce(bootstrap, topic_name, 6, 10)
        wait_for(lambda: set(consumed_by(processes)) == first, "the first 60 records consumed")
        lost = {p for _, p in victim.assignment()}
        kept = {s.name: s.assignment() for s in survivors}

        killed_at = victim.kill()
        second = produce(bootstrap, topic_name, 6, 10, first=10)
        wanted = {(p, o) for p, o in second if p in lost}
        wait_for(
            lambda: wanted <= set(consumed_by(survivors, killed_at)),
            "the survivors to consume the victim's partitions",
        )
        wait_for(lambda: set(consumed_by(processes)) == first | second, "all 120 records consumed")

        # Not before the session timeout (counted from the victim's last heartbeat).
        took_over = min(
            e["t"]
            for s in survivors
            for e in s.of_kind("record", killed_at)
            if e["partition"] in lost
        )
        earliest = (SESSION_MS - HEARTBEAT_MS) / 1000 - 0.3
        assert took_over - killed_at >= earliest, (
            f"the victim's partitions moved {took_over - killed_at:.2f}s after the kill, "
            f"before its session ({SESSION_MS} ms) could have expired"
        )
        expired = group_log(group_broker, group, "member session expired")
        assert len(expired) == 1 and expired[0]["member"].startswith("victim"), expired

        # The survivors now own everything, disjointly; every record was consumed exactly once
        # (the victim committed each record it printed, so nothing is re-read after the kill).
        settled_assignments(survivors, topic_name, 6)
        consumed = consumed_by(processes)
        assert {r: n for r, n in consumed.items() if n > 1} == {}
        assert set(consumed) == first | second

        if strategy == "cooperative-sticky":
            for survivor in survivors:
                taken = survivor.of_kind("revoke", killed_at) + survivor.of_kind("lost", killed_at)
                assert taken == [], f"{survivor.name} lost partitions in the rebalance: {taken}"
                assert survivor.assignment() >= kept[survivor.name], survivor.name
            grown = [s.assignment() - kept[s.name] for s in survivors]
            assert set().union(*grown) == {(topic_name, p) for p in lost}
        for survivor in survivors:
            assert survivor.errors() == [], survivor.errors()
    finally:
        for process in processes:
            if process.alive:
                process.close()


# --- 3. committed offsets survive a broker restart; kcat -G commits ------------------------------


def group_consumer(bootstrap: str, group: str, **config: Any) -> Consumer:
    return Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "session.timeout.ms": IN_PROCESS_SESSION_MS,
            "heartbeat.interval.ms": HEARTBEAT_MS,
            **config,
        }
    )


def consume_until(consumer: Consumer, done: Callable[[list], bool], what: str) -> list:
    """Poll until `done(messages so far)`; returns every message (errors fail the test)."""
    messages: list = []
    deadline = time.monotonic() + TIMEOUT
    while not done(messages):
        assert time.monotonic() < deadline, f"timed out waiting for {what}; got {len(messages)}"
        message = consumer.poll(0.1)
        if message is None:
            continue
        assert message.error() is None, message.error()
        messages.append(message)
    return messages


@pytest.mark.parametrize("graceful", [True, False], ids=["sigterm", "sigkill"])
def test_a_new_member_resumes_from_offsets_committed_before_a_broker_restart(
    graceful: bool,
    make_broker: Callable[..., BrokerProcess],
    topic_name: str,
    group: str,
) -> None:
    broker = make_broker(GROUP_OVERRIDES)
    create_topic(broker.bootstrap, topic_name, 3)
    produced = produce(broker.bootstrap, topic_name, 3, 30)
    # Process everything, but commit (after processing) only the records below these offsets.
    cut = {0: 30, 1: 12, 2: 0}

    consumer = group_consumer(broker.bootstrap, group)
    consumer.subscribe([topic_name])
    try:
        for message in consume_until(consumer, lambda ms: len(ms) >= 90, "90 records"):
            if message.offset() < cut[message.partition()]:
                consumer.commit(message=message, asynchronous=False)
    finally:
        consumer.close()
    committed = committed_offsets(broker.bootstrap, group)
    assert committed == {(topic_name, 0): 30, (topic_name, 1): 12}

    broker.restart(graceful=graceful)

    assert committed_offsets(broker.bootstrap, group) == committed
    produced |= produce(broker.bootstrap, topic_name, 3, 5, first=30)
    expected = {(p, o) for p, o in produced if o >= cut[p]}
    consumer = group_consumer(broker.bootstrap, group)
    consumer.subscribe([topic_name])
    try:
        messages = consume_until(
            consumer, lambda ms: len(ms) >= len(expected), f"{len(expected)} records"
        )
        # Anything beyond the expected records would show up here.
        extra = []
        deadline = time.monotonic() + 1
        while time.monotonic() < deadline:
            message = consumer.poll(0.1)
            if message is not None:
                extra.append(message)
        positions = {
            tp.partition: tp.offset
            for tp in consumer.position([TopicPartition(topic_name, p) for p in range(3)])
        }
    finally:
        consumer.close()
    got = Counter((m.partition(), m.offset()) for m in messages + extra)
    assert {r: n for r, n in got.items() if n > 1} == {}, "records consumed twice"
    assert set(got) == expected, (
        f"re-consumed: {sorted(set(got) - expected)[:5]}, skipped: {sorted(expected - set(got))[:5]}"
    )
    assert positions == {0: 35, 1: 35, 2: 35}
    assert_healthy(broker)


def test_a_live_member_keeps_consuming_across_a_broker_restart(
    make_broker: Callable[..., BrokerProcess], topic_name: str, group: str, tmp_path: Path
) -> None:
    """A member running through a crash of the broker rejoins and continues where it committed."""
    broker = make_broker(GROUP_OVERRIDES)
    create_topic(broker.bootstrap, topic_name, 3)
    config = {"session.timeout.ms": SESSION_MS, "heartbeat.interval.ms": HEARTBEAT_MS}
    [member] = start_processes(broker.bootstrap, group, topic_name, ["member"], tmp_path, **config)
    try:
        settled_assignments([member], topic_name, 3)
        first = produce(broker.bootstrap, topic_name, 3, 10)
        wait_for(lambda: set(member.records()) == first, "the first 30 records")
        broker.restart(graceful=False)
        second = produce(broker.bootstrap, topic_name, 3, 10, first=10)
        wait_for(lambda: set(member.records()) >= first | second, "the next 30 records")
        assert Counter(member.records()).most_common(1)[0][1] == 1, "a record was consumed twice"
        assert committed_offsets(broker.bootstrap, group) == {(topic_name, p): 20 for p in range(3)}
    finally:
        member.close()
    assert_healthy(broker)


def run_kcat_group(bootstrap: str, group: str, topic: str) -> list[tuple[int, int, str]]:
    done = subprocess.run(
        [
            "kcat",
            "-q",
            "-b",
            bootstrap,
            "-G",
            group,
            "-e",
            "-f",
            "%p %o %k\\n",
            "-X",
            "auto.offset.reset=earliest",
            "-X",
            "session.timeout.ms=6000",
            topic,
        ],
        capture_output=True,
        timeout=TIMEOUT + 10,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    records = []
    for line in done.stdout.decode().splitlines():
        if line.strip():
            partition, offset, key = line.split()
            records.append((int(partition), int(offset), key))
    return records


def test_kcat_group_consumer_commits_what_it_read(
    bootstrap: str, topic_name: str, group: str
) -> None:
    create_topic(bootstrap, topic_name, 3)
    first = produce(bootstrap, topic_name, 3, 20)
    read = run_kcat_group(bootstrap, group, topic_name)
    assert sorted((p, o) for p, o, _ in read) == sorted(first)
    assert all(key == f"p{p}-{o}" for p, o, key in read)
    assert committed_offsets(bootstrap, group) == {(topic_name, p): 20 for p in range(3)}

    # The same group again: nothing old, only what was produced since.
    second = produce(bootstrap, topic_name, 3, 4, first=20)
    again = run_kcat_group(bootstrap, group, topic_name)
    assert sorted((p, o) for p, o, _ in again) == sorted(second)
    assert committed_offsets(bootstrap, group) == {(topic_name, p): 24 for p in range(3)}
    # A third run finds nothing at all.
    assert run_kcat_group(bootstrap, group, topic_name) == []


# --- 4. static membership -----------------------------------------------------------------------

STATIC_SESSION_MS = 6000  # long enough for a consumer process to restart within it


def static_config(instance: str) -> dict[str, Any]:
    return {
        "group.instance.id": instance,
        "session.timeout.ms": STATIC_SESSION_MS,
        "heartbeat.interval.ms": HEARTBEAT_MS,
    }


def stable_generations(broker: BrokerProcess, group: str) -> list[int]:
    return [r["generation"] for r in group_log(broker, group, "group stable")]


@pytest.mark.parametrize("how", ["close", "kill"])
def test_restarted_static_member_rejoins_without_a_rebalance(
    how: str,
    group_broker: BrokerProcess,
    bootstrap: str,
    topic_name: str,
    group: str,
    tmp_path: Path,
) -> None:
    create_topic(bootstrap, topic_name, 6)

    def member(name: str, instance: str) -> ConsumerProcess:
        return ConsumerProcess(
            bootstrap,
            group,
            [topic_name],
            config=static_config(instance),
            name=name,
            log_dir=tmp_path,
        ).start()

    a, b = member("a", "instance-a"), member("b", "instance-b")
    restarted = None
    try:
        owned_a, owned_b = settled_assignments([a, b], topic_name, 6)
        first = produce(bootstrap, topic_name, 6, 5)
        wait_for(lambda: set(consumed_by([a, b])) == first, "the first 30 records")
        before = describe_group(bootstrap, group)
        assert before.state == ConsumerGroupState.STABLE
        generations = stable_generations(group_broker, group)
        rebalances = len(group_log(group_broker, group, "rebalance started"))

        stopped_at = a.close() if how == "close" else a.kill()
        restarted = member("a-again", "instance-a")
        wait_for(lambda: restarted.assignment() == owned_a, "the restarted member's assignment")
        second = produce(bootstrap, topic_name, 6, 5, first=5)
        wait_for(
            lambda: set(consumed_by([a, b, restarted])) == first | second, "the next 30 records"
        )
        assert time.time() - stopped_at < STATIC_SESSION_MS / 1000, "too slow to prove anything"

        # No rebalance: the other member kept its partitions throughout, the generation is the
        # same, and the restarted member took over where the old one committed.
        assert b.of_kind("revoke", stopped_at) == [] and b.of_kind("assign", stopped_at) == []
        assert b.assignment() == owned_b
        assert len(group_log(group_broker, group, "rebalance started")) == rebalances
        assert stable_generations(group_broker, group) == generations
        assert group_log(group_broker, group, "static member rejoined")
        assert {p for p, _ in restarted.records()} <= {p for _, p in owned_a}
        consumed = consumed_by([a, b, restarted])
        assert {r: n for r, n in consumed.items() if n > 1} == {}

        after = describe_group(bootstrap, group)
        assert after.state == ConsumerGroupState.STABLE
        instances = {m.group_instance_id: m for m in after.members}
        assert set(instances) == {"instance-a", "instance-b"}
        old_ids = {m.group_instance_id: m.member_id for m in before.members}
        assert instances["instance-b"].member_id == old_ids["instance-b"]
        assert instances["instance-a"].member_id != old_ids["instance-a"]
        assert {
            (tp.topic, tp.partition) for tp in instances["instance-a"].assignment.topic_partitions
        } == owned_a
    finally:
        for process in (a, b, restarted):
            if process is not None and process.alive:
                process.close()


def test_a_second_process_with_the_same_instance_id_fences_the_first(
    group_broker: BrokerProcess, bootstrap: str, topic_name: str, group: str, tmp_path: Path
) -> None:
    create_topic(bootstrap, topic_name, 6)

    def member(name: str, instance: str) -> ConsumerProcess:
        return ConsumerProcess(
            bootstrap,
            group,
            [topic_name],
            config=static_config(instance),
            name=name,
            log_dir=tmp_path,
        ).start()

    a, b = member("a", "instance-a"), member("b", "instance-b")
    impostor = None
    try:
        owned_a, owned_b = settled_assignments([a, b], topic_name, 6)
        started_at = time.time()
        impostor = member("a-duplicate", "instance-a")
        wait_for(lambda: impostor.assignment() == owned_a, "the duplicate to take over")
        fenced = a.wait_until(
            lambda: [e for e in a.events if e["ev"] == "error" and "fenced" in e["str"].lower()],
            TIMEOUT,
            "the first process to be fenced",
        )
        # librdkafka raises FENCED_INSTANCE_ID as its fatal error (_FATAL, "Static consumer
        # fenced by other consumer with same group.instance.id").
        assert any(e["fatal"] for e in fenced), f"fencing must be fatal: {fenced}"
        a.wait_until(lambda: a.events[-1]["ev"] == "exited", TIMEOUT, "the fenced process to end")
        assert b.of_kind("revoke", started_at) == [] and b.assignment() == owned_b
        description = describe_group(bootstrap, group)
        assert description.state == ConsumerGroupState.STABLE
        assert sorted(m.group_instance_id for m in description.members) == [
            "instance-a",
            "instance-b",
        ]
        # The impostor is the group's instance-a now, and it consumes.
        records = produce(bootstrap, topic_name, 6, 3)
        wait_for(lambda: set(consumed_by([impostor, b])) == records, "records consumed")
        assert impostor.errors() == [] and b.errors() == []
    finally:
        for process in (a, b, impostor):
            if process is not None and process.alive:
                process.close()


# --- 5. administration: list, describe, delete; offsets and lag ----------------------------------


def confluent_error_code(future: concurrent.futures.Future) -> int:
    """The Kafka error code a confluent admin future failed with (0 if it succeeded)."""
    try:
        future.result(TIMEOUT)
    except KafkaException as exc:
        return exc.args[0].code()
    return 0


def commit_some(bootstrap: str, group: str, topic: str, count: int) -> Counter:
    """A member consumes and commits (after processing) `count` records, then leaves; returns how
    many it committed per partition."""
    consumer = group_consumer(bootstrap, group)
    consumer.subscribe([topic])
    per_partition: Counter = Counter()
    try:
        for message in consume_until(consumer, lambda ms: len(ms) >= count, f"{count} records"):
            if sum(per_partition.values()) < count:
                consumer.commit(message=message, asynchronous=False)
                per_partition[message.partition()] += 1
    finally:
        consumer.close()
    return per_partition


def run_async(coroutine: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coroutine, TIMEOUT))


async def aiokafka_admin(bootstrap: str, call: Callable[[AIOKafkaAdminClient], Any]) -> Any:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return await call(admin)
    finally:
        await admin.close()


def test_admin_lists_describes_and_deletes_groups(
    bootstrap: str, topic_name: str, group: str
) -> None:
    create_topic(bootstrap, topic_name, 4)
    produce(bootstrap, topic_name, 4, 5)
    empty_group = f"{group}-empty"
    commit_some(bootstrap, empty_group, topic_name, 8)
    admin = AdminClient({"bootstrap.servers": bootstrap})
    kp_admin = kafka.KafkaAdminClient(bootstrap_servers=bootstrap)
    with member_factory("confluent") as make:
        members = [make(f"admin-member-{i}", bootstrap, group, topic_name) for i in range(2)]
        for member in members:
            member.start()
        assignments = wait_for(
            lambda: (
                (a := [m.assignment for m in members]) and disjoint_cover(a, set(range(4))) and a
            ),
            "two members sharing the 4 partitions",
        )
        wait_for(
            lambda: describe_group(bootstrap, group).state == ConsumerGroupState.STABLE,
            "the group to be stable",
        )

        # confluent-kafka
        listed = admin.list_consumer_groups().result(TIMEOUT)
        assert listed.errors == []
        states = {g.group_id: g for g in listed.valid}
        assert states[group].state == ConsumerGroupState.STABLE
        assert not states[group].is_simple_consumer_group
        assert states[empty_group].state == ConsumerGroupState.EMPTY
        stable_only = admin.list_consumer_groups(states={ConsumerGroupState.STABLE}).result(TIMEOUT)
        assert group in {g.group_id for g in stable_only.valid}
        assert empty_group not in {g.group_id for g in stable_only.valid}

        description = describe_group(bootstrap, group)
        assert description.state == ConsumerGroupState.STABLE
        assert description.partition_assignor == "range"
        assert sorted(m.client_id for m in description.members) == [
            "admin-member-0",
            "admin-member-1",
        ]
        by_client = {
            m.client_id: {tp.partition for tp in m.assignment.topic_partitions}
            for m in description.members
        }
        assert by_client == {m.name: assignments[i] for i, m in enumerate(members)}
        assert all(m.host.startswith("/127.0.0.1") for m in description.members)

        # kafka-python
        kp_groups = {g["group_id"]: g for g in kp_admin.list_groups()}
        assert kp_groups[group]["protocol_type"] == "consumer"
        assert kp_groups[group]["group_state"] == "Stable"
        assert kp_groups[empty_group]["group_state"] == "Empty"
        kp_description = kp_admin.describe_groups([group])[group]
        assert kp_description["error"] is None
        assert kp_description["group_state"] == "Stable"
        assert kp_description["protocol_type"] == "consumer"
        assert kp_description["protocol_data"] == "range"
        kp_assigned = {}
        for m in kp_description["members"]:
            assert topic_name in m["member_metadata"]["topics"]
            parts = m["member_assignment"]["assigned_partitions"]
            kp_assigned[m["client_id"]] = {p for t in parts for p in t["partitions"]}
        assert kp_assigned == by_client

        # aiokafka
        aio_groups = run_async(aiokafka_admin(bootstrap, lambda a: a.list_consumer_groups()))
        assert (group, "consumer") in {tuple(g[:2]) for g in aio_groups}
        [aio_response] = run_async(
            aiokafka_admin(bootstrap, lambda a: a.describe_consumer_groups([group]))
        )
        [aio_group] = aio_response.groups
        error_code, group_id, state, protocol_type, protocol, aio_members = aio_group[:6]
        assert (error_code, group_id, state, protocol_type, protocol) == (
            0,
            group,
            "Stable",
            "consumer",
            "range",
        )
        assert len(aio_members) == 2

        # A group with members cannot be deleted, by either client.
        futures = admin.delete_consumer_groups([group])
        assert confluent_error_code(futures[group]) == KafkaError.NON_EMPTY_GROUP
        assert kp_admin.delete_groups([group]) == {group: "NonEmptyGroupError"}
        assert describe_group(bootstrap, group).state == ConsumerGroupState.STABLE

        for member in members:
            member.stop()
        assert not any(m.errors for m in members), [m.errors for m in members]

    # Empty groups can: their committed offsets go with them.
    assert committed_offsets(bootstrap, empty_group) != {}
    assert kp_admin.delete_groups([empty_group]) == {empty_group: "OK"}
    assert committed_offsets(bootstrap, empty_group) == {}
    wait_for(
        lambda: describe_group(bootstrap, group).state == ConsumerGroupState.EMPTY,
        "the group to be empty",
    )
    assert confluent_error_code(admin.delete_consumer_groups([group])[group]) == 0
    remaining = {g.group_id for g in admin.list_consumer_groups().result(TIMEOUT).valid}
    assert group not in remaining and empty_group not in remaining
    assert group not in {g["group_id"] for g in kp_admin.list_groups()}
    # Deleting again: there is nothing to delete.
    assert kp_admin.delete_groups([group]) == {group: "GroupIdNotFoundError"}
    kp_admin.close()


def test_committed_offsets_and_lag_as_admin_clients_see_them(
    bootstrap: str, topic_name: str, group: str
) -> None:
    create_topic(bootstrap, topic_name, 4)
    produce(bootstrap, topic_name, 4, 25)
    committed = commit_some(bootstrap, group, topic_name, 60)
    assert sum(committed.values()) == 60

    # confluent-kafka: committed offsets and high watermarks, both from the admin client.
    admin = AdminClient({"bootstrap.servers": bootstrap})
    offsets = committed_offsets(bootstrap, group)
    assert offsets == {(topic_name, p): n for p, n in committed.items()}
    latest = admin.list_offsets(
        {TopicPartition(topic_name, p): OffsetSpec.latest() for p in range(4)}
    )
    high = {tp.partition: f.result(TIMEOUT).offset for tp, f in latest.items()}
    assert high == {p: 25 for p in range(4)}
    lag = sum(high[p] - offsets.get((topic_name, p), 0) for p in range(4))
    assert lag == 40

    # kafka-python
    kp_admin = kafka.KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        kp_offsets = kp_admin.list_group_offsets({group: None})[group]
        kp_committed = {tp.partition: om.offset for tp, om in kp_offsets.items()}
        assert kp_committed == dict(committed)
        kp_high = kp_admin.list_partition_offsets(
            {kafka.TopicPartition(topic_name, p): KafkaPythonOffsetSpec.LATEST for p in range(4)}
        )
        assert sum(kp_high[kafka.TopicPartition(topic_name, p)].offset for p in range(4)) == 100
        assert (
            sum(
                kp_high[kafka.TopicPartition(topic_name, p)].offset - kp_committed.get(p, 0)
                for p in range(4)
            )
            == 40
        )
    finally:
        kp_admin.close()

    # aiokafka
    aio_offsets = run_async(
        aiokafka_admin(bootstrap, lambda a: a.list_consumer_group_offsets(group))
    )
    assert {tp.partition: om.offset for tp, om in aio_offsets.items()} == dict(committed)

    # A new member of the group starts right there: it reads exactly the 40 uncommitted records.
    consumer = group_consumer(bootstrap, group)
    consumer.subscribe([topic_name])
    try:
        rest = consume_until(consumer, lambda ms: len(ms) >= 40, "the 40 uncommitted records")
    finally:
        consumer.close()
    assert sorted((m.partition(), m.offset()) for m in rest) == sorted(
        (p, o) for p in range(4) for o in range(committed.get(p, 0), 25)
    )


def test_delete_committed_offsets(bootstrap: str, topic_name: str, group: str) -> None:
    """OffsetDelete. confluent-kafka's Python AdminClient (2.16) has no
    delete_consumer_group_offsets, so kafka-python deletes and confluent checks."""
    create_topic(bootstrap, topic_name, 4)
    produce(bootstrap, topic_name, 4, 5)
    commit_some(bootstrap, group, topic_name, 20)
    assert committed_offsets(bootstrap, group) == {(topic_name, p): 5 for p in range(4)}
    kp_admin = kafka.KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        # While a member is subscribed to the topic its offsets cannot be deleted.
        with member_factory("confluent") as make:
            member = make("subscribed", bootstrap, group, topic_name)
            member.start()
            wait_for(lambda: member.assignment == set(range(4)), "the member's assignment")
            refused = kp_admin.delete_group_offsets(group, [kafka.TopicPartition(topic_name, 0)])
            assert {tp.partition: e.errno for tp, e in refused.items()} == {
                0: KafkaError.GROUP_SUBSCRIBED_TO_TOPIC
            }
            member.stop()
        assert committed_offsets(bootstrap, group) == {(topic_name, p): 5 for p in range(4)}

        # Once the group is empty they can.
        deleted = kp_admin.delete_group_offsets(
            group, [kafka.TopicPartition(topic_name, 0), kafka.TopicPartition(topic_name, 2)]
        )
        assert {tp.partition: e.errno for tp, e in deleted.items()} == {0: 0, 2: 0}
    finally:
        kp_admin.close()
    assert committed_offsets(bootstrap, group) == {(topic_name, 1): 5, (topic_name, 3): 5}
    consumer = group_consumer(bootstrap, group)
    try:
        committed = consumer.committed(
            [TopicPartition(topic_name, p) for p in range(4)], timeout=TIMEOUT
        )
    finally:
        consumer.close()
    assert [tp.offset for tp in committed] == [OFFSET_INVALID, 5, OFFSET_INVALID, 5]


# --- 6. error paths on the wire ------------------------------------------------------------------

OFFSET_COMMIT = 8


def subscription(*topics: str) -> bytes:
    """A ConsumerProtocolSubscription v0."""
    writer = Writer()
    writer.int16(0)
    writer.int32(len(topics))
    for topic in topics:
        writer.string(topic)
    writer.int32(-1)  # no user data
    return bytes(writer.buf)


def join_body(group: str, member_id: str = "", instance: str | None = None, **extra: Any) -> dict:
    return {
        "group_id": group,
        "session_timeout_ms": extra.pop("session_timeout_ms", 6000),
        "rebalance_timeout_ms": 6000,
        "member_id": member_id,
        "group_instance_id": instance,
        "protocol_type": extra.pop("protocol_type", "consumer"),
        "protocols": [{"name": "range", "metadata": subscription("t")}],
        "reason": None,
        **extra,
    }


def heartbeat(
    client: wire.WireClient,
    group: str,
    member_id: str,
    generation: int,
    instance: str | None = None,
) -> int:
    body = {
        "group_id": group,
        "generation_id": generation,
        "member_id": member_id,
        "group_instance_id": instance,
    }
    return client.request(HEARTBEAT, 3, body)["error_code"]


def sync(
    client: wire.WireClient,
    group: str,
    member_id: str,
    generation: int,
    instance: str | None = None,
    assignments: list[dict] | None = None,
) -> dict:
    body = {
        "group_id": group,
        "generation_id": generation,
        "member_id": member_id,
        "group_instance_id": instance,
        "assignments": assignments or [],
    }
    return client.request(SYNC_GROUP, 3, body)


def commit(
    client: wire.WireClient, group: str, member_id: str, generation: int, instance: str | None
) -> int:
    body = {
        "group_id": group,
        "generation_id_or_member_epoch": generation,
        "member_id": member_id,
        "group_instance_id": instance,
        # Membership is checked first; a member that passes gets UNKNOWN_TOPIC_OR_PARTITION.
        "topics": [
            {
                "name": "no-such-topic",
                "partitions": [
                    {"partition_index": 0, "committed_offset": 1, "committed_metadata": None}
                ],
            }
        ],
    }
    response = client.request(OFFSET_COMMIT, 7, body)
    return response["topics"][0]["partitions"][0]["error_code"]


def ready_coordinator(client: wire.WireClient, group: str) -> None:
    """FindCoordinator (which creates the offsets topic), then wait for the group's offsets
    partition to be loaded."""
    response = client.request(FIND_COORDINATOR, 3, {"key": group, "key_type": 0})
    assert response["error_code"] == 0, response
    wait_for(
        lambda: (
            heartbeat(client, group, "nobody", 0)
            not in (ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, ErrorCode.NOT_COORDINATOR)
        ),
        "the coordinator to load the group's partition",
    )


def test_join_group_v4_without_a_member_id_is_told_to_come_back_with_one(
    group_broker: BrokerProcess, bootstrap: str, group: str
) -> None:
    with wire.WireClient.to(group_broker) as client:
        ready_coordinator(client, group)
        for version in (4, 5, 7):
            response = client.request(JOIN_GROUP, version, join_body(f"{group}-v{version}"))
            assert response["error_code"] == ErrorCode.MEMBER_ID_REQUIRED, response
            assert response["member_id"], "the broker must hand out the member id to use"
            assert response["generation_id"] == -1
            joined = client.request(
                JOIN_GROUP, version, join_body(f"{group}-v{version}", response["member_id"])
            )
            assert joined["error_code"] == 0, joined
            assert joined["member_id"] == response["member_id"]
            assert joined["leader"] == response["member_id"]
            assert joined["generation_id"] == 1
            assert [m["member_id"] for m in joined["members"]] == [response["member_id"]]
        # Before v4 a member id is handed out with the join itself.
        old = client.request(JOIN_GROUP, 3, join_body(f"{group}-v3"))
        assert old["error_code"] == 0 and old["member_id"] and old["generation_id"] == 1, old
        # A member id the broker never handed out is refused.
        bogus = client.request(JOIN_GROUP, 5, join_body(f"{group}-v5", "made-up-member"))
        assert bogus["error_code"] == ErrorCode.UNKNOWN_MEMBER_ID, bogus
        # A member of another protocol type cannot join a group of consumers.
        other = client.request(JOIN_GROUP, 5, join_body(f"{group}-v5", protocol_type="connect"))
        assert other["error_code"] == ErrorCode.INCONSISTENT_GROUP_PROTOCOL, other
        # And a session timeout outside the broker's bounds is refused.
        short = client.request(JOIN_GROUP, 5, join_body(f"{group}-x", session_timeout_ms=10))
        assert short["error_code"] == ErrorCode.INVALID_SESSION_TIMEOUT, short


def test_heartbeats_of_unknown_members_and_stale_generations_are_refused(
    group_broker: BrokerProcess, bootstrap: str, group: str
) -> None:
    with wire.WireClient.to(group_broker) as client:
        ready_coordinator(client, group)
        # No such group yet.
        assert heartbeat(client, group, "nobody", 1) == ErrorCode.UNKNOWN_MEMBER_ID
        joined = client.request(JOIN_GROUP, 3, join_body(group))
        assert joined["error_code"] == 0, joined
        member, generation = joined["member_id"], joined["generation_id"]
        # Before SyncGroup the group is completing its rebalance; a heartbeat is still fine.
        assert heartbeat(client, group, member, generation) == 0
        synced = sync(
            client,
            group,
            member,
            generation,
            assignments=[{"member_id": member, "assignment": b"x"}],
        )
        assert synced["error_code"] == 0 and synced["assignment"] == b"x", synced

        assert heartbeat(client, group, member, generation) == 0
        assert heartbeat(client, group, "nobody", generation) == ErrorCode.UNKNOWN_MEMBER_ID
        assert heartbeat(client, group, member, generation + 1) == ErrorCode.ILLEGAL_GENERATION
        assert heartbeat(client, group, member, generation - 1) == ErrorCode.ILLEGAL_GENERATION
        stale = sync(client, group, member, generation - 1)
        assert stale["error_code"] == ErrorCode.ILLEGAL_GENERATION, stale
        assert sync(client, group, "nobody", generation)["error_code"] == (
            ErrorCode.UNKNOWN_MEMBER_ID
        )
        assert commit(client, group, "nobody", generation, None) == ErrorCode.UNKNOWN_MEMBER_ID
        assert commit(client, group, member, generation + 1, None) == (ErrorCode.ILLEGAL_GENERATION)

        left = client.request(
            LEAVE_GROUP,
            3,
            {"group_id": group, "members": [{"member_id": member, "group_instance_id": None}]},
        )
        assert left["error_code"] == 0 and left["members"][0]["error_code"] == 0, left
        # Gone: its heartbeats are no longer recognised, and leaving twice fails.
        assert heartbeat(client, group, member, generation) == ErrorCode.UNKNOWN_MEMBER_ID
        again = client.request(
            LEAVE_GROUP,
            3,
            {"group_id": group, "members": [{"member_id": member, "group_instance_id": None}]},
        )
        assert again["members"][0]["error_code"] == ErrorCode.UNKNOWN_MEMBER_ID, again


def test_a_replaced_static_member_is_fenced_not_forgotten(
    group_broker: BrokerProcess, bootstrap: str, group: str
) -> None:
    """Once a second JoinGroup with the same group.instance.id has taken over, every request of the
    old member id with that instance id must fail with FENCED_INSTANCE_ID (Kafka checks fencing
    before membership): UNKNOWN_MEMBER_ID would tell the old process to rejoin as a new member with
    the same instance id, which takes the identity back, and so on."""
    with (
        wire.WireClient.to(group_broker) as first,
        wire.WireClient.to(group_broker) as second,
    ):
        ready_coordinator(first, group)
        # Static members get their member id at once (no MEMBER_ID_REQUIRED round trip).
        joined = first.request(JOIN_GROUP, 5, join_body(group, instance="static"))
        assert joined["error_code"] == 0, joined
        old, generation = joined["member_id"], joined["generation_id"]
        synced = sync(
            first, group, old, generation, "static", [{"member_id": old, "assignment": b"a"}]
        )
        assert synced["error_code"] == 0, synced

        replaced = second.request(JOIN_GROUP, 5, join_body(group, instance="static"))
        assert replaced["error_code"] == 0, replaced
        new = replaced["member_id"]
        assert new != old
        assert replaced["generation_id"] == generation, "a static rejoin must not rebalance"
        assert sync(second, group, new, generation, "static")["assignment"] == b"a"
        assert heartbeat(second, group, new, generation, "static") == 0

        errors = {
            "Heartbeat": heartbeat(first, group, old, generation, "static"),
            "SyncGroup": sync(first, group, old, generation, "static")["error_code"],
            "OffsetCommit": commit(first, group, old, generation, "static"),
            "JoinGroup": first.request(JOIN_GROUP, 5, join_body(group, old, instance="static"))[
                "error_code"
            ],
        }
        assert {api: ErrorCode(code).name for api, code in errors.items()} == {
            api: "FENCED_INSTANCE_ID" for api in errors
        }
        # The new member is unaffected by all that.
        assert heartbeat(second, group, new, generation, "static") == 0
