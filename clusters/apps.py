from django.apps import AppConfig


class ClustersConfig(AppConfig):
    name = "clusters"
    verbose_name = "Tenants and clusters"

    def ready(self) -> None:
        from clusters.api import schema  # noqa: F401 - registers the token scheme with the schema
