"""Consumer groups pages of a cluster: the groups with their lag, one group's members, assignments
and partitions, each with a lag chart that reads the metrics API. Each view resolves the member,
calls monitoring.lag, and renders; the `_live` views render the part the page refreshes."""

from __future__ import annotations

from datetime import datetime

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from clusters.actors import Actor
from clusters.console.views import member_view
from clusters.errors import ServiceError
from clusters.selectors import cluster_get
from monitoring import lag


def _groups_context(actor: Actor, cluster_id) -> dict:
    cluster = cluster_get(actor.organisation, cluster_id)
    latest = lag.groups_latest(cluster)
    collected_at = latest["collected_at"] and datetime.fromisoformat(latest["collected_at"])
    return {"cluster": cluster, "actor": actor, "latest": latest, "collected_at": collected_at}


@member_view
def cluster_groups(request: HttpRequest, actor: Actor, cluster_id) -> HttpResponse:
    return render(request, "monitoring/groups.html", _groups_context(actor, cluster_id))


@member_view
def cluster_groups_live(request: HttpRequest, actor: Actor, cluster_id) -> HttpResponse:
    return render(request, "monitoring/_groups_table.html", _groups_context(actor, cluster_id))


def _group_context(actor: Actor, cluster_id, group: str) -> dict:
    cluster = cluster_get(actor.organisation, cluster_id)
    context = {"cluster": cluster, "actor": actor, "group_id": group, "detail": None, "error": ""}
    try:
        context["detail"] = lag.group_detail(cluster, group)
    except ServiceError as exc:
        context["error"] = exc.message
    else:
        if context["detail"] is None:
            raise Http404("No such consumer group.")
    return context


@member_view
def cluster_group(request: HttpRequest, actor: Actor, cluster_id, group: str) -> HttpResponse:
    return render(request, "monitoring/group.html", _group_context(actor, cluster_id, group))


@member_view
def cluster_group_live(request: HttpRequest, actor: Actor, cluster_id, group: str) -> HttpResponse:
    return render(request, "monitoring/_group_state.html", _group_context(actor, cluster_id, group))
