"""Time series of cluster metrics: what brokers report and what the control plane measures (lag),
kept at three resolutions so the database stays bounded."""

from django.db import models

from clusters.models import Cluster


class Series(models.Model):
    """One metric of one thing: a broker (node index), a topic, a consumer group, or the cluster."""

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="series")
    metric = models.CharField(max_length=60)
    broker = models.IntegerField(null=True, blank=True)  # broker id (node index)
    topic = models.CharField(max_length=249, blank=True)
    group = models.CharField(max_length=255, blank=True)
    key = models.CharField(max_length=600)  # all of the above in one string, unique per cluster

    class Meta:
        constraints = [models.UniqueConstraint(fields=["cluster", "key"], name="unique_series")]

    def __str__(self) -> str:
        return self.key


class Resolution(models.IntegerChoices):
    RAW = 0
    MINUTE = 60
    HOUR = 3600


class Point(models.Model):
    """A raw sample, or the mean (and max) of the samples in a minute or an hour."""

    series = models.ForeignKey(Series, on_delete=models.CASCADE, related_name="points")
    resolution = models.PositiveIntegerField(choices=Resolution.choices)
    at = models.DateTimeField()
    value = models.FloatField()
    max = models.FloatField()
    count = models.PositiveIntegerField(default=1)  # raw samples behind this point

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["series", "resolution", "at"], name="unique_point")
        ]
        indexes = [models.Index(fields=["resolution", "at"])]


class Rollup(models.Model):
    """How far points have been folded into a resolution: everything before `done_until`."""

    resolution = models.PositiveIntegerField(choices=Resolution.choices, unique=True)
    done_until = models.DateTimeField()
