"""OpenAPI description of the API token scheme (drf-spectacular discovers it on import)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "clusters.authentication.ApiTokenAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API token (sp_...) from the console's API tokens page or `manage.py create_tenant --token`.",
        }
