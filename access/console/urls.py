from django.urls import path

from access.console import views

app_name = "access"
urlpatterns = [
    path("clusters/<uuid:cluster_id>/users", views.kafka_users, name="users"),
    path(
        "clusters/<uuid:cluster_id>/users/<str:name>/rotate",
        views.kafka_user_rotate,
        name="user-rotate",
    ),
    path(
        "clusters/<uuid:cluster_id>/users/<str:name>/delete",
        views.kafka_user_delete,
        name="user-delete",
    ),
    path("clusters/<uuid:cluster_id>/acls", views.acls, name="acls"),
    path("clusters/<uuid:cluster_id>/acls/preset", views.acl_preset, name="acl-preset"),
    path(
        "clusters/<uuid:cluster_id>/acls/<str:acl_id>/delete", views.acl_delete, name="acl-delete"
    ),
    path("clusters/<uuid:cluster_id>/firewall", views.firewall, name="firewall"),
    path(
        "clusters/<uuid:cluster_id>/firewall/delete", views.firewall_delete, name="firewall-delete"
    ),
]
