"""The starting catalogue: the local provider with sizes for development machines, and the AWS
provider (disabled until an operator gives it credentials and an image) with m5 sizes."""

from __future__ import annotations

import copy
from decimal import Decimal
from importlib.metadata import version

LOCAL_SIZES = [
    ("dev-small", 1, 1, 10, Decimal("0.0000")),
    ("dev-medium", 2, 4, 50, Decimal("0.0000")),
    ("dev-large", 4, 8, 100, Decimal("0.0000")),
]

AWS_PROVIDER = {
    "name": "Amazon Web Services",
    # Needs credentials (access_key_id, secret_access_key) and an image_id before it can be used.
    "enabled": False,
    "config": {"ssh_user": "admin", "admin_cidrs": [], "public_network": True},
    # gp3 is $0.08 per GiB-month in us-east-1; a month is 730 hours.
    "storage_gib_hourly_price": Decimal("0.000110"),
}
AWS_REGIONS = [
    ("us-east-1", "US East (N. Virginia)"),
    ("eu-west-1", "Europe (Ireland)"),
]
# (slug, vCPUs, memory GiB, included disk GiB, price per hour, instance type): the instance's
# on-demand price plus its included gp3 disk and the service's margin, as managed Kafka offerings do.
AWS_SIZES = [
    ("kafka-m5-large", 2, 8, 100, Decimal("0.2100"), "m5.large"),
    ("kafka-m5-xlarge", 4, 16, 200, Decimal("0.4200"), "m5.xlarge"),
    ("kafka-m5-2xlarge", 8, 32, 400, Decimal("0.8400"), "m5.2xlarge"),
]


def _models(apps):
    if apps is None:
        from django.apps import apps as django_apps

        apps = django_apps
    return apps


def seed_catalogue(apps=None) -> None:
    """Idempotent: adds what is missing, changes nothing an operator edited."""
    apps = _models(apps)
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


def seed_aws(apps=None) -> None:
    """The AWS provider, its regions and sizes. Idempotent like seed_catalogue; kept apart from it
    because the models it fills got their AWS fields in a later migration than the first seed."""
    apps = _models(apps)
    provider_model = apps.get_model("clusters", "Provider")
    region_model = apps.get_model("clusters", "Region")
    size_model = apps.get_model("clusters", "NodeSize")
    aws, _ = provider_model.objects.get_or_create(slug="aws", defaults=copy.deepcopy(AWS_PROVIDER))
    for slug, name in AWS_REGIONS:
        region_model.objects.get_or_create(provider=aws, slug=slug, defaults={"name": name})
    for slug, vcpus, memory, disk, price, instance_type in AWS_SIZES:
        size_model.objects.get_or_create(
            provider=aws,
            slug=slug,
            defaults={
                "vcpus": vcpus,
                "memory_gib": memory,
                "disk_gib": disk,
                "hourly_price": price,
                "instance_type": instance_type,
            },
        )
