"""Console pages. Each view resolves the member, calls a selector or a service, and renders."""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from clusters import selectors, services, tokens, topics
from clusters.actors import Actor, PermissionDenied, require_write
from clusters.connection import connection_info
from clusters.console.forms import ClusterCreateForm, TokenCreateForm, TopicCreateForm
from clusters.errors import InvalidInput, ServiceError
from clusters.models import ClusterStatus, Membership
from monitoring.services import cluster_health_summary
from provisioning import selectors as operation_selectors
from provisioning.services import operation_cancel, operation_retry


def member_view(view):
    """Signed in and a member of an organisation; the view gets the acting member. A viewer's
    request to change anything (any method but GET and HEAD) is refused here, for every view."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        membership = (
            Membership.objects.select_related("organisation", "user")
            .filter(user=request.user)
            .first()
        )
        if membership is None:
            return HttpResponseForbidden("You are not a member of any organisation.")
        actor = Actor.for_member(membership)
        if request.method not in ("GET", "HEAD") and not actor.can_write:
            return HttpResponseForbidden(f"{actor.label} has read-only access")
        try:
            return view(request, actor, *args, **kwargs)
        except PermissionDenied as exc:
            return HttpResponseForbidden(str(exc))

    return wrapper


def _service_error(request: HttpRequest, exc: ServiceError, form=None) -> None:
    if form is not None and exc.field_errors:
        for field, errors in exc.field_errors.items():
            for error in errors:
                form.add_error(field if field in form.fields else None, error)
    else:
        messages.error(request, exc.message)


@member_view
def cluster_list(request: HttpRequest, actor: Actor) -> HttpResponse:
    return render(request, "clusters/cluster_list.html", _list_context(actor))


@member_view
def cluster_list_partial(request: HttpRequest, actor: Actor) -> HttpResponse:
    return render(request, "clusters/_cluster_rows.html", _list_context(actor))


def _list_context(actor: Actor) -> dict:
    return {"clusters": selectors.clusters_visible(actor.organisation), "actor": actor}


@member_view
def cluster_create(request: HttpRequest, actor: Actor) -> HttpResponse:
    require_write(actor)
    form = ClusterCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        arguments = form.service_arguments()
        if form.is_valid():
            try:
                cluster, _operation = services.cluster_create(actor=actor, **arguments)
            except ServiceError as exc:
                _service_error(request, exc, form)
            else:
                messages.success(request, f"Creating {cluster.name}.")
                return redirect("console:cluster-detail", cluster_id=cluster.pk)
    return render(request, "clusters/cluster_create.html", {"form": form, "actor": actor})


def _detail_context(actor: Actor, cluster_id) -> dict:
    cluster = selectors.cluster_get(actor.organisation, cluster_id)
    operations = list(operation_selectors.operations_of(cluster)[:10])
    return {
        "cluster": cluster,
        "actor": actor,
        "nodes": selectors.cluster_nodes(cluster),
        "operations": operations,
        "summary": cluster_health_summary(cluster),
        "running": cluster.status == ClusterStatus.RUNNING,
        "sizes": selectors.node_sizes(cluster.provider).exclude(pk=cluster.node_size_id),
        "versions": selectors.dataplane_versions().exclude(pk=cluster.dataplane_version_id),
        "connection": connection_info(cluster),
    }


@member_view
def cluster_detail(request: HttpRequest, actor: Actor, cluster_id) -> HttpResponse:
    context = _detail_context(actor, cluster_id)
    context["topic_form"] = TopicCreateForm()
    return render(request, "clusters/cluster_detail.html", context)


@member_view
def cluster_status_partial(request: HttpRequest, actor: Actor, cluster_id) -> HttpResponse:
    return render(request, "clusters/_cluster_status.html", _detail_context(actor, cluster_id))


@member_view
def cluster_topics_partial(request: HttpRequest, actor: Actor, cluster_id) -> HttpResponse:
    cluster = selectors.cluster_get(actor.organisation, cluster_id)
    context = {"cluster": cluster, "actor": actor, "topics": [], "topics_error": ""}
    if cluster.status == ClusterStatus.RUNNING:
        try:
            context["topics"] = topics.topics_of(cluster)
        except ServiceError as exc:
            context["topics_error"] = exc.message
    return render(request, "clusters/_topics.html", context)


@member_view
@require_POST
def topic_create(request: HttpRequest, actor: Actor, cluster_id) -> HttpResponse:
    cluster = selectors.cluster_get(actor.organisation, cluster_id)
    form = TopicCreateForm(request.POST)
    if form.is_valid():
        try:
            topics.topic_create(
                actor=actor,
                cluster=cluster,
                name=form.cleaned_data["name"],
                partitions=form.cleaned_data["partitions"],
                replication_factor=form.cleaned_data.get("replication_factor"),
                configs=form.configs(),
            )
            messages.success(request, f"Topic {form.cleaned_data['name']} created.")
        except ServiceError as exc:
            _service_error(request, exc)
    else:
        for field, errors in form.errors.items():
            messages.error(request, f"{field}: {' '.join(errors)}")
    return redirect("console:cluster-detail", cluster_id=cluster.pk)


@member_view
@require_POST
def topic_configure(request: HttpRequest, actor: Actor, cluster_id, name: str) -> HttpResponse:
    """Set one topic setting; an empty value resets it to the broker default."""
    cluster = selectors.cluster_get(actor.organisation, cluster_id)
    key = request.POST.get("key", "").strip()
    value = request.POST.get("value", "").strip()
    if not key:
        messages.error(request, "Name the setting to change.")
    else:
        try:
            topics.topic_update(
                actor=actor, cluster=cluster, name=name, configs={key: value or None}
            )
            messages.success(
                request, f"{name}: {key} {'set to ' + value if value else 'reset to its default'}."
            )
        except ServiceError as exc:
            _service_error(request, exc)
    return redirect("console:cluster-detail", cluster_id=cluster.pk)


@member_view
@require_POST
def topic_delete(request: HttpRequest, actor: Actor, cluster_id, name: str) -> HttpResponse:
    cluster = selectors.cluster_get(actor.organisation, cluster_id)
    try:
        topics.topic_delete(actor=actor, cluster=cluster, name=name)
        messages.success(request, f"Topic {name} deleted.")
    except ServiceError as exc:
        _service_error(request, exc)
    return redirect("console:cluster-detail", cluster_id=cluster.pk)


@member_view
@require_POST
def cluster_delete(request: HttpRequest, actor: Actor, cluster_id) -> HttpResponse:
    cluster = selectors.cluster_get(actor.organisation, cluster_id)
    try:
        services.cluster_delete(
            actor=actor, cluster=cluster, confirm_name=request.POST.get("confirm_name", "")
        )
        messages.success(request, f"Deleting {cluster.name}.")
    except ServiceError as exc:
        _service_error(request, exc)
    return redirect("console:cluster-detail", cluster_id=cluster.pk)


@member_view
@require_POST
def cluster_restart(request: HttpRequest, actor: Actor, cluster_id) -> HttpResponse:
    cluster = selectors.cluster_get(actor.organisation, cluster_id)
    try:
        services.cluster_restart(actor=actor, cluster=cluster)
        messages.success(request, f"Restarting the brokers of {cluster.name}, one at a time.")
    except ServiceError as exc:
        _service_error(request, exc)
    return redirect("console:cluster-detail", cluster_id=cluster.pk)


@member_view
@require_POST
def cluster_resize(request: HttpRequest, actor: Actor, cluster_id) -> HttpResponse:
    """Preview (the plan, nothing changes) or start a rolling resize."""
    return _change(
        request,
        actor,
        cluster_id,
        lambda cluster, dry_run: services.cluster_resize(
            actor=actor,
            cluster=cluster,
            node_size=request.POST.get("node_size", ""),
            dry_run=dry_run,
        ),
        "Resizing {name}, one broker at a time.",
    )


@member_view
@require_POST
def cluster_scale(request: HttpRequest, actor: Actor, cluster_id) -> HttpResponse:
    """Preview or start adding or removing brokers."""
    return _change(
        request,
        actor,
        cluster_id,
        lambda cluster, dry_run: services.cluster_scale(
            actor=actor,
            cluster=cluster,
            broker_count=_number(request, "broker_count"),
            throttle_mb_per_s=_number(
                request, "throttle_mb_per_s", services.DEFAULT_THROTTLE_MB_PER_S
            ),
            dry_run=dry_run,
        ),
        "Scaling {name}.",
    )


@member_view
@require_POST
def cluster_upgrade(request: HttpRequest, actor: Actor, cluster_id) -> HttpResponse:
    """Preview or start a rolling upgrade of the dataplane version."""
    return _change(
        request,
        actor,
        cluster_id,
        lambda cluster, dry_run: services.cluster_upgrade(
            actor=actor,
            cluster=cluster,
            dataplane_version=request.POST.get("dataplane_version", ""),
            dry_run=dry_run,
        ),
        "Upgrading {name}, one broker at a time.",
    )


@member_view
@require_POST
def cluster_storage(request: HttpRequest, actor: Actor, cluster_id) -> HttpResponse:
    """Preview or start growing every broker's storage."""
    return _change(
        request,
        actor,
        cluster_id,
        lambda cluster, dry_run: services.cluster_expand_storage(
            actor=actor,
            cluster=cluster,
            storage_gib=_number(request, "storage_gib"),
            dry_run=dry_run,
        ),
        "Expanding the storage of {name}.",
    )


def _number(request: HttpRequest, field: str, default: int | None = None) -> int:
    text = request.POST.get(field, "").strip()
    if not text and default is not None:
        return default
    try:
        return int(text)
    except ValueError:
        raise InvalidInput(
            f"Give {field.replace('_', ' ')} as a whole number.",
            field_errors={field: ["A whole number is required."]},
        ) from None


def _change(request: HttpRequest, actor: Actor, cluster_id, start, started: str) -> HttpResponse:
    """Run a change's dry run and show its plan, or start it."""
    cluster = selectors.cluster_get(actor.organisation, cluster_id)
    preview = request.POST.get("action") == "preview"
    try:
        result = start(cluster, preview)
    except ServiceError as exc:
        _service_error(request, exc)
        return redirect("console:cluster-detail", cluster_id=cluster.pk)
    if preview:
        context = _detail_context(actor, cluster_id)
        context.update(topic_form=TopicCreateForm(), preview=result)
        return render(request, "clusters/cluster_detail.html", context)
    messages.success(request, started.format(name=cluster.name))
    return redirect("console:cluster-detail", cluster_id=cluster.pk)


@member_view
@require_POST
def operation_cancel_view(request: HttpRequest, actor: Actor, operation_id) -> HttpResponse:
    operation = operation_selectors.operation_get(actor.organisation, operation_id)
    try:
        operation_cancel(actor=actor, operation=operation)
        messages.success(request, "The operation stops before its next step.")
    except ServiceError as exc:
        _service_error(request, exc)
    return redirect("console:cluster-detail", cluster_id=operation.cluster_id)


@member_view
@require_POST
def cluster_protection(request: HttpRequest, actor: Actor, cluster_id) -> HttpResponse:
    cluster = selectors.cluster_get(actor.organisation, cluster_id)
    services.cluster_update(
        actor=actor,
        cluster=cluster,
        delete_protection=request.POST.get("delete_protection") == "on",
    )
    return redirect("console:cluster-detail", cluster_id=cluster.pk)


@member_view
@require_POST
def operation_retry_view(request: HttpRequest, actor: Actor, operation_id) -> HttpResponse:
    operation = operation_selectors.operation_get(actor.organisation, operation_id)
    try:
        operation_retry(actor=actor, operation=operation)
        messages.success(request, "Retrying the operation.")
    except ServiceError as exc:
        _service_error(request, exc)
    return redirect("console:cluster-detail", cluster_id=operation.cluster_id)


@member_view
def token_list(request: HttpRequest, actor: Actor) -> HttpResponse:
    form = TokenCreateForm(request.POST or None)
    secret = None
    if request.method == "POST" and form.is_valid():
        try:
            _token, secret = tokens.api_token_create(actor=actor, **form.cleaned_data)
            form = TokenCreateForm()
        except ServiceError as exc:
            _service_error(request, exc, form)
    return render(
        request,
        "clusters/tokens.html",
        {
            "form": form,
            "secret": secret,
            "tokens": selectors.tokens_of(actor.organisation),
            "actor": actor,
        },
    )


@member_view
@require_POST
def token_revoke(request: HttpRequest, actor: Actor, token_id: int) -> HttpResponse:
    token = selectors.token_get(actor.organisation, token_id)
    tokens.api_token_revoke(actor=actor, token=token)
    messages.success(request, f"Token {token.name} revoked.")
    return redirect("console:tokens")


@member_view
def audit_list(request: HttpRequest, actor: Actor) -> HttpResponse:
    events = selectors.audit_of(actor.organisation)[:200]
    return render(request, "clusters/audit.html", {"events": events, "actor": actor})
