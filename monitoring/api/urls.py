from django.urls import path

from monitoring.api import groups, views

urlpatterns = [
    path("nodes/<uuid:node_id>/health", views.NodeHealth.as_view(), name="api-node-health"),
    path(
        "clusters/<uuid:cluster_id>/metrics/",
        views.ClusterMetrics.as_view(),
        name="api-cluster-metrics",
    ),
    path("clusters/<uuid:cluster_id>/groups/", groups.GroupList.as_view(), name="api-groups"),
    # A group id may hold any character, "/" included.
    path(
        "clusters/<uuid:cluster_id>/groups/<path:group>/",
        groups.GroupDetail.as_view(),
        name="api-group",
    ),
]
