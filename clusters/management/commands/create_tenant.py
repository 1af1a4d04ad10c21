"""Create (or reuse) an organisation, a member and optionally an API token, for scripting."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from clusters.models import Role
from clusters.tenancy import organisation_bootstrap


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser) -> None:
        parser.add_argument("--organisation", required=True)
        parser.add_argument("--username", required=True)
        parser.add_argument("--password", help="for console sign-in; omit for token-only users")
        parser.add_argument("--role", choices=[r.value for r in Role], default=Role.OWNER)
        parser.add_argument(
            "--token", metavar="NAME", help="also create an API token with this name"
        )
        parser.add_argument("--read-only", action="store_true", help="the token may only read")
        parser.add_argument("--json", action="store_true", help="print the result as JSON")

    def handle(self, *args, **options) -> None:
        try:
            membership, _token, secret = organisation_bootstrap(
                organisation=options["organisation"],
                username=options["username"],
                password=options["password"],
                role=options["role"],
                token_name=options["token"],
                read_only_token=options["read_only"],
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        result = {
            "organisation": membership.organisation.name,
            "username": membership.user.get_username(),
            "role": membership.role,
            "token": secret,
        }
        if options["json"]:
            self.stdout.write(json.dumps(result))
            return
        self.stdout.write(
            f"organisation {result['organisation']}: {result['username']} ({result['role']})"
        )
        if secret:
            self.stdout.write(f"API token (shown once): {secret}")
