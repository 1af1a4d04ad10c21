"""Prometheus text for customers and operators.

A cluster's scrape gathers every broker's own `/metrics` (served on `metrics.listener`) into one
exposition, so one scrape job covers all brokers; families are merged (the text format allows one
HELP/TYPE per family) and `streamplane_broker_up` says which brokers answered. The control plane's
own metrics count operations, clusters and nodes, the Celery queue and API latency."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

import httpx
from django.conf import settings
from django.db.models import Count
from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from clusters.models import Cluster, Node

log = logging.getLogger(__name__)

SCRAPE_TIMEOUT_S = 3.0

API_LATENCY = Histogram(
    "streamplane_api_request_duration_seconds",
    "Time to answer API and console requests.",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


class _Families:
    """A collector that yields families gathered elsewhere."""

    def __init__(self, families: Iterable[Metric]) -> None:
        self.families = list(families)

    def collect(self) -> Iterable[Metric]:
        return self.families


def broker_metrics_url(node: Node) -> str:
    return f"http://{node.host}:{settings.BROKER_METRICS_PORT}/metrics"


def _fetch(node: Node) -> str | None:
    try:
        response = httpx.get(broker_metrics_url(node), timeout=SCRAPE_TIMEOUT_S)
        response.raise_for_status()
    except httpx.HTTPError as exc:
        log.info("broker %s did not answer a metrics scrape: %s", node.name, exc)
        return None
    return response.text


def cluster_exposition(cluster: Cluster) -> bytes:
    """Every broker's metrics, merged, with the cluster's name as a label."""
    brokers = [n for n in cluster.brokers if n.host]
    with ThreadPoolExecutor(max_workers=max(1, min(8, len(brokers)))) as pool:
        texts = list(pool.map(_fetch, brokers))
    up = GaugeMetricFamily(
        "streamplane_broker_up",
        "1 if the control plane could scrape the broker's metrics, else 0.",
        labels=["cluster", "broker_id"],
    )
    families: dict[str, Metric] = {}
    for node, text in zip(brokers, texts, strict=True):
        up.add_metric([cluster.name, str(node.index)], 0 if text is None else 1)
        for family in text_string_to_metric_families(text or ""):
            merged = families.setdefault(
                family.name, Metric(family.name, family.documentation, family.type, family.unit)
            )
            merged.samples += [
                sample._replace(labels={**sample.labels, "cluster": cluster.name})
                for sample in family.samples
            ]
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Families([up, *families.values()]))
    return generate_latest(registry)


def controlplane_exposition() -> bytes:
    from provisioning.models import Operation

    gauges = []
    operations = GaugeMetricFamily(
        "streamplane_operations", "Operations by kind and state.", labels=["kind", "state"]
    )
    for row in Operation.objects.values("kind", "state").annotate(n=Count("id")):
        operations.add_metric([row["kind"], row["state"]], row["n"])
    clusters = GaugeMetricFamily("streamplane_clusters", "Clusters by status.", labels=["status"])
    for row in Cluster.objects.values("status").annotate(n=Count("id")):
        clusters.add_metric([row["status"]], row["n"])
    nodes = GaugeMetricFamily(
        "streamplane_nodes", "Nodes by role and status.", labels=["role", "status"]
    )
    for row in Node.objects.values("role", "status").annotate(n=Count("id")):
        nodes.add_metric([row["role"], row["status"]], row["n"])
    gauges += [operations, clusters, nodes]
    waiting = _queue_length()
    if waiting is not None:
        queue = GaugeMetricFamily(
            "streamplane_celery_queue_length",
            "Tasks waiting in the Celery queue.",
            labels=["queue"],
        )
        queue.add_metric([settings.CELERY_TASK_DEFAULT_QUEUE], waiting)
        gauges.append(queue)

    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Families(gauges))
    if settings.PROMETHEUS_MULTIPROC_DIR:
        # Each web worker process records its own requests; this sums them.
        MultiProcessCollector(registry)
        return generate_latest(registry)
    from prometheus_client import REGISTRY

    return generate_latest(registry) + generate_latest(REGISTRY)


def _queue_length() -> int | None:
    """Celery's Redis transport keeps a queue as a list under the queue's name."""
    import redis

    try:
        with redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=2) as client:
            return int(client.llen(settings.CELERY_TASK_DEFAULT_QUEUE))
    except redis.RedisError as exc:
        log.warning("the Celery queue's length is unknown: %s", exc)
        return None
