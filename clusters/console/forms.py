"""Console forms: they collect input; the services decide what is valid."""

from __future__ import annotations

from django import forms

from clusters.models import NodeSize, Region, SecurityProtocol


class ClusterCreateForm(forms.Form):
    name = forms.CharField(max_length=40, help_text="3-40 lowercase letters, digits and hyphens.")
    region = forms.ChoiceField()
    node_size = forms.ChoiceField()
    broker_count = forms.IntegerField(min_value=1, max_value=12, initial=3)
    zookeeper_count = forms.TypedChoiceField(
        choices=[(1, "1"), (3, "3")], coerce=int, initial=1, label="ZooKeeper nodes"
    )
    default_replication_factor = forms.IntegerField(min_value=1, max_value=5, initial=3)
    delete_protection = forms.BooleanField(required=False)
    security_protocol = forms.ChoiceField(
        choices=SecurityProtocol.choices,
        initial=SecurityProtocol.SASL_SSL,
        help_text="SASL_SSL: clients connect with TLS as Kafka users, ACLs decide what they may "
        "do. PLAINTEXT: anyone who reaches the client port may do anything.",
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        regions = Region.objects.select_related("provider").filter(provider__enabled=True)
        self.fields["region"].choices = [
            (f"{r.provider.slug}/{r.slug}", f"{r.provider.name} — {r.name}") for r in regions
        ]
        sizes = NodeSize.objects.select_related("provider").filter(provider__enabled=True)
        self.fields["node_size"].choices = [
            (f"{s.provider.slug}/{s.slug}", f"{s} — ${s.hourly_price}/h") for s in sizes
        ]
        self.prices = {f"{s.provider.slug}/{s.slug}": str(s.hourly_price) for s in sizes}

    def service_arguments(self) -> dict:
        data = self.cleaned_data
        provider, region = data["region"].split("/", 1)
        size_provider, size = data["node_size"].split("/", 1)
        if size_provider != provider:
            self.add_error("node_size", "Pick a size of the region's provider.")
        return {
            "name": data["name"],
            "provider": provider,
            "region": region,
            "node_size": size,
            "broker_count": data["broker_count"],
            "zookeeper_count": data["zookeeper_count"],
            "default_replication_factor": data["default_replication_factor"],
            "delete_protection": data["delete_protection"],
            "security_protocol": data["security_protocol"],
        }


class TopicCreateForm(forms.Form):
    name = forms.RegexField(r"^[a-zA-Z0-9._-]{1,249}$", max_length=249)
    partitions = forms.IntegerField(min_value=1, max_value=10000, initial=3)
    replication_factor = forms.IntegerField(min_value=1, max_value=12, required=False)
    retention_ms = forms.IntegerField(min_value=-1, required=False, label="retention.ms")
    cleanup_policy = forms.ChoiceField(
        choices=[("", "default"), ("delete", "delete"), ("compact", "compact")],
        required=False,
        label="cleanup.policy",
    )

    def configs(self) -> dict[str, str]:
        data = self.cleaned_data
        configs = {}
        if data.get("retention_ms") is not None:
            configs["retention.ms"] = str(data["retention_ms"])
        if data.get("cleanup_policy"):
            configs["cleanup.policy"] = data["cleanup_policy"]
        return configs


class TokenCreateForm(forms.Form):
    name = forms.CharField(max_length=100)
    read_only = forms.BooleanField(required=False)
    expires_at = forms.DateTimeField(
        required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
