"""DRF authentication by API token (`Authorization: Bearer sp_...`)."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from rest_framework import authentication, exceptions

from clusters.tokens import api_token_authenticate


class ApiTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode(errors="replace")
        if not header:
            return None
        keyword, _, secret = header.partition(" ")
        if keyword != self.keyword:
            return None
        if not secret.startswith("sp_"):
            return None  # not ours (e.g. a node credential); other authenticators may take it
        token = api_token_authenticate(secret.strip())
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid, expired or revoked token.")
        return (token.created_by or AnonymousUser(), token)

    def authenticate_header(self, request) -> str:
        return self.keyword
