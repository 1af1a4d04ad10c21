"""Console pages under a cluster: its Kafka users (with the one-time password panel), ACLs (with
presets) and firewall rules. Each view resolves the member, calls a selector or a service, and
renders."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from access import selectors, services
from access.acls import AclEntry, acl_entry, preset_entries
from access.console.forms import AclForm, AclPresetForm, FirewallRuleForm, KafkaUserForm
from clusters.actors import Actor
from clusters.console.views import member_view
from clusters.errors import ServiceError
from clusters.selectors import cluster_get


def _error(request: HttpRequest, exc: ServiceError) -> None:
    details = "; ".join(f"{field}: {' '.join(e)}" for field, e in exc.field_errors.items())
    messages.error(request, f"{exc.message} {details}".strip())


def _users_page(
    request: HttpRequest,
    actor: Actor,
    cluster,
    form: KafkaUserForm | None = None,
    password: dict[str, str] | None = None,
) -> HttpResponse:
    return render(
        request,
        "access/users.html",
        {
            "cluster": cluster,
            "actor": actor,
            "users": selectors.kafka_users_of(cluster),
            "form": form or KafkaUserForm(),
            "password": password,
            "section": "users",
        },
    )


@member_view
def kafka_users(request: HttpRequest, actor: Actor, cluster_id) -> HttpResponse:
    cluster = cluster_get(actor.organisation, cluster_id)
    if request.method != "POST":
        return _users_page(request, actor, cluster)
    form = KafkaUserForm(request.POST)
    if form.is_valid():
        try:
            user, secret = services.kafka_user_create(
                actor=actor,
                cluster=cluster,
                name=form.cleaned_data["name"],
                mechanisms=form.cleaned_data["mechanisms"],
            )
        except ServiceError as exc:
            _error(request, exc)
        else:
            return _users_page(
                request, actor, cluster, password={"user": user.name, "secret": secret}
            )
    return _users_page(request, actor, cluster, form=form)


@member_view
@require_POST
def kafka_user_rotate(request: HttpRequest, actor: Actor, cluster_id, name: str) -> HttpResponse:
    cluster = cluster_get(actor.organisation, cluster_id)
    user = selectors.kafka_user_get(cluster, name)
    try:
        secret = services.kafka_user_rotate(actor=actor, cluster=cluster, user=user)
    except ServiceError as exc:
        _error(request, exc)
        return redirect("access:users", cluster_id=cluster.pk)
    return _users_page(request, actor, cluster, password={"user": user.name, "secret": secret})


@member_view
@require_POST
def kafka_user_delete(request: HttpRequest, actor: Actor, cluster_id, name: str) -> HttpResponse:
    cluster = cluster_get(actor.organisation, cluster_id)
    user = selectors.kafka_user_get(cluster, name)
    try:
        removed = services.kafka_user_delete(actor=actor, cluster=cluster, user=user)
    except ServiceError as exc:
        _error(request, exc)
    else:
        messages.success(request, f"Kafka user {name} deleted with its {removed} ACL(s).")
    return redirect("access:users", cluster_id=cluster.pk)


@member_view
def acls(request: HttpRequest, actor: Actor, cluster_id) -> HttpResponse:
    cluster = cluster_get(actor.organisation, cluster_id)
    users = list(selectors.kafka_users_of(cluster))
    form = AclForm(request.POST or None, users=users)
    if request.method == "POST" and form.is_valid():
        try:
            entry = acl_entry(**form.cleaned_data)
            services.acls_create(actor=actor, cluster=cluster, entries=[entry])
        except ServiceError as exc:
            _error(request, exc)
        else:
            messages.success(request, "ACL added.")
            return redirect("access:acls", cluster_id=cluster.pk)
    entries: list[AclEntry] = []
    acls_error = ""
    try:
        entries = selectors.acls_of(cluster)
    except ServiceError as exc:
        acls_error = exc.message
    return render(
        request,
        "access/acls.html",
        {
            "cluster": cluster,
            "actor": actor,
            "users": users,
            "acls": entries,
            "acls_error": acls_error,
            "form": form,
            "preset_form": AclPresetForm(users=users),
            "section": "acls",
        },
    )


@member_view
@require_POST
def acl_preset(request: HttpRequest, actor: Actor, cluster_id) -> HttpResponse:
    cluster = cluster_get(actor.organisation, cluster_id)
    form = AclPresetForm(request.POST, users=selectors.kafka_users_of(cluster))
    if not form.is_valid():
        for field, errors in form.errors.items():
            messages.error(request, f"{field}: {' '.join(errors)}")
        return redirect("access:acls", cluster_id=cluster.pk)
    try:
        entries = preset_entries(**form.cleaned_data)
        services.acls_create(
            actor=actor, cluster=cluster, entries=entries, preset=form.cleaned_data["preset"]
        )
    except ServiceError as exc:
        _error(request, exc)
    else:
        messages.success(request, f"{len(entries)} ACLs added.")
    return redirect("access:acls", cluster_id=cluster.pk)


@member_view
@require_POST
def acl_delete(request: HttpRequest, actor: Actor, cluster_id, acl_id: str) -> HttpResponse:
    cluster = cluster_get(actor.organisation, cluster_id)
    try:
        services.acl_delete(actor=actor, cluster=cluster, entry=AclEntry.from_id(acl_id))
    except ServiceError as exc:
        _error(request, exc)
    else:
        messages.success(request, "ACL removed.")
    return redirect("access:acls", cluster_id=cluster.pk)


@member_view
def firewall(request: HttpRequest, actor: Actor, cluster_id) -> HttpResponse:
    cluster = cluster_get(actor.organisation, cluster_id)
    form = FirewallRuleForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.firewall_rule_add(actor=actor, cluster=cluster, **form.cleaned_data)
        except ServiceError as exc:
            _error(request, exc)
        else:
            messages.success(request, f"{form.cleaned_data['cidr']} may connect.")
            return redirect("access:firewall", cluster_id=cluster.pk)
    return render(
        request,
        "access/firewall.html",
        {
            "cluster": cluster,
            "actor": actor,
            "rules": selectors.firewall_of(cluster),
            "form": form,
            "section": "firewall",
        },
    )


@member_view
@require_POST
def firewall_delete(request: HttpRequest, actor: Actor, cluster_id) -> HttpResponse:
    cluster = cluster_get(actor.organisation, cluster_id)
    cidr = request.POST.get("cidr", "")
    try:
        services.firewall_rule_delete(actor=actor, cluster=cluster, cidr=cidr)
    except ServiceError as exc:
        _error(request, exc)
    else:
        messages.success(request, f"{cidr} may no longer connect.")
    return redirect("access:firewall", cluster_id=cluster.pk)
