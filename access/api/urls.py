from django.urls import path

from access.api import views

urlpatterns = [
    path(
        "clusters/<uuid:cluster_id>/users/", views.KafkaUserList.as_view(), name="api-kafka-users"
    ),
    path(
        "clusters/<uuid:cluster_id>/users/<str:name>/",
        views.KafkaUserDetail.as_view(),
        name="api-kafka-user",
    ),
    path(
        "clusters/<uuid:cluster_id>/users/<str:name>/rotate/",
        views.KafkaUserRotate.as_view(),
        name="api-kafka-user-rotate",
    ),
    path("clusters/<uuid:cluster_id>/acls/", views.AclList.as_view(), name="api-acls"),
    path(
        "clusters/<uuid:cluster_id>/acls/presets/",
        views.AclPresetCreate.as_view(),
        name="api-acl-presets",
    ),
    path(
        "clusters/<uuid:cluster_id>/acls/<str:acl_id>/", views.AclDetail.as_view(), name="api-acl"
    ),
    path("clusters/<uuid:cluster_id>/firewall/", views.FirewallList.as_view(), name="api-firewall"),
    # A network contains a slash (10.0.0.0/16): the path converter keeps it whole.
    path(
        "clusters/<uuid:cluster_id>/firewall/<path:cidr>/",
        views.FirewallDetail.as_view(),
        name="api-firewall-rule",
    ),
]
