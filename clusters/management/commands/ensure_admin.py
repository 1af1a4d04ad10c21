"""Make sure the quick-start sign-in exists: user `admin`, owner of organisation `default`, also a
Django admin. Its password is generated once, kept in the var directory, and printed."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core.management.base import BaseCommand

from clusters.tenancy import organisation_bootstrap


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--url", default=settings.CONTROLPLANE_URL, help="the console's address"
        )

    def handle(self, *args, **options) -> None:
        path = settings.VAR_DIR / "admin-password"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(12))
            path.chmod(0o600)
        password = path.read_text().strip()
        membership, _token, _secret = organisation_bootstrap(
            organisation="default", username="admin", password=password
        )
        user = membership.user
        if not (user.is_staff and user.is_superuser):
            user.is_staff = user.is_superuser = True
            user.save(update_fields=["is_staff", "is_superuser"])
        self.stdout.write(
            f"\n  Console:  {options['url']}/\n  Sign in:  admin / {password}\n"
            f"  API docs: {options['url']}/api/docs/\n"
        )
