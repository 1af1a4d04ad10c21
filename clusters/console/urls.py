from django.urls import path

from clusters.console import views

app_name = "console"
urlpatterns = [
    path("", views.cluster_list, name="cluster-list"),
    path("clusters/rows", views.cluster_list_partial, name="cluster-rows"),
    path("clusters/new", views.cluster_create, name="cluster-create"),
    path("clusters/<uuid:cluster_id>/", views.cluster_detail, name="cluster-detail"),
    path("clusters/<uuid:cluster_id>/status", views.cluster_status_partial, name="cluster-status"),
    path("clusters/<uuid:cluster_id>/topics", views.cluster_topics_partial, name="cluster-topics"),
    path("clusters/<uuid:cluster_id>/topics/new", views.topic_create, name="topic-create"),
    path(
        "clusters/<uuid:cluster_id>/topics/<str:name>/configs",
        views.topic_configure,
        name="topic-configure",
    ),
    path(
        "clusters/<uuid:cluster_id>/topics/<str:name>/delete",
        views.topic_delete,
        name="topic-delete",
    ),
    path("clusters/<uuid:cluster_id>/delete", views.cluster_delete, name="cluster-delete"),
    path("clusters/<uuid:cluster_id>/restart", views.cluster_restart, name="cluster-restart"),
    path("clusters/<uuid:cluster_id>/resize", views.cluster_resize, name="cluster-resize"),
    path("clusters/<uuid:cluster_id>/scale", views.cluster_scale, name="cluster-scale"),
    path("clusters/<uuid:cluster_id>/upgrade", views.cluster_upgrade, name="cluster-upgrade"),
    path("clusters/<uuid:cluster_id>/storage", views.cluster_storage, name="cluster-storage"),
    path(
        "operations/<uuid:operation_id>/cancel",
        views.operation_cancel_view,
        name="operation-cancel",
    ),
    path(
        "clusters/<uuid:cluster_id>/protection", views.cluster_protection, name="cluster-protection"
    ),
    path(
        "operations/<uuid:operation_id>/retry", views.operation_retry_view, name="operation-retry"
    ),
    path("settings/tokens", views.token_list, name="tokens"),
    path("settings/tokens/<int:token_id>/revoke", views.token_revoke, name="token-revoke"),
    path("audit", views.audit_list, name="audit"),
]
