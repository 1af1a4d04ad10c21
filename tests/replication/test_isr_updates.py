"""A leader's ISR change racing the controller's write of the same partition state.

The leader writes its ISR with a version check. When the controller writes right after it (a
reassignment completing), the watch may bring the controller's newer state before the leader's own
write returns; the leader must keep the newer state, or it goes on waiting for replicas the
controller has already removed.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid

from kazoo.client import KazooClient

from dataplane.metadata.base import BrokerInfo, PartitionState
from dataplane.metadata.zookeeper import ZooKeeperMetadataStore, assignment_json, state_json
from tests.support.zookeeper import ZooKeeperServer

TOPIC = "events"


def _state(store: ZooKeeperMetadataStore) -> PartitionState:
    return store.topics[TOPIC].partitions[0]


async def _store_with_partition(
    zookeeper: ZooKeeperServer, chroot: str, admin: KazooClient
) -> ZooKeeperMetadataStore:
    """A leader's metadata store (broker 1) that sees partition 0 led by itself, ISR [1, 2, 3]."""
    admin.ensure_path(chroot)
    admin.create(
        f"{chroot}/brokers/topics/{TOPIC}",
        assignment_json(uuid.uuid4().bytes, {0: [1, 2, 3]}),
        makepath=True,
    )
    admin.create(
        f"{chroot}{ZooKeeperMetadataStore.state_path(TOPIC, 0)}",
        state_json(PartitionState([1, 2, 3], 1, 1, [1, 2, 3])),
        makepath=True,
    )
    store = ZooKeeperMetadataStore(
        zookeeper.connect_string(chroot), BrokerInfo(1, "127.0.0.1", 9092), 10000
    )
    await store.start()
    assert await store.wait_for(lambda: TOPIC in store.topics and _state(store).leader == 1, 10)
    return store


async def test_a_newer_state_seen_meanwhile_is_kept(zookeeper: ZooKeeperServer, chroot: str):
    admin = KazooClient(hosts=zookeeper.address)
    admin.start(15)
    path = f"{chroot}{ZooKeeperMetadataStore.state_path(TOPIC, 0)}"
    store = await _store_with_partition(zookeeper, chroot, admin)
    try:
        before = _state(store)
        write_isr = store.zk.set

        def set_then_controller_writes(znode: str, data: bytes, version: int):
            written = write_isr(znode, data, version=version)
            # The controller finishes a reassignment on top of the leader's write, and the
            # leader's watch delivers it before the leader's own write has returned.
            controller = PartitionState([1, 2], 1, 2, [1, 2], controller_epoch=1)
            admin.set(path, state_json(controller), version=written.version)
            deadline = time.monotonic() + 10
            while store._states[(TOPIC, 0)].partition_epoch <= written.version:
                assert time.monotonic() < deadline, "the watch never brought the newer state"
                time.sleep(0.01)
            return written

        store.zk.set = set_then_controller_writes
        assert await store.update_isr(TOPIC, 0, before, [1, 2, 3, 4])
        await asyncio.sleep(0.2)  # anything still posted from the watch lands
        after = _state(store)
        stored, stat = admin.get(path)
        assert after.partition_epoch == stat.version
        assert after.isr == json.loads(stored)["isr"] == [1, 2]
        assert after.leader_epoch == 2
    finally:
        await store.stop()
        admin.stop()
        admin.close()
