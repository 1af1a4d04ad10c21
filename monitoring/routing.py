from django.urls import path

from monitoring.consumers import ClusterConsumer, ClusterListConsumer

websocket_urlpatterns = [
    path("ws/clusters/", ClusterListConsumer.as_asgi()),
    path("ws/clusters/<uuid:cluster_id>/", ClusterConsumer.as_asgi()),
]
