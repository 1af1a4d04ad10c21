"""Sign-in guarded against password guessing: failures are counted per username and per client
address in the shared cache; past a limit, that username (or address) is refused for a while, even
with the right password, and the answer does not say whether the account exists."""

from __future__ import annotations

import hashlib
import logging

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.cache import cache
from django.dispatch import receiver
from django.http import HttpRequest

from clusters.audit import audit_sign_in_locked

log = logging.getLogger(__name__)

WINDOW_S = 15 * 60  # failures count for this long, and a lock-out lasts as long
MAX_FAILURES_PER_USERNAME = 5
MAX_FAILURES_PER_ADDRESS = 50
LOCKED_MESSAGE = "Too many failed sign-ins. Try again in 15 minutes."


def client_address(request: HttpRequest | None) -> str:
    return request.META.get("REMOTE_ADDR", "") if request is not None else ""


def _key(kind: str, value: str) -> str:
    digest = hashlib.sha256(value.strip().lower().encode()).hexdigest()[:32]
    return f"sign-in-failures:{kind}:{digest}"


def is_locked(username: str, address: str) -> bool:
    counts = cache.get_many([_key("user", username), _key("address", address)])
    return (
        counts.get(_key("user", username), 0) >= MAX_FAILURES_PER_USERNAME
        or counts.get(_key("address", address), 0) >= MAX_FAILURES_PER_ADDRESS
    )


def record_failure(username: str, address: str) -> None:
    limits = {
        _key("user", username): MAX_FAILURES_PER_USERNAME,
        _key("address", address): MAX_FAILURES_PER_ADDRESS,
    }
    locked_now = False
    for key, limit in limits.items():
        # add() starts the window once; incr() keeps its expiry.
        cache.add(key, 0, WINDOW_S)
        locked_now |= cache.incr(key) == limit
    if locked_now:
        log.warning("sign-in locked after repeated failures", extra={"address": address})
        audit_sign_in_locked(username=username, address=address)


def clear_failures(username: str) -> None:
    cache.delete(_key("user", username))


@receiver(user_login_failed)
def _on_failure(sender, credentials: dict, request: HttpRequest | None = None, **kwargs) -> None:
    record_failure(credentials.get("username", ""), client_address(request))


@receiver(user_logged_in)
def _on_success(sender, request: HttpRequest, user, **kwargs) -> None:
    clear_failures(user.get_username())


class GuardedAuthenticationForm(AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "locked": LOCKED_MESSAGE,
    }

    def clean(self) -> dict:
        username = self.cleaned_data.get("username") or ""
        if is_locked(username, client_address(self.request)):
            # Counted too, so hammering a locked account keeps it locked.
            record_failure(username, client_address(self.request))
            raise forms.ValidationError(self.error_messages["locked"], code="locked")
        return super().clean()
