"""Who may reach a cluster: its Kafka users and the descriptions of its firewall rules.

A Kafka user's password lives only on the cluster, as salted SCRAM keys; the control plane keeps the
name and the mechanisms, nothing that would recover or check the password. ACLs live only on the
cluster (read back from it). The firewall's allow-list itself is `Cluster.allowed_cidrs`, which the
providers enforce; `FirewallRule` adds who allowed each network and why.
"""

from __future__ import annotations

from django.db import models

from clusters.models import Cluster


class KafkaUser(models.Model):
    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="kafka_users")
    name = models.CharField(max_length=64)
    mechanisms = models.JSONField(default=list)  # e.g. ["SCRAM-SHA-256", "SCRAM-SHA-512"]
    created_by = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    password_changed_at = models.DateTimeField()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["cluster", "name"], name="unique_kafka_user_name")
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def principal(self) -> str:
        return f"User:{self.name}"


class FirewallRule(models.Model):
    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="firewall_rules")
    cidr = models.CharField(max_length=50)  # canonical form, as in Cluster.allowed_cidrs
    description = models.CharField(max_length=200, blank=True)
    created_by = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["cluster", "cidr"], name="unique_firewall_rule_cidr")
        ]

    def __str__(self) -> str:
        return self.cidr
