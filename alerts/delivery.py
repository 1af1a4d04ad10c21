"""Sending notifications: signed webhooks and email, one attempt at a time, each recorded.

Webhooks are signed like Stripe's: the header `Streamplane-Signature: t=<unix time>,v1=<hex>`
carries HMAC-SHA256, keyed with the channel's secret, of `<t>.` followed by the raw body. A receiver
recomputes it, compares in constant time and refuses old timestamps (replays)."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from dataclasses import dataclass
from datetime import timedelta

import httpx
from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db.models import F, Q
from django.utils import timezone

from alerts import selectors
from alerts.models import ChannelKind, Delivery, DeliveryAttempt, DeliveryState

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "Streamplane-Signature"
WEBHOOK_TIMEOUT = httpx.Timeout(10.0, connect=3.0)
# After the first attempt fails, the next ones wait this long: about an hour in all, then give up.
RETRY_DELAYS = tuple(timedelta(seconds=s) for s in (10, 30, 120, 600, 2700))
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
# Longer than one attempt can take, so a claim outlives the attempt it covers.
CLAIM = timedelta(seconds=60)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def encode(payload: dict) -> bytes:
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    error: str  # empty when delivered


def send_webhook(url: str, secret: str, payload: dict) -> Outcome:
    body = encode(payload)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Streamplane-Webhooks/1",
        "Streamplane-Event": payload["type"],
        # Receivers deduplicate on this: a retried or redelivered notification keeps its id.
        "Streamplane-Delivery": payload["id"],
        SIGNATURE_HEADER: signature(secret, int(time.time()), body),
    }
    try:
        response = httpx.post(
            url, content=body, headers=headers, timeout=WEBHOOK_TIMEOUT, follow_redirects=False
        )
    except httpx.HTTPError as exc:
        return Outcome(None, f"{type(exc).__name__}: {exc}"[:1000])
    if 200 <= response.status_code < 300:
        return Outcome(response.status_code, "")
    return Outcome(response.status_code, f"HTTP {response.status_code}: {response.text[:300]}")


def send_email(to: list[str], payload: dict) -> Outcome:
    subject, body = email_text(payload)
    message = EmailMessage(
        subject=subject,
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=to,
        connection=get_connection(timeout=settings.EMAIL_TIMEOUT),
        headers={"X-Streamplane-Delivery": payload["id"]},
    )
    try:
        message.send()
    except Exception as exc:  # SMTP, socket and TLS errors all mean the same here: try again
        return Outcome(None, f"{type(exc).__name__}: {exc}"[:1000])
    return Outcome(None, "")


def email_text(payload: dict) -> tuple[str, str]:
    alert = payload["alert"]
    if alert is None:
        about = f" for {payload['cluster']['name']}" if payload["cluster"] else ""
        return (
            f"[Streamplane] Test notification{about}",
            f"This channel receives Streamplane alerts of {payload['organisation']}.\n",
        )
    cluster = payload["cluster"]["name"]
    state = "RESOLVED" if payload["type"] == "alert.resolved" else alert["severity"].upper()
    lines = [
        f"{alert['kind_label']} on {cluster}: {alert['summary']}",
        "",
        f"State:    {'resolved' if state == 'RESOLVED' else 'firing'}",
        f"Severity: {alert['severity']}",
        f"Subject:  {alert['subject_label']}",
        f"Value:    {alert['value']}"
        + (f" (threshold {alert['threshold']})" if alert["threshold"] is not None else ""),
        f"Since:    {alert['fired_at'] or alert['active_since']}",
    ]
    if alert["resolved_at"]:
        lines.append(f"Resolved: {alert['resolved_at']}")
    lines += ["", f"Alerts of {cluster}: {payload['url']}"]
    return f"[{state}] {cluster}: {alert['summary']}", "\n".join(lines) + "\n"


def delivery_attempt(delivery_id: str) -> Delivery | None:
    """Make one attempt at a pending delivery and record it; schedules the next attempt or gives
    up after MAX_ATTEMPTS. Returns None when there was nothing to do (delivered, given up, or
    another worker holds it)."""
    now = timezone.now()
    claimed = (
        Delivery.objects.filter(pk=delivery_id, state=DeliveryState.PENDING)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(claimed_until=now + CLAIM)
    )
    if not claimed:
        return None
    delivery = selectors.delivery_get(delivery_id)
    channel = delivery.channel
    started = time.monotonic()
    if not channel.enabled:
        outcome = Outcome(None, "the channel is disabled")
    elif channel.kind == ChannelKind.WEBHOOK:
        outcome = send_webhook(channel.url, channel.secret(), delivery.payload)
    else:
        outcome = send_email(channel.email_to, delivery.payload)
    number = delivery.attempts + 1
    DeliveryAttempt.objects.create(
        delivery=delivery,
        number=number,
        at=now,
        duration_ms=int((time.monotonic() - started) * 1000),
        status_code=outcome.status_code,
        error=outcome.error,
    )
    finished = timezone.now()
    changes: dict = {"attempts": F("attempts") + 1, "claimed_until": None}
    if not outcome.error:
        changes.update(state=DeliveryState.DELIVERED, delivered_at=finished, last_error="")
    elif number >= MAX_ATTEMPTS or not channel.enabled:
        changes.update(state=DeliveryState.FAILED, last_error=outcome.error)
    else:
        changes.update(
            last_error=outcome.error, next_attempt_at=finished + RETRY_DELAYS[number - 1]
        )
    Delivery.objects.filter(pk=delivery.pk).update(**changes)
    if outcome.error:
        logger.warning(
            "alert notification %s to channel %s (%s), attempt %d: %s",
            delivery.pk,
            channel.pk,
            channel.name,
            number,
            outcome.error,
        )
    delivery.refresh_from_db()
    return delivery
