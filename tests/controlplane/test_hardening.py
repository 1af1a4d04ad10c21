"""Control-plane hardening: password guessing locks the username out (even the right password is
refused for a while, with no hint whether the account exists), and every page carries the security
headers and cookie flags."""

from __future__ import annotations

import re
import uuid

import httpx

from tests.support.platform import Platform

LOCKED = "Too many failed sign-ins"


def sign_in(platform: Platform, username: str, password: str) -> httpx.Response:
    with httpx.Client(base_url=platform.url) as client:
        form = client.get("/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)
        return client.post(
            "/login/",
            data={"username": username, "password": password, "csrfmiddlewaretoken": token},
        )


def test_guessing_passwords_locks_the_username(platform: Platform, tenant: dict) -> None:
    for _ in range(5):
        wrong = sign_in(platform, tenant["username"], "not-the-password")
        assert wrong.status_code == 200 and LOCKED not in wrong.text
    # Locked: the right password is refused too, and so is a name that does not exist.
    right = sign_in(platform, tenant["username"], tenant["password"])
    assert right.status_code == 200 and LOCKED in right.text
    nobody = f"nobody-{uuid.uuid4().hex[:6]}"
    for _ in range(5):
        sign_in(platform, nobody, "guess")
    assert LOCKED in sign_in(platform, nobody, "guess").text

    # Another member is not affected by someone else's lock.
    other = f"other-{uuid.uuid4().hex[:6]}"
    platform.tenant(f"org-{other}", other, password="other-password-1", token=None)
    signed_in = sign_in(platform, other, "other-password-1")
    assert signed_in.status_code == 302, signed_in.text[:500]
    cookie = signed_in.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_security_headers(platform: Platform) -> None:
    response = httpx.get(f"{platform.url}/login/")
    headers = response.headers
    assert "script-src 'self'" in headers["content-security-policy"]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"
