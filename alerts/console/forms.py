"""Console forms for the alerts page: they collect input; the services decide what is valid."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.utils import timezone

from alerts.models import ChannelKind, RuleKind, Severity

SILENCE_DURATIONS = [
    (3600, "1 hour"),
    (4 * 3600, "4 hours"),
    (24 * 3600, "1 day"),
    (7 * 24 * 3600, "1 week"),
]


class RuleCreateForm(forms.Form):
    kind = forms.ChoiceField(choices=RuleKind.choices)
    threshold = forms.FloatField(required=False, help_text="The kind's default if empty.")
    duration_s = forms.IntegerField(min_value=0, required=False, label="For (seconds)")
    severity = forms.ChoiceField(choices=[("", "default"), *Severity.choices], required=False)

    def service_arguments(self) -> dict:
        data = self.cleaned_data
        return {
            "kind": data["kind"],
            "threshold": data["threshold"],
            "duration_s": data["duration_s"],
            "severity": data["severity"] or None,
        }


class RuleUpdateForm(forms.Form):
    threshold = forms.FloatField()
    duration_s = forms.IntegerField(min_value=0)
    severity = forms.ChoiceField(choices=Severity.choices)
    enabled = forms.BooleanField(required=False)


class SilenceForm(forms.Form):
    kind = forms.ChoiceField(choices=RuleKind.choices)
    subject = forms.CharField(
        max_length=600, required=False, help_text='e.g. "broker:2"; empty for every subject.'
    )
    duration = forms.TypedChoiceField(choices=SILENCE_DURATIONS, coerce=int, label="For")
    comment = forms.CharField(max_length=500, required=False)

    def service_arguments(self) -> dict:
        data = self.cleaned_data
        return {
            "kind": data["kind"],
            "subject": data["subject"],
            "ends_at": timezone.now() + timedelta(seconds=data["duration"]),
            "comment": data["comment"],
        }


class ChannelForm(forms.Form):
    name = forms.CharField(max_length=100)
    kind = forms.ChoiceField(choices=ChannelKind.choices)
    url = forms.CharField(max_length=500, required=False, label="Webhook URL")
    email_to = forms.CharField(
        max_length=2000, required=False, label="Email to", help_text="Addresses, comma-separated."
    )
    scope = forms.ChoiceField(
        choices=[("cluster", "this cluster"), ("organisation", "every cluster")],
        label="Alerts of",
    )
    min_severity = forms.ChoiceField(choices=Severity.choices, label="From severity")

    def service_arguments(self) -> dict:
        data = self.cleaned_data
        return {
            "name": data["name"],
            "kind": data["kind"],
            "url": data["url"].strip(),
            "email_to": [a for a in data["email_to"].replace(";", ",").split(",") if a.strip()],
            "min_severity": data["min_severity"],
        }
