"""Console forms for Kafka users, ACLs and firewall rules. Choices come from the same vocabulary as
the API; the services check meaning."""

from __future__ import annotations

from django import forms

from access.acls import OPERATIONS, PATTERN_TYPES, PERMISSIONS, RESOURCE_TYPES
from access.kafka import MECHANISMS

RESOURCE_LABELS = {
    "topic": "Topic",
    "group": "Consumer group",
    "cluster": "Cluster",
    "transactional_id": "Transactional id",
}


class KafkaUserForm(forms.Form):
    name = forms.CharField(max_length=64, help_text="Letters, digits and . _ @ + -")
    mechanisms = forms.MultipleChoiceField(
        choices=[(m, m) for m in MECHANISMS],
        initial=list(MECHANISMS),
        widget=forms.CheckboxSelectMultiple,
    )


def _principal_choices(users) -> list[tuple[str, str]]:
    return [(u.principal, u.name) for u in users]


class AclForm(forms.Form):
    principal = forms.ChoiceField(label="Kafka user")
    resource_type = forms.ChoiceField(
        choices=[(t, RESOURCE_LABELS[t]) for t in RESOURCE_TYPES], label="Resource"
    )
    pattern_type = forms.ChoiceField(
        choices=[(p, p.capitalize()) for p in PATTERN_TYPES], label="Pattern"
    )
    resource_name = forms.CharField(
        max_length=255,
        required=False,
        label="Name or prefix",
        help_text="kafka-cluster for the cluster",
    )
    operation = forms.ChoiceField(choices=[(o, o) for o in OPERATIONS])
    permission = forms.ChoiceField(choices=[(p, p) for p in PERMISSIONS])
    host = forms.CharField(max_length=45, initial="*")

    def __init__(self, *args, users=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["principal"].choices = _principal_choices(users)


class AclPresetForm(forms.Form):
    preset = forms.ChoiceField(
        choices=[
            ("producer", "Producer for a topic prefix"),
            ("consumer", "Consumer for a topic prefix and a group"),
        ]
    )
    principal = forms.ChoiceField(label="Kafka user")
    topic_prefix = forms.CharField(max_length=249, label="Topic prefix")
    group = forms.CharField(max_length=255, required=False, label="Group (consumers)")

    def __init__(self, *args, users=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["principal"].choices = _principal_choices(users)


class FirewallRuleForm(forms.Form):
    cidr = forms.CharField(max_length=50, label="Network", help_text="e.g. 203.0.113.0/24")
    description = forms.CharField(max_length=200, required=False)
