from django.urls import path

from provisioning.api import views

urlpatterns = [
    path("operations/<uuid:operation_id>/", views.OperationDetail.as_view(), name="api-operation"),
    path(
        "operations/<uuid:operation_id>/retry/",
        views.OperationRetry.as_view(),
        name="api-operation-retry",
    ),
    path(
        "operations/<uuid:operation_id>/cancel/",
        views.OperationCancel.as_view(),
        name="api-operation-cancel",
    ),
]
