"""Where nodes come from. Each provider allocates, describes and destroys nodes behind one interface."""

from __future__ import annotations

from provisioning.providers.base import Provider


def get_provider(slug: str) -> Provider:
    if slug == "local":
        from provisioning.providers.local import LocalProvider

        return LocalProvider()
    if slug == "aws":
        from provisioning.providers.aws import AwsProvider

        return AwsProvider()
    raise LookupError(f"no provider named {slug!r}")
