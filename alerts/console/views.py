"""The alerts page of a cluster: what fires now, what fired, its rules, silences and the channels
its alerts go to. Each view resolves the member, calls a selector or a service, and renders."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from alerts import selectors, services
from alerts.console.forms import ChannelForm, RuleCreateForm, RuleUpdateForm, SilenceForm
from alerts.models import OPEN_STATES, AlertState, Severity
from clusters.actors import Actor
from clusters.console.views import member_view
from clusters.errors import ServiceError
from clusters.selectors import cluster_get

RECENT_ALERTS = 50
RECENT_DELIVERIES = 20


def _alerts_context(actor: Actor, cluster_id) -> dict:
    cluster = cluster_get(actor.organisation, cluster_id)
    alerts = selectors.alerts_of(cluster)
    return {
        "cluster": cluster,
        "actor": actor,
        "open_alerts": alerts.filter(state__in=OPEN_STATES),
        "recent_alerts": alerts.filter(state=AlertState.RESOLVED)[:RECENT_ALERTS],
    }


def _page_context(actor: Actor, cluster_id) -> dict:
    context = _alerts_context(actor, cluster_id)
    cluster = context["cluster"]
    channels = selectors.channels_of(actor.organisation, cluster=cluster)
    context.update(
        rules=selectors.rules_of(cluster),
        silences=selectors.silences_of(cluster, active=True),
        past_silences=selectors.silences_of(cluster, active=False)[:10],
        channels=channels,
        deliveries=selectors.deliveries_for_channels(channels)[:RECENT_DELIVERIES],
        rule_form=RuleCreateForm(),
        silence_form=SilenceForm(),
        channel_form=ChannelForm(),
        severities=Severity.choices,
        now=timezone.now(),
    )
    return context


def _error(request: HttpRequest, exc: ServiceError) -> None:
    details = "; ".join(f"{field}: {' '.join(e)}" for field, e in exc.field_errors.items())
    messages.error(request, f"{exc.message} {details}".strip())


def _form_errors(request: HttpRequest, form) -> None:
    for field, errors in form.errors.items():
        messages.error(request, f"{field}: {' '.join(errors)}")


def _back(cluster_id) -> HttpResponse:
    return redirect("alerts:cluster-alerts", cluster_id=cluster_id)


@member_view
def cluster_alerts(request: HttpRequest, actor: Actor, cluster_id) -> HttpResponse:
    return render(request, "alerts/cluster_alerts.html", _page_context(actor, cluster_id))


@member_view
def cluster_alerts_partial(request: HttpRequest, actor: Actor, cluster_id) -> HttpResponse:
    return render(request, "alerts/_alerts.html", _alerts_context(actor, cluster_id))


@member_view
@require_POST
def rule_create(request: HttpRequest, actor: Actor, cluster_id) -> HttpResponse:
    cluster = cluster_get(actor.organisation, cluster_id)
    form = RuleCreateForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return _back(cluster.pk)
    try:
        rule = services.rule_create(actor=actor, cluster=cluster, **form.service_arguments())
        messages.success(request, f"Rule added: {rule}.")
    except ServiceError as exc:
        _error(request, exc)
    return _back(cluster.pk)


@member_view
@require_POST
def rule_update(request: HttpRequest, actor: Actor, cluster_id, rule_id: int) -> HttpResponse:
    cluster = cluster_get(actor.organisation, cluster_id)
    rule = selectors.rule_get(cluster, rule_id)
    form = RuleUpdateForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return _back(cluster.pk)
    try:
        services.rule_update(actor=actor, rule=rule, **form.cleaned_data)
        messages.success(request, f"Rule saved: {rule}.")
    except ServiceError as exc:
        _error(request, exc)
    return _back(cluster.pk)


@member_view
@require_POST
def rule_delete(request: HttpRequest, actor: Actor, cluster_id, rule_id: int) -> HttpResponse:
    cluster = cluster_get(actor.organisation, cluster_id)
    rule = selectors.rule_get(cluster, rule_id)
    try:
        services.rule_delete(actor=actor, rule=rule)
        messages.success(request, f"Rule deleted: {rule}.")
    except ServiceError as exc:
        _error(request, exc)
    return _back(cluster.pk)


@member_view
@require_POST
def silence_create(request: HttpRequest, actor: Actor, cluster_id) -> HttpResponse:
    cluster = cluster_get(actor.organisation, cluster_id)
    form = SilenceForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return _back(cluster.pk)
    try:
        silence = services.silence_create(actor=actor, cluster=cluster, **form.service_arguments())
        messages.success(request, f"Silenced: {silence}.")
    except ServiceError as exc:
        _error(request, exc)
    return _back(cluster.pk)


@member_view
@require_POST
def silence_expire(request: HttpRequest, actor: Actor, cluster_id, silence_id: int) -> HttpResponse:
    cluster = cluster_get(actor.organisation, cluster_id)
    silence = selectors.silence_get(cluster, silence_id)
    services.silence_expire(actor=actor, silence=silence)
    messages.success(request, "The silence has ended.")
    return _back(cluster.pk)


@member_view
@require_POST
def channel_create(request: HttpRequest, actor: Actor, cluster_id) -> HttpResponse:
    """Create a channel; a webhook's secret is on the page this once."""
    cluster = cluster_get(actor.organisation, cluster_id)
    form = ChannelForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return _back(cluster.pk)
    try:
        channel, secret = services.channel_create(
            actor=actor,
            cluster=cluster if form.cleaned_data["scope"] == "cluster" else None,
            **form.service_arguments(),
        )
    except ServiceError as exc:
        _error(request, exc)
        return _back(cluster.pk)
    messages.success(request, f"Channel {channel.name} added.")
    context = _page_context(actor, cluster.pk)
    context.update(new_channel=channel, secret=secret)
    return render(request, "alerts/cluster_alerts.html", context)


@member_view
@require_POST
def channel_toggle(request: HttpRequest, actor: Actor, cluster_id, channel_id: int) -> HttpResponse:
    channel = selectors.channel_get(actor.organisation, channel_id)
    services.channel_update(actor=actor, channel=channel, enabled=not channel.enabled)
    return _back(cluster_id)


@member_view
@require_POST
def channel_delete(request: HttpRequest, actor: Actor, cluster_id, channel_id: int) -> HttpResponse:
    channel = selectors.channel_get(actor.organisation, channel_id)
    services.channel_delete(actor=actor, channel=channel)
    messages.success(request, f"Channel {channel.name} deleted.")
    return _back(cluster_id)


@member_view
@require_POST
def channel_test(request: HttpRequest, actor: Actor, cluster_id, channel_id: int) -> HttpResponse:
    cluster = cluster_get(actor.organisation, cluster_id)
    channel = selectors.channel_get(actor.organisation, channel_id)
    services.channel_test(actor=actor, channel=channel, cluster=cluster)
    messages.success(request, f"A test notification is on its way to {channel.name}.")
    return _back(cluster.pk)
