from django.apps import AppConfig


class ClustersConfig(AppConfig):
    name = "clusters"
    verbose_name = "Tenants and clusters"

    def ready(self) -> None:
        from clusters import (
            audit,  # noqa: F401 - records membership changes
            sign_in,  # noqa: F401 - counts failed sign-ins
        )
        from clusters.api import schema  # noqa: F401 - registers the token scheme with the schema
