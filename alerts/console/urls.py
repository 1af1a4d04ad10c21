from django.urls import path

from alerts.console import views

app_name = "alerts"
urlpatterns = [
    path("clusters/<uuid:cluster_id>/alerts", views.cluster_alerts, name="cluster-alerts"),
    path(
        "clusters/<uuid:cluster_id>/alerts/live",
        views.cluster_alerts_partial,
        name="cluster-alerts-live",
    ),
    path("clusters/<uuid:cluster_id>/alerts/rules/new", views.rule_create, name="rule-create"),
    path(
        "clusters/<uuid:cluster_id>/alerts/rules/<int:rule_id>",
        views.rule_update,
        name="rule-update",
    ),
    path(
        "clusters/<uuid:cluster_id>/alerts/rules/<int:rule_id>/delete",
        views.rule_delete,
        name="rule-delete",
    ),
    path(
        "clusters/<uuid:cluster_id>/alerts/silences/new",
        views.silence_create,
        name="silence-create",
    ),
    path(
        "clusters/<uuid:cluster_id>/alerts/silences/<int:silence_id>/expire",
        views.silence_expire,
        name="silence-expire",
    ),
    path(
        "clusters/<uuid:cluster_id>/alerts/channels/new",
        views.channel_create,
        name="channel-create",
    ),
    path(
        "clusters/<uuid:cluster_id>/alerts/channels/<int:channel_id>/toggle",
        views.channel_toggle,
        name="channel-toggle",
    ),
    path(
        "clusters/<uuid:cluster_id>/alerts/channels/<int:channel_id>/delete",
        views.channel_delete,
        name="channel-delete",
    ),
    path(
        "clusters/<uuid:cluster_id>/alerts/channels/<int:channel_id>/test",
        views.channel_test,
        name="channel-test",
    ),
]
