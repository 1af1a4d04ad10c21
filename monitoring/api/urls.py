from django.urls import path

from monitoring.api import views

urlpatterns = [
    path("nodes/<uuid:node_id>/health", views.NodeHealth.as_view(), name="api-node-health"),
    path(
        "clusters/<uuid:cluster_id>/metrics/",
        views.ClusterMetrics.as_view(),
        name="api-cluster-metrics",
    ),
]
