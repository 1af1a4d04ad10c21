"""A cluster's Kafka users, ACLs and firewall in the console, in headless Chromium: the password
of a new user is shown once, a preset adds a producer's ACLs (read back from the cluster), a
firewall rule is listed with its description."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import Page, expect

from tests.controlplane.conftest import cluster_payload
from tests.controlplane.test_console import browser, page, sign_in  # noqa: F401 - fixtures
from tests.support.platform import Platform


@pytest.mark.timeout(900)
def test_users_acls_and_firewall_in_the_console(
    platform: Platform,
    tenant: dict[str, str],
    page: Page,  # noqa: F811 - the fixture imported above
) -> None:
    api = platform.api(tenant["token"])
    name = f"console-acc-{uuid.uuid4().hex[:4]}"
    created = api.post("/clusters/", json=cluster_payload(name, security_protocol="SASL_SSL"))
    assert created.status_code == 202, created.text
    cluster_id = created.json()["cluster"]["id"]
    try:
        built = platform.wait_operation(api, created.json()["operation"]["id"], timeout=300)
        assert built["state"] == "succeeded", platform.describe_failure()
        sign_in(page, tenant["username"], tenant["password"])
        page.goto(f"/clusters/{cluster_id}/")
        page.locator("nav.subnav").get_by_role("link", name="Kafka users").click()

        # A new user: its password is on this page only.
        form = page.locator("form#kafka-user-form")
        form.locator("input[name=name]").fill("shop")
        form.locator("button[type=submit]").click()
        expect(page.get_by_test_id("password-user")).to_have_text("shop")
        password = page.get_by_test_id("kafka-user-password").inner_text().strip()
        assert len(password) >= 32
        expect(page.locator("tr[data-kafka-user=shop]")).to_contain_text("SCRAM-SHA-512")
        page.reload()
        expect(page.locator("tr[data-kafka-user=shop]")).to_be_visible()
        expect(page.get_by_test_id("kafka-user-password")).to_have_count(0)
        assert password not in page.content()

        # Rotation shows the new password, once.
        page.locator("tr[data-kafka-user=shop]").get_by_role(
            "button", name="Rotate password"
        ).click()
        rotated = page.get_by_test_id("kafka-user-password").inner_text().strip()
        assert len(rotated) >= 32 and rotated != password

        # A producer preset: the ACLs listed are what the cluster answers.
        page.locator("nav.subnav").get_by_role("link", name="ACLs").click()
        presets = page.locator("#acl-presets form")
        presets.locator("select[name=preset]").select_option("producer")
        presets.locator("select[name=principal]").select_option("User:shop")
        presets.locator("input[name=topic_prefix]").fill("orders-")
        presets.locator("button[type=submit]").click()
        for operation in ("Write", "Describe", "Create"):
            expect(
                page.locator(f'tr[data-acl="User:shop topic prefixed orders- {operation} Allow"]')
            ).to_be_visible()
        page.locator('tr[data-acl="User:shop topic prefixed orders- Create Allow"]').get_by_role(
            "button", name="Remove"
        ).click()
        expect(
            page.locator('tr[data-acl="User:shop topic prefixed orders- Create Allow"]')
        ).to_have_count(0)
        expect(
            page.locator('tr[data-acl="User:shop topic prefixed orders- Write Allow"]')
        ).to_be_visible()

        # A firewall rule that keeps every address allowed, with its reason.
        page.locator("nav.subnav").get_by_role("link", name="Firewall").click()
        rules = page.locator("form#firewall-form")
        rules.locator("input[name=cidr]").fill("0.0.0.0/0")
        rules.locator("input[name=description]").fill("any IPv4 client")
        rules.locator("button[type=submit]").click()
        expect(page.locator('tr[data-cidr="0.0.0.0/0"]')).to_contain_text("any IPv4 client")
        # A network with host bits is refused with a reason, and nothing is added.
        rules.locator("input[name=cidr]").fill("10.0.0.1/8")
        rules.locator("button[type=submit]").click()
        expect(page.locator("body")).to_contain_text("not a network in CIDR notation")
        expect(page.locator("tr[data-cidr]")).to_have_count(1)

        audit = api.get("/audit/").json()["results"]
        actions = {e["action"] for e in audit if e["object_id"] == cluster_id}
        assert {"kafka_user.create", "kafka_user.rotate", "acl.create", "acl.delete"} <= actions
        assert "firewall.allow" in actions
    finally:
        deleted = api.delete(f"/clusters/{cluster_id}/", params={"confirm_name": name})
        assert deleted.status_code == 202, deleted.text
        platform.wait_operation(api, deleted.json()["id"])
