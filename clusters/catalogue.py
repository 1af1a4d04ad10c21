"""The starting catalogue: the local provider with sizes for development machines."""

from __future__ import annotations

from decimal import Decimal
from importlib.metadata import version

LOCAL_SIZES = [
    ("dev-small", 1, 1, 10, Decimal("0.0000")),
    ("dev-medium", 2, 4, 50, Decimal("0.0000")),
    ("dev-large", 4, 8, 100, Decimal("0.0000")),
]


def seed_catalogue(apps=None) -> None:
    """Idempotent: adds what is missing, changes nothing an operator edited."""
    if apps is None:
        from django.apps import apps as django_apps

        apps = django_apps
    provider_model = apps.get_model("clusters", "Provider")
    region_model = apps.get_model("clusters", "Region")
    size_model = apps.get_model("clusters", "NodeSize")
    version_model = apps.get_model("clusters", "DataplaneVersion")
    local, _ = provider_model.objects.get_or_create(slug="local", defaults={"name": "This machine"})
    region_model.objects.get_or_create(provider=local, slug="local", defaults={"name": "Local"})
    for slug, vcpus, memory, disk, price in LOCAL_SIZES:
        size_model.objects.get_or_create(
            provider=local,
            slug=slug,
            defaults={
                "vcpus": vcpus,
                "memory_gib": memory,
                "disk_gib": disk,
                "hourly_price": price,
            },
        )
    version_model.objects.get_or_create(
        version=version("streamplane"),
        defaults={"is_default": not version_model.objects.filter(is_default=True).exists()},
    )
