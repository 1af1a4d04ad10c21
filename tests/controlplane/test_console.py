"""End to end through the console in headless Chromium: sign in, create a cluster from the form,
watch it come up without reloading the page, add a topic, and delete the cluster again."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.support.platform import ROOT, Platform, wait_gone

ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = "/usr/bin/chromium"
# Milliseconds, as Playwright counts; a cluster on a busy two-core machine can take minutes.
CREATE_TIMEOUT_MS = 240_000
DELETE_TIMEOUT_MS = 120_000
PAGE_TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's chromium driven by Playwright; no browser is ever downloaded."""
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser, platform: Platform) -> Iterator[Page]:
    context = browser.new_context(base_url=platform.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    opened = context.new_page()
    # Everything the console runs must pass its Content-Security-Policy.
    violations: list[str] = []
    opened.on(
        "console",
        lambda message: (
            "Content Security Policy" in message.text and violations.append(message.text)
        ),
    )
    yield opened
    context.close()
    assert not violations, violations


def sign_in(page: Page, username: str, password: str) -> None:
    page.goto("/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("form button[type=submit]")
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_test_id("username")).to_have_text(username)


def test_api_docs_run_under_the_content_security_policy(tenant: dict, page: Page) -> None:
    sign_in(page, tenant["username"], tenant["password"])
    page.goto("/api/docs/")
    expect(page.locator(".swagger-ui .opblock").first).to_be_visible()


def cluster_dir(platform: Platform, cluster_id: str) -> Path:
    rows = platform.sql("SELECT provider_ref FROM clusters_node WHERE cluster_id = %s", cluster_id)
    assert rows and rows[0][0], f"cluster {cluster_id} has no provisioned node"
    return Path(rows[0][0]).parent


@pytest.mark.timeout(900)
def test_create_watch_use_and_delete_a_cluster_in_the_console(
    platform: Platform, tenant: dict, page: Page
) -> None:
    name = "console-demo"
    sign_in(page, tenant["username"], tenant["password"])

    page.goto("/clusters/new")
    form = page.locator("form#create-cluster")
    form.locator("input[name=name]").fill(name)
    form.locator("select[name=region]").select_option("local/local")
    form.locator("select[name=node_size]").select_option("local/dev-small")
    form.locator("input[name=broker_count]").fill("1")
    form.locator("select[name=zookeeper_count]").select_option("1")
    form.locator("input[name=default_replication_factor]").fill("1")
    expect(page.locator("#price-estimate")).to_have_text(re.compile(r"^\$[0-9.]+/h"))
    form.locator("button[type=submit]").click()

    expect(page).to_have_url(re.compile(r"/clusters/[0-9a-f-]{36}/$"))
    cluster_id = re.search(r"/clusters/([0-9a-f-]{36})/", page.url).group(1)
    badge = page.get_by_test_id("cluster-status")
    expect(badge).to_have_text("creating")
    expect(page.locator("body")).to_have_attribute("data-live", "connected")

    # Proof that nothing reloads the page while the status changes: a reload or navigation would
    # wipe the marker from `window` and fire framenavigated on the main frame.
    navigations: list[str] = []
    page.on(
        "framenavigated", lambda frame: frame == page.main_frame and navigations.append(frame.url)
    )
    page.evaluate("window.__sameDocument = 'still here'")

    try:
        expect(badge).to_have_text("running", timeout=CREATE_TIMEOUT_MS)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{platform.describe_failure()}") from None
    assert page.evaluate("window.__sameDocument") == "still here"
    assert navigations == []
    expect(page.locator("[data-testid=operation-state]").first).to_have_text("succeeded")
    expect(page.get_by_test_id("bootstrap")).to_have_text(re.compile(r"^127\.[0-9.]+:\d+$"))
    expect(page.get_by_test_id("brokers-up")).to_have_text("1/1", timeout=PAGE_TIMEOUT_MS)

    topic_form = page.locator("form#topic-create")
    topic_form.locator("input[name=name]").fill("payments")
    topic_form.locator("input[name=partitions]").fill("4")
    topic_form.locator("button[type=submit]").click()
    expect(page.locator(".messages")).to_contain_text("Topic payments created.")
    row = page.locator("#topic-list tr[data-topic=payments]")
    expect(row.locator("td").nth(1)).to_have_text("4")
    expect(row.locator("td").nth(2)).to_have_text("1")

    # Change a topic setting from its row, then reset it.
    configure = row.locator("form.topic-configure")
    configure.locator("input[name=key]").fill("retention.ms")
    configure.locator("input[name=value]").fill("7200000")
    configure.locator("button[type=submit]").click()
    expect(page.locator(".messages")).to_contain_text("payments: retention.ms set to 7200000.")
    expect(row.locator("td").nth(3)).to_contain_text("retention.ms=7200000")
    topic = platform.api(tenant["token"]).get(f"/clusters/{cluster_id}/topics/payments/").json()
    assert topic["configs"]["retention.ms"] == "7200000"
    configure = row.locator("form.topic-configure")
    configure.locator("input[name=key]").fill("retention.ms")
    configure.locator("button[type=submit]").click()
    expect(page.locator(".messages")).to_contain_text("payments: retention.ms reset")
    expect(row.locator("td").nth(3)).not_to_contain_text("retention.ms=")

    # Live charts: the broker's reports reach them without a reload. Broker 0 leads the four
    # partitions of "payments", and the partitions-led chart comes to show it.
    page.evaluate("window.__chartsPage = 'still here'")
    led = "window.streamplaneCharts.partitions_led?.data.datasets[0]?.data || []"
    page.wait_for_function(f"() => ({led}).length >= 1", timeout=PAGE_TIMEOUT_MS)
    page.wait_for_function(f"() => ({led}).at(-1).y >= 4", timeout=PAGE_TIMEOUT_MS)
    drawn = page.evaluate(f"({led}).length")
    page.wait_for_function(f"() => ({led}).length > {drawn}", timeout=PAGE_TIMEOUT_MS)
    assert page.evaluate("window.__chartsPage") == "still here"
    labels = page.evaluate(
        "window.streamplaneCharts.all_topics_bytes_in_per_s.data.datasets.map((d) => d.label)"
    )
    assert labels == ["broker 0"]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.locator("#metrics").screenshot(path=str(ARTIFACTS / "console-charts.png"))

    # New clusters are SASL_SSL: the connection panel shows how to connect and serves the CA.
    page.reload()
    connection = page.locator("#connection")
    expect(connection).to_contain_text("SASL_SSL")
    expect(connection).to_contain_text("SCRAM-SHA-512")
    expect(connection.locator("[data-snippet=kcat]")).to_contain_text("security.protocol=SASL_SSL")
    ca = page.request.get(connection.locator("#ca-download").get_attribute("href"))
    assert ca.ok and ca.text().startswith("-----BEGIN CERTIFICATE-----")
    assert "PRIVATE" not in ca.text()

    # Each change form previews its plan without changing anything.
    def preview(form_id: str, field: str, value: str, *expected: str) -> None:
        form = page.locator(f"form#{form_id}")
        form.evaluate("form => { form.noValidate = true; }")  # the server checks too
        control = form.locator(f"[name={field}]")
        if control.evaluate("element => element.tagName") == "SELECT":
            control.select_option(value)
        else:
            control.fill(value)
        form.locator("button[value=preview]").click()
        for text in expected:
            expect(page.locator("#change-plan, .messages").first).to_contain_text(text)

    preview("resize-cluster", "node_size", "dev-medium", "Resize broker 0", "Record the new size")
    preview(
        "scale-cluster",
        "broker_count",
        "3",
        "new brokers 1, 2",
        "Reassign partitions onto every broker",
        "replication throttled to 50.0",
    )
    preview(
        "storage-cluster",
        "storage_gib",
        "25",
        "storage 10 → 25 GiB per broker",
        "Expand storage of broker 0",
    )
    preview("storage-cluster", "storage_gib", "5", "Storage can only grow")
    operations = platform.api(tenant["token"]).get(f"/clusters/{cluster_id}/operations/").json()
    assert operations["count"] == 1, "a preview starts nothing"

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    screenshot = ARTIFACTS / "console-cluster-running.png"
    page.screenshot(path=str(screenshot), full_page=True)
    assert screenshot.stat().st_size > 0

    nodes_dir = cluster_dir(platform, cluster_id)
    delete_form = page.locator("form#delete-cluster")
    delete_form.locator("input[name=confirm_name]").fill(name)
    delete_form.locator("button[type=submit]").click()
    expect(page.locator(".messages")).to_contain_text(f"Deleting {name}.")
    expect(badge).to_have_text("deleted", timeout=DELETE_TIMEOUT_MS)
    page.screenshot(path=str(ARTIFACTS / "console-cluster-deleted.png"), full_page=True)

    api = platform.api(tenant["token"])
    history = api.get(f"/clusters/{cluster_id}/operations/").json()["results"]
    assert [(o["kind"], o["requested_by"]) for o in history] == [
        ("delete", f"user:{tenant['username']}"),
        ("create", f"user:{tenant['username']}"),
    ]
    deleted = platform.wait_operation(api, history[0]["id"])
    assert deleted["state"] == "succeeded", (deleted, platform.describe_failure())
    assert api.get(f"/clusters/{cluster_id}/").json()["status"] == "deleted"
    wait_gone(nodes_dir, 30)

    page.goto("/")
    expect(page.locator(f"#cluster-rows tr[data-cluster='{cluster_id}']")).to_have_count(0)
