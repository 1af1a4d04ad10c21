"""Set a provider account's credentials from a JSON object on standard input (never the command
line, which other users of the machine can read), e.g.
`manage.py set_provider_credentials aws --by admin < aws.json`."""

from __future__ import annotations

import json
import sys

from django.core.management.base import BaseCommand, CommandError

from clusters.actors import Actor
from clusters.errors import InvalidInput
from clusters.models import Membership, Provider
from clusters.provider_accounts import provider_credentials_set


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser) -> None:
        parser.add_argument("provider", help="the provider's slug, e.g. aws")
        parser.add_argument(
            "--by", required=True, help="the member making the change (owner or admin)"
        )

    def handle(self, *args, **options) -> None:
        provider = Provider.objects.filter(slug=options["provider"]).first()
        if provider is None:
            raise CommandError(f"No provider {options['provider']!r}.")
        membership = (
            Membership.objects.select_related("organisation", "user")
            .filter(user__username=options["by"])
            .first()
        )
        if membership is None or not membership.user.is_staff:
            raise CommandError(f"{options['by']!r} is not a staff member of an organisation.")
        try:
            credentials = json.loads(sys.stdin.read())
        except json.JSONDecodeError as exc:
            raise CommandError(f"Standard input is not JSON: {exc.msg}") from None
        if not isinstance(credentials, dict):
            raise CommandError("Standard input must be a JSON object of names and values.")
        try:
            provider_credentials_set(
                actor=Actor.for_member(membership), provider=provider, credentials=credentials
            )
        except InvalidInput as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(f"Credentials of {provider.slug} set: {', '.join(sorted(credentials))}\n")
