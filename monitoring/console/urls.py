from django.urls import path

from monitoring.console import views

app_name = "monitoring"
# A group id may hold any character, "/" included: the group routes end in a fixed suffix so that
# no group id can make them ambiguous.
urlpatterns = [
    path("clusters/<uuid:cluster_id>/groups", views.cluster_groups, name="cluster-groups"),
    path(
        "clusters/<uuid:cluster_id>/groups/live",
        views.cluster_groups_live,
        name="cluster-groups-live",
    ),
    path(
        "clusters/<uuid:cluster_id>/groups/<path:group>/live",
        views.cluster_group_live,
        name="cluster-group-live",
    ),
    path(
        "clusters/<uuid:cluster_id>/groups/<path:group>/",
        views.cluster_group,
        name="cluster-group",
    ),
]
