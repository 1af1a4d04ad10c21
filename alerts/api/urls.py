from django.urls import path

from alerts.api import views

urlpatterns = [
    path("clusters/<uuid:cluster_id>/alerts/", views.AlertList.as_view(), name="api-alerts"),
    path(
        "clusters/<uuid:cluster_id>/alert-rules/",
        views.AlertRuleList.as_view(),
        name="api-alert-rules",
    ),
    path(
        "clusters/<uuid:cluster_id>/alert-rules/<int:rule_id>/",
        views.AlertRuleDetail.as_view(),
        name="api-alert-rule",
    ),
    path("clusters/<uuid:cluster_id>/silences/", views.SilenceList.as_view(), name="api-silences"),
    path(
        "clusters/<uuid:cluster_id>/silences/<int:silence_id>/expire/",
        views.SilenceExpire.as_view(),
        name="api-silence-expire",
    ),
    path("alert-channels/", views.ChannelList.as_view(), name="api-alert-channels"),
    path(
        "alert-channels/<int:channel_id>/",
        views.ChannelDetail.as_view(),
        name="api-alert-channel",
    ),
    path(
        "alert-channels/<int:channel_id>/rotate-secret/",
        views.ChannelRotateSecret.as_view(),
        name="api-alert-channel-rotate-secret",
    ),
    path(
        "alert-channels/<int:channel_id>/test/",
        views.ChannelTest.as_view(),
        name="api-alert-channel-test",
    ),
    path(
        "alert-channels/<int:channel_id>/deliveries/",
        views.ChannelDeliveries.as_view(),
        name="api-alert-channel-deliveries",
    ),
]
