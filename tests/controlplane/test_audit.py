"""Every security change leaves an entry in the organisation's audit log, naming who made it and
never holding a secret: tokens made and revoked, members added, re-roled and removed (by any path,
Django's admin included), sign-ins locked after repeated failures, provider credentials changed,
alert channels (with their signing secrets) made.

Runs in this process on a migrated PostgreSQL database of its own (`django_db`).
"""

from __future__ import annotations

import uuid

import pytest


@pytest.fixture
def owner(django_db: str) -> dict:
    from clusters.tenancy import organisation_bootstrap

    password = f"pw-{uuid.uuid4().hex}"
    membership, _token, secret = organisation_bootstrap(
        organisation=f"audited-{uuid.uuid4().hex[:8]}",
        username=f"owner-{uuid.uuid4().hex[:8]}",
        password=password,
        token_name="ci",
    )
    return {"membership": membership, "token": secret, "password": password}


def events(owner: dict, action: str) -> list:
    from clusters.models import AuditEvent

    return list(
        AuditEvent.objects.filter(
            organisation=owner["membership"].organisation, action=action
        ).order_by("id")
    )


def api(token: str):
    from django.test import Client

    return Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {token}")


def test_tokens_made_and_revoked_are_audited(owner: dict) -> None:
    client = api(owner["token"])
    made = client.post(
        "/api/v1/tokens/", {"name": "deploy", "read_only": True}, content_type="application/json"
    )
    assert made.status_code == 201, made.content
    token = made.json()
    revoked = client.delete(f"/api/v1/tokens/{token['id']}/")
    assert revoked.status_code == 200, revoked.content

    (created,) = [e for e in events(owner, "token.create") if e.object_id == str(token["id"])]
    (gone,) = events(owner, "token.revoke")
    assert created.actor == gone.actor == f"token:ci ({owner['token'][:9]})"
    assert created.details == {"read_only": True}
    assert gone.object_id == str(token["id"]) and gone.object_name.startswith("deploy")
    assert token["secret"] not in repr(created.details) + created.object_name
    # The log is readable through the API, newest first.
    listed = client.get("/api/v1/audit/").json()["results"]
    assert [e["action"] for e in listed[:2]] == ["token.revoke", "token.create"]


def test_membership_changes_are_audited_whatever_makes_them(owner: dict) -> None:
    from clusters.models import AuditEvent, Membership, Organisation
    from clusters.tenancy import organisation_bootstrap

    organisation = owner["membership"].organisation.name
    username = f"member-{uuid.uuid4().hex[:8]}"
    organisation_bootstrap(
        organisation=organisation, username=username, password=None, role="viewer"
    )
    organisation_bootstrap(
        organisation=organisation, username=username, password=None, role="admin"
    )
    (added,) = [e for e in events(owner, "member.add") if e.object_name == username]
    (promoted,) = events(owner, "member.role_change")
    assert added.actor == promoted.actor == "command-line"
    assert added.details == {"role": "viewer"}
    assert promoted.details == {"before": "viewer", "after": "admin"}

    # Django's admin (or a shell) saves the model directly; that is recorded too.
    membership = Membership.objects.get(user__username=username)
    membership.role = "viewer"
    membership.save()
    unchanged_save = Membership.objects.get(user__username=username)
    unchanged_save.save()  # no change, no entry
    demotions = events(owner, "member.role_change")
    assert len(demotions) == 2
    assert demotions[-1].actor == "system"
    assert demotions[-1].details == {"before": "admin", "after": "viewer"}

    # Moved to another organisation: gone from this one, added to that one.
    elsewhere = Organisation.objects.create(name=f"elsewhere-{uuid.uuid4().hex[:8]}")
    membership.organisation = elsewhere
    membership.save()
    (moved_out,) = events(owner, "member.remove")
    assert moved_out.object_name == username and moved_out.details == {"role": "viewer"}
    (moved_in,) = AuditEvent.objects.filter(organisation=elsewhere, action="member.add")
    assert moved_in.object_name == username

    membership.delete()
    assert AuditEvent.objects.filter(organisation=elsewhere, action="member.remove").count() == 1


def test_a_sign_in_lock_out_is_audited(owner: dict) -> None:
    from django.test import Client

    from clusters.sign_in import MAX_FAILURES_PER_USERNAME

    username = owner["membership"].user.username
    address = f"127.0.77.{uuid.uuid4().int % 250 + 1}"
    browser = Client(HTTP_HOST="127.0.0.1", REMOTE_ADDR=address)
    for attempt in range(MAX_FAILURES_PER_USERNAME):
        refused = browser.post("/login/", {"username": username, "password": f"wrong-{attempt}"})
        assert refused.status_code == 200, refused.status_code
        assert len(events(owner, "sign_in.locked")) == (
            1 if attempt == MAX_FAILURES_PER_USERNAME - 1 else 0
        )
    # Locked: the right password is refused too, and hammering adds no further entry.
    locked = browser.post("/login/", {"username": username, "password": owner["password"]})
    assert locked.status_code == 200 and "Too many failed sign-ins" in locked.content.decode()
    (entry,) = events(owner, "sign_in.locked")
    assert entry.actor == f"address:{address}"
    assert entry.object_name == username and entry.details == {"address": address}
    assert "wrong-" not in repr(entry.details)


def test_provider_credential_changes_are_audited_by_key_only(owner: dict) -> None:
    from clusters.actors import Actor
    from clusters.models import Provider
    from clusters.provider_accounts import provider_credentials_set

    actor = Actor.for_member(owner["membership"])
    provider = Provider.objects.create(slug=f"cloud-{uuid.uuid4().hex[:6]}", name="A cloud")
    first = {"access_key_id": "AKIAFIRST", "secret_access_key": uuid.uuid4().hex}
    provider_credentials_set(actor=actor, provider=provider, credentials=first)
    second = {**first, "secret_access_key": uuid.uuid4().hex}
    provider_credentials_set(actor=actor, provider=provider, credentials=second)
    provider_credentials_set(actor=actor, provider=provider, credentials={})

    entries = events(owner, "provider.credentials_change")
    assert [e.details for e in entries] == [
        {
            "keys": ["access_key_id", "secret_access_key"],
            "changed": ["access_key_id", "secret_access_key"],
        },
        {"keys": ["access_key_id", "secret_access_key"], "changed": ["secret_access_key"]},
        {"keys": [], "changed": ["access_key_id", "secret_access_key"]},
    ]
    assert all(e.actor == f"user:{owner['membership'].user.username}" for e in entries)
    text = repr([(e.details, e.object_name) for e in entries])
    for value in [*first.values(), *second.values()]:
        assert value not in text
    provider.refresh_from_db()
    assert provider.credentials() == {}


def test_an_alert_channels_signing_secret_is_audited_without_its_value(owner: dict) -> None:
    from alerts.models import NotificationChannel

    client = api(owner["token"])
    made = client.post(
        "/api/v1/alert-channels/",
        {"name": "pager", "kind": "webhook", "url": "https://hooks:pw123@example.com/x?key=k456"},
        content_type="application/json",
    )
    assert made.status_code == 201, made.content
    (entry,) = events(owner, "alert_channel.create")
    assert entry.details["url"] == "https://hooks:****@example.com/x?key=****"

    # A new signing secret: shown once, in force at once, audited by prefix only.
    channel = made.json()
    rotated = client.post(f"/api/v1/alert-channels/{channel['id']}/rotate-secret/")
    assert rotated.status_code == 200, rotated.content
    new_secret = rotated.json()["secret"]
    assert new_secret.startswith("whsec_") and new_secret != channel["secret"]
    assert NotificationChannel.objects.get(pk=channel["id"]).secret() == new_secret
    assert "secret" not in client.get(f"/api/v1/alert-channels/{channel['id']}/").json()
    (rotation,) = events(owner, "alert_channel.rotate_secret")
    assert rotation.details == {
        "before_prefix": channel["secret_prefix"],
        "after_prefix": new_secret[:12],
    }
    text = repr([entry.details, rotation.details])
    for secret in (channel["secret"], new_secret, "pw123", "k456"):
        assert secret not in text

    mail = client.post(
        "/api/v1/alert-channels/",
        {"name": "mail", "kind": "email", "email_to": ["ops@example.com"]},
        content_type="application/json",
    ).json()
    refused = client.post(f"/api/v1/alert-channels/{mail['id']}/rotate-secret/")
    assert refused.status_code == 400 and refused.json()["code"] == "invalid"


def test_a_role_changed_in_djangos_admin_is_audited_as_the_admins(owner: dict) -> None:
    from django.test import Client

    from clusters.models import Membership
    from clusters.tenancy import organisation_bootstrap

    organisation = owner["membership"].organisation
    operator = owner["membership"].user
    operator.is_staff = operator.is_superuser = True
    operator.save(update_fields=["is_staff", "is_superuser"])
    member, _token, _secret = organisation_bootstrap(
        organisation=organisation.name,
        username=f"member-{uuid.uuid4().hex[:8]}",
        password=None,
        role="viewer",
    )
    members = list(Membership.objects.filter(organisation=organisation).order_by("pk"))
    form = {"name": organisation.name, "members-TOTAL_FORMS": str(len(members))}
    form.update({"members-INITIAL_FORMS": str(len(members)), "members-MIN_NUM_FORMS": "0"})
    form["members-MAX_NUM_FORMS"] = "1000"
    for index, membership in enumerate(members):
        prefix = f"members-{index}-"
        form[prefix + "id"] = str(membership.pk)
        form[prefix + "organisation"] = str(organisation.pk)
        form[prefix + "user"] = str(membership.user_id)
        form[prefix + "role"] = "admin" if membership.pk == member.pk else membership.role

    browser = Client(HTTP_HOST="127.0.0.1")
    browser.force_login(operator)
    saved = browser.post(f"/admin/clusters/organisation/{organisation.pk}/change/", form)
    assert saved.status_code == 302, saved.content.decode()[:2000]

    member.refresh_from_db()
    assert member.role == "admin"
    (change,) = events(owner, "member.role_change")
    assert change.actor == f"user:{operator.username}"
    assert change.details == {"before": "viewer", "after": "admin"}
