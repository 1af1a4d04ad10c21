from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from clusters.sign_in import GuardedAuthenticationForm
from monitoring.api.prometheus import ClusterPrometheus, controlplane_metrics

urlpatterns = [
    path("admin/", admin.site.urls),
    path(
        "login/",
        auth_views.LoginView.as_view(authentication_form=GuardedAuthenticationForm),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's start-up script as a file, so the page needs no inline script.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/v1/", include("clusters.api.urls")),
    path("api/v1/", include("provisioning.api.urls")),
    path("api/v1/", include("monitoring.api.urls")),
    path("api/v1/", include("alerts.api.urls")),
    path("api/v1/", include("access.api.urls")),
    path(
        "api/v1/clusters/<uuid:cluster_id>/prometheus",
        ClusterPrometheus.as_view(),
        name="api-cluster-prometheus",
    ),
    path("metrics", controlplane_metrics, name="controlplane-metrics"),
    path("", include("monitoring.console.urls")),
    path("", include("alerts.console.urls")),
    path("", include("access.console.urls")),
    path("", include("clusters.console.urls")),
]
