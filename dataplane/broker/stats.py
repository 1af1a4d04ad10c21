"""What the broker counts as it serves: traffic per topic, request times per API, failed logins.

Kafka's meanings, so that operators' knowledge carries over:
- bytes in / messages in (BrokerTopicMetrics BytesInPerSec, MessagesInPerSec): record batch bytes
  and records appended to a log as leader — produce requests and the group coordinator's offset
  commits. Batches refused, and duplicates of an idempotent producer's retries (not appended), do
  not count; Kafka counts the latter.
- bytes out (BytesOutPerSec): record bytes in Fetch responses to consumers. Followers' fetches are
  replication (ReplicationBytesOutPerSec) and are counted apart, as are the bytes a follower copies
  in (ReplicationBytesInPerSec).
- request times (RequestMetrics, tagged request=<API name>): queue time (RequestQueueTimeMs) from
  the read that completed the request's frame until its handler starts; total time (TotalTimeMs)
  from that read until its response is handed to the socket. Fetches are also recorded as
  FetchConsumer or FetchFollower, as Kafka does.

Recording sits on the hot path, so it is a few additions per request (see bench/metrics_cost.py);
`metrics.recording.enabled=false` turns off the per-request part (times and traffic).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from dataplane.histogram import Histogram
from dataplane.protocol import messages as m

_FETCH_KEY = m.FETCH_REQUEST.api_key


class TopicStats:
    """Running totals for one topic this broker hosts."""

    __slots__ = ("bytes_in", "bytes_out", "messages_in")

    def __init__(self) -> None:
        self.bytes_in = 0
        self.bytes_out = 0
        self.messages_in = 0


class RequestStats:
    """Times of one kind of request, in seconds. Those with a `parent` record there as well
    (FetchConsumer and FetchFollower are both Fetch)."""

    __slots__ = ("name", "parent", "queue_time", "total_time")

    def __init__(self, name: str, parent: RequestStats | None = None) -> None:
        self.name = name
        self.parent = parent
        self.queue_time = Histogram()
        self.total_time = Histogram()

    def record_queue_time(self, seconds: float) -> None:
        self.queue_time.observe(seconds)
        if self.parent is not None:
            self.parent.queue_time.observe(seconds)

    def record_total_time(self, seconds: float) -> None:
        self.total_time.observe(seconds)
        if self.parent is not None:
            self.parent.total_time.observe(seconds)


class BrokerStats:
    def __init__(self, api_names: Mapping[int, str], recording: bool = True) -> None:
        self.recording = recording
        self.requests = {key: RequestStats(name) for key, name in api_names.items()}
        fetch = self.requests[_FETCH_KEY]
        self.fetch_consumer = RequestStats("FetchConsumer", fetch)
        self.fetch_follower = RequestStats("FetchFollower", fetch)
        self.topics: dict[str, TopicStats] = {}
        # Broker-wide totals, kept apart from `topics` so that deleting a topic never makes them
        # go down (Prometheus would read that as a counter reset).
        self.bytes_in = 0
        self.bytes_out = 0
        self.messages_in = 0
        self.replication_bytes_in = 0
        self.replication_bytes_out = 0
        self.failed_authentication = 0
        self.connections_refused = 0

    def for_request(self, api_key: int, request: dict) -> RequestStats:
        if api_key == _FETCH_KEY:
            return self.fetch_follower if request["replica_id"] >= 0 else self.fetch_consumer
        return self.requests[api_key]

    def all_request_stats(self) -> Iterable[RequestStats]:
        """Every request kind, Fetch's consumer and follower parts after it."""
        yield from self.requests.values()
        yield self.fetch_consumer
        yield self.fetch_follower

    def track_topics(self, hosted: set[str]) -> None:
        """Count for exactly the topics with a partition here: a new topic starts at zero (so
        Prometheus sees its first bytes), a topic no longer hosted is forgotten (as Kafka removes
        its metrics), so the table never outgrows what the broker holds."""
        for topic in hosted.difference(self.topics):
            self.topics[topic] = TopicStats()
        for topic in set(self.topics).difference(hosted):
            del self.topics[topic]

    def record_append(self, topic: str, size: int, records: int) -> None:
        """`records` in `size` bytes of batches appended as leader."""
        self.bytes_in += size
        self.messages_in += records
        stats = self.topics.get(topic)
        if stats is not None:
            stats.bytes_in += size
            stats.messages_in += records

    def record_fetched(self, topic: str, size: int) -> None:
        """`size` record bytes of `topic` sent to a consumer."""
        self.bytes_out += size
        stats = self.topics.get(topic)
        if stats is not None:
            stats.bytes_out += size

    def record_failed_authentication(self) -> None:
        """A client failed to authenticate (SASL: wrong credentials, unknown mechanism, or a bad
        handshake). Kafka's socket-server failed-authentication-total; counted even when
        recording is off, as it is rare and matters for security."""
        self.failed_authentication += 1

    def record_connection_refused(self) -> None:
        """A connection from an address the listener firewall (connections.allowed.cidrs) does not
        allow was closed at accept; counted even when recording is off, like failed logins."""
        self.connections_refused += 1
