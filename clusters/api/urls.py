from django.urls import path

from clusters.api import views

urlpatterns = [
    path("node-sizes/", views.NodeSizeList.as_view(), name="api-node-sizes"),
    path("clusters/", views.ClusterList.as_view(), name="api-clusters"),
    path("clusters/<uuid:cluster_id>/", views.ClusterDetail.as_view(), name="api-cluster"),
    path(
        "clusters/<uuid:cluster_id>/connection/",
        views.ClusterConnection.as_view(),
        name="api-cluster-connection",
    ),
    path(
        "clusters/<uuid:cluster_id>/ca.pem",
        views.ClusterCACertificate.as_view(),
        name="api-cluster-ca",
    ),
    path(
        "clusters/<uuid:cluster_id>/scale/",
        views.ClusterScale.as_view(),
        name="api-cluster-scale",
    ),
    path(
        "clusters/<uuid:cluster_id>/resize/",
        views.ClusterResize.as_view(),
        name="api-cluster-resize",
    ),
    path(
        "clusters/<uuid:cluster_id>/restart/",
        views.ClusterRestart.as_view(),
        name="api-cluster-restart",
    ),
    path(
        "clusters/<uuid:cluster_id>/upgrade/",
        views.ClusterUpgrade.as_view(),
        name="api-cluster-upgrade",
    ),
    path(
        "clusters/<uuid:cluster_id>/storage/",
        views.ClusterExpandStorage.as_view(),
        name="api-cluster-storage",
    ),
    path(
        "clusters/<uuid:cluster_id>/nodes/", views.ClusterNodes.as_view(), name="api-cluster-nodes"
    ),
    path(
        "clusters/<uuid:cluster_id>/operations/",
        views.ClusterOperations.as_view(),
        name="api-cluster-operations",
    ),
    path("clusters/<uuid:cluster_id>/topics/", views.TopicList.as_view(), name="api-topics"),
    path(
        "clusters/<uuid:cluster_id>/topics/<str:name>/",
        views.TopicDetail.as_view(),
        name="api-topic",
    ),
    path("tokens/", views.TokenList.as_view(), name="api-tokens"),
    path("tokens/<int:token_id>/", views.TokenDetail.as_view(), name="api-token"),
    path("audit/", views.AuditList.as_view(), name="api-audit"),
]
