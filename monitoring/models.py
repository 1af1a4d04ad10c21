"""Health reports pushed by brokers, kept as a time series per node."""

from django.db import models

from clusters.models import Node


class HealthReport(models.Model):
    node = models.ForeignKey(Node, on_delete=models.CASCADE, related_name="reports")
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    state = models.CharField(max_length=20)
    uptime_s = models.FloatField()
    partitions_led = models.PositiveIntegerField()
    under_replicated = models.PositiveIntegerField()
    bytes_in_per_s = models.FloatField()
    bytes_out_per_s = models.FloatField()
    disk_used_bytes = models.BigIntegerField()

    class Meta:
        ordering = ["-received_at"]
