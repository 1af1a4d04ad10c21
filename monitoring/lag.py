"""Consumer lag, collected from every running cluster through its Kafka admin interface.

Per group and partition: the committed offset, the log-end offset and the lag between them in
records, as `kafka-consumer-groups --describe` shows it, and the lag estimated in seconds:

- the group is caught up (lag 0): 0 s;
- the partition's log end moved since the previous collection (records are being produced):
  lag / produce rate, the rate being the records appended over the last minute (RATE_WINDOW_S),
  from the log ends the collections saw: a steady producer gives the true figure, a bursty one an
  average over the minute;
- nothing was produced since the previous collection: the age of the consumer's position, i.e. the
  time since the log end passed the committed offset, interpolated between the collections that saw
  the log end grow. If that moment is older than what the kept history reaches back to, the history's
  start is reported: a lower bound;
- a partition seen for the first time with lag has no estimate (None) until the next collection.

Series (monitoring.timeseries): `lag_offsets` (sum over partitions) and `lag_seconds` (max over
partitions: the oldest unconsumed record) per group and topic, and per group over all its topics
(topic ""). Partitions are not a series label, so the number of series is groups x (topics + 1) x 2.

What one collection learns besides the series lives in Redis per cluster: each partition's log-end
history (bounded, for the rate and the position age) and the latest groups summary the groups API
and console list show.
"""

from __future__ import annotations

import itertools
import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import redis
from django.conf import settings

from clusters import kafka
from clusters.errors import ClusterUnreachable, NotReady, ServiceError
from clusters.models import Cluster, ClusterStatus
from monitoring import timeseries
from monitoring.timeseries import Sample

log = logging.getLogger(__name__)

# Clusters whose brokers serve clients: a roll (updating) keeps consumers running, so lag matters.
COLLECTED_STATES = (ClusterStatus.RUNNING, ClusterStatus.UPDATING)
COLLECT_TIMEOUT_S = 8.0  # all admin requests to one cluster, per collection
DETAIL_TIMEOUT_S = 5.0  # the same for one group, while an API caller waits
MAX_PARALLEL = 8  # clusters asked at once
RETRY_AFTER_FAILURE_S = 30  # an unreachable cluster is left alone this long
RATE_WINDOW_S = 60.0
HISTORY_LIMIT = 32  # log-end points kept per partition
STATE_TTL_S = 3600  # Redis state of a cluster nobody collects any more goes away
TRACK_TTL_S = 600  # a partition no group commits to any more is forgotten
KEY_PREFIX = "streamplane:lag"


# --- time estimate (no I/O) ---------------------------------------------------------------------


@dataclass
class Track:
    """What the collections saw of one partition's log end: the latest observation and the
    points where it moved (each move preceded by the last observation before it, so an idle
    stretch stays flat instead of being interpolated as steady growth)."""

    at: float
    end: int
    history: list[tuple[float, int]] = field(default_factory=list)

    def to_json(self) -> list:
        return [round(self.at, 3), self.end, [[round(t, 3), e] for t, e in self.history]]

    @classmethod
    def from_json(cls, data: list) -> Track:
        at, end, history = data
        return cls(at, end, [(t, e) for t, e in history])


def track_observe(track: Track | None, end: int, now: float) -> Track:
    """The track after seeing the log end at `end` at `now` (epoch seconds)."""
    if track is None or end < track.end:
        # New, or the log was truncated or the topic recreated: earlier points no longer apply.
        return Track(now, end, [(now, end)])
    history = list(track.history)
    if end > track.end:
        if history[-1][0] < track.at:
            history.append((track.at, track.end))
        history.append((now, end))
        if len(history) > HISTORY_LIMIT:
            # Thin the older half: recent points stay fine-grained, old ones still reach back.
            half = len(history) // 2
            history = history[:half:2] + history[half:]
    return Track(now, end, history)


def produce_rate(track: Track, end: int, now: float) -> float | None:
    """Records appended per second over the last RATE_WINDOW_S (or since the track began), None
    before two observations."""
    history = track.history
    since = max(now - RATE_WINDOW_S, history[0][0])
    if now <= since:
        return None
    return (end - _end_at(history, since)) / (now - since)


def _end_at(history: list[tuple[float, int]], moment: float) -> float:
    """The log end at `moment`, interpolated between the points around it."""
    for (t0, e0), (t1, e1) in itertools.pairwise(history):
        if t0 <= moment < t1:
            return e0 + (e1 - e0) * (moment - t0) / (t1 - t0)
    return history[-1][1] if moment >= history[-1][0] else history[0][1]


def position_age(track: Track, committed: int, now: float) -> float | None:
    """Seconds since the log end passed `committed` (when that record was appended), interpolated
    between collections; a lower bound if it happened before the kept history."""
    history = track.history
    for index, (t, e) in enumerate(history):
        if e > committed:
            if index == 0:
                return now - t if now > t else None
            t0, e0 = history[index - 1]
            appended_at = t0 + (committed + 1 - e0) / (e - e0) * (t - t0)
            return max(0.0, now - appended_at)
    return None


def lag_seconds(track: Track | None, committed: int, end: int, now: float) -> float | None:
    """The lag of a consumer at `committed` on a partition ending at `end`, in seconds (see the
    module's docstring for the rules); None when not known yet."""
    if committed >= end:
        return 0.0
    if track is None:
        return None
    producing = end > track.end or track.history[-1][0] >= track.at
    rate = produce_rate(track, end, now) if producing else None
    if rate:
        return (end - committed) / rate
    return position_age(track, committed, now)


# --- lag of groups (no I/O) -----------------------------------------------------------------------


@dataclass
class PartitionLag:
    topic: str
    partition: int
    committed: int | None  # None: assigned, nothing committed yet
    end: int | None  # None: the log end could not be read (e.g. the topic is gone)
    lag: int | None
    lag_seconds: float | None
    client_id: str = ""  # of the member it is assigned to, if any
    member_id: str = ""


@dataclass
class GroupLag:
    group: kafka.ConsumerGroup
    partitions: list[PartitionLag]

    def topics(self) -> dict[str, tuple[int | None, float | None]]:
        """(lag in records summed, lag in seconds at its largest) per topic."""
        by_topic: dict[str, list[PartitionLag]] = {}
        for p in self.partitions:
            by_topic.setdefault(p.topic, []).append(p)
        return {topic: _totals(parts) for topic, parts in sorted(by_topic.items())}

    def totals(self) -> tuple[int | None, float | None]:
        return _totals(self.partitions)


def _totals(partitions: list[PartitionLag]) -> tuple[int | None, float | None]:
    lags = [p.lag for p in partitions if p.lag is not None]
    seconds = [p.lag_seconds for p in partitions if p.lag_seconds is not None]
    return (sum(lags) if lags else None, max(seconds) if seconds else None)


def group_lags(
    snapshot: kafka.GroupsSnapshot, tracks: dict[str, Track], now: float
) -> list[GroupLag]:
    """Every group's partitions (committed to or assigned) with their lag."""
    result = []
    for group in snapshot.groups:
        owners = {tp: m for m in group.members for tp in m.assignment}
        partitions = []
        for topic, partition in sorted(set(group.committed) | set(owners)):
            committed = group.committed.get((topic, partition))
            end = snapshot.end_offsets.get((topic, partition))
            lag = seconds = None
            if committed is not None and end is not None:
                lag = max(0, end - committed)
                seconds = lag_seconds(tracks.get(_track_key(topic, partition)), committed, end, now)
            owner = owners.get((topic, partition))
            partitions.append(
                PartitionLag(
                    topic,
                    partition,
                    committed,
                    end,
                    lag,
                    seconds,
                    client_id=owner.client_id if owner else "",
                    member_id=owner.member_id if owner else "",
                )
            )
        result.append(GroupLag(group, partitions))
    return result


def lag_series_samples(groups: list[GroupLag]) -> list[Sample]:
    samples = []
    for g in groups:
        group_id = g.group.group_id
        for topic, (offsets, seconds) in g.topics().items():
            if offsets is not None:
                samples.append(Sample("lag_offsets", offsets, topic=topic, group=group_id))
            if seconds is not None:
                samples.append(Sample("lag_seconds", seconds, topic=topic, group=group_id))
        offsets, seconds = g.totals()
        if offsets is not None:
            samples.append(Sample("lag_offsets", offsets, group=group_id))
        if seconds is not None:
            samples.append(Sample("lag_seconds", seconds, group=group_id))
    return samples


def _track_key(topic: str, partition: int) -> str:
    return f"{topic}:{partition}"  # ":" cannot occur in a topic name


def tracks_observe(
    tracks: dict[str, Track], snapshot: kafka.GroupsSnapshot, now: float
) -> dict[str, Track]:
    """The tracks after a collection saw `snapshot`'s log ends; partitions not seen for a while
    (no group commits to them any more) are dropped."""
    updated = {key: track for key, track in tracks.items() if track.at >= now - TRACK_TTL_S}
    for (topic, partition), end in snapshot.end_offsets.items():
        key = _track_key(topic, partition)
        updated[key] = track_observe(updated.get(key), end, now)
    return updated


def group_summary(g: GroupLag) -> dict[str, Any]:
    offsets, seconds = g.totals()
    return {
        "group_id": g.group.group_id,
        "state": g.group.state,
        "member_count": len(g.group.members),
        "assignor": g.group.assignor,
        "lag_offsets": offsets,
        "lag_seconds": _round(seconds),
        "topics": [
            {"topic": topic, "lag_offsets": t_offsets, "lag_seconds": _round(t_seconds)}
            for topic, (t_offsets, t_seconds) in g.topics().items()
        ],
    }


def _round(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds, 3)


# --- collection -----------------------------------------------------------------------------------


def _redis() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=5)


def _key(cluster_id: Any, part: str) -> str:
    return f"{KEY_PREFIX}:{cluster_id}:{part}"


def _load_tracks(client: redis.Redis, cluster_id: Any) -> dict[str, Track]:
    raw = client.get(_key(cluster_id, "tracks"))
    if not raw:
        return {}
    return {key: Track.from_json(value) for key, value in json.loads(raw).items()}


def collect_all() -> dict[str, Any]:
    """Collect the lag of every running cluster's groups, several clusters at once; a cluster that
    fails or times out is logged, retried after RETRY_AFTER_FAILURE_S, and does not hold up the
    others. A cluster another worker is collecting is skipped. Returns counts and the duration."""
    started = time.monotonic()
    clusters = [
        (c, kafka.client_config(c)) for c in Cluster.objects.filter(status__in=COLLECTED_STATES)
    ]
    clusters = [(c, settings) for c, settings in clusters if settings["bootstrap.servers"]]
    client = _redis()
    collected = failed = skipped = 0
    if clusters:
        with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, len(clusters))) as pool:
            # Only the Kafka requests run in the pool; database writes stay on this thread.
            futures = {
                pool.submit(_snapshot, client, c.pk, settings): c for c, settings in clusters
            }
            for future in as_completed(futures):
                cluster = futures[future]
                try:
                    snapshot = future.result()
                    if snapshot is None:
                        skipped += 1
                        continue
                    _store(client, cluster, snapshot)
                except Exception as exc:
                    failed += 1
                    if isinstance(exc, ServiceError):  # the cluster's answer, or its silence
                        log.warning("consumer lag of cluster %s: %s", cluster.pk, exc.message)
                    else:
                        log.exception("consumer lag of cluster %s not collected", cluster.pk)
                    client.set(_key(cluster.pk, "lock"), "failed", ex=RETRY_AFTER_FAILURE_S)
                else:
                    collected += 1
                    client.delete(_key(cluster.pk, "lock"))
    return {
        "clusters": collected,
        "failed": failed,
        "skipped": skipped,
        "seconds": round(time.monotonic() - started, 3),
    }


def _snapshot(
    client: redis.Redis, cluster_id: Any, settings: dict[str, str]
) -> kafka.GroupsSnapshot | None:
    """The cluster's groups, or None if another collection holds it (or it failed lately)."""
    # The lock outlives a snapshot (COLLECT_TIMEOUT_S) and the store after it.
    if not client.set(_key(cluster_id, "lock"), "1", nx=True, ex=int(COLLECT_TIMEOUT_S * 3)):
        return None
    return kafka.consumer_groups_snapshot(settings, None, COLLECT_TIMEOUT_S)


def _store(client: redis.Redis, cluster: Cluster, snapshot: kafka.GroupsSnapshot) -> None:
    """Turn one cluster's snapshot into series points, tracks and the latest groups summary."""
    now = time.time()
    if snapshot.errors:
        log.info("consumer lag of cluster %s partly read: %s", cluster.pk, snapshot.errors[:5])
    tracks = tracks_observe(_load_tracks(client, cluster.pk), snapshot, now)
    groups = group_lags(snapshot, tracks, now)
    at = datetime.fromtimestamp(now, tz=UTC)
    timeseries.record(cluster, lag_series_samples(groups), at=at)
    summary = {
        "collected_at": at.isoformat(),
        "groups": [group_summary(g) for g in groups],
        "errors": snapshot.errors[:20],
    }
    with client.pipeline() as pipe:
        tracks_json = json.dumps({key: t.to_json() for key, t in tracks.items()})
        pipe.set(_key(cluster.pk, "tracks"), tracks_json, ex=STATE_TTL_S)
        pipe.set(_key(cluster.pk, "groups"), json.dumps(summary), ex=STATE_TTL_S)
        pipe.execute()


# --- reading ------------------------------------------------------------------------------------


def groups_latest(cluster: Cluster) -> dict[str, Any]:
    """The cluster's consumer groups as the latest collection found them: state, member count, lag
    in records and seconds in all and per topic, and when that was (None: not collected yet)."""
    raw = _redis().get(_key(cluster.pk, "groups"))
    if not raw:
        return {"collected_at": None, "groups": [], "errors": []}
    return json.loads(raw)


def group_detail(cluster: Cluster, group_id: str) -> dict[str, Any] | None:
    """One group read from the cluster now: members with their assignments, and every partition's
    committed offset, log end and lag (seconds from the collections' history). None if the cluster
    knows no such group. Raises NotReady for a cluster that is not serving, ClusterUnreachable
    when it does not answer."""
    if cluster.status not in COLLECTED_STATES:
        raise NotReady(f"The cluster is {cluster.status}; its groups can be read once it runs.")
    snapshot = kafka.consumer_groups_snapshot(
        kafka.client_config(cluster), [group_id], DETAIL_TIMEOUT_S
    )
    if not snapshot.groups:
        raise ClusterUnreachable("; ".join(snapshot.errors) or "the group was not read")
    group = snapshot.groups[0]
    if group.state == "dead" and not group.committed:
        return None
    tracks = _load_tracks(_redis(), cluster.pk)
    (lagged,) = group_lags(snapshot, tracks, time.time())
    summary = group_summary(lagged)
    summary.update(
        coordinator=group.coordinator,
        members=[
            {
                "member_id": m.member_id,
                "client_id": m.client_id,
                "host": m.host,
                "group_instance_id": m.group_instance_id,
                "assignment": [{"topic": t, "partition": p} for t, p in m.assignment],
            }
            for m in group.members
        ],
        partitions=[
            {
                "topic": p.topic,
                "partition": p.partition,
                "committed_offset": p.committed,
                "log_end_offset": p.end,
                "lag_offsets": p.lag,
                "lag_seconds": _round(p.lag_seconds),
                "client_id": p.client_id,
                "member_id": p.member_id,
            }
            for p in lagged.partitions
        ],
        errors=snapshot.errors,
    )
    return summary


def group_trend(cluster: Cluster, group_id: str, since: datetime, until: datetime) -> dict:
    """The group's lag over time: `lag_offsets` and `lag_seconds`, one series for the group and one
    per topic (the topic "" is the group's total)."""
    return {
        metric: timeseries.query(cluster, metric, since, until, group=group_id)
        for metric in ("lag_offsets", "lag_seconds")
    }
