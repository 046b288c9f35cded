"""The PWA in headless Chromium (Debian's, through Playwright) against a real server in this process:
sign in with a code read from the test SMTP server, see the agenda, turn on push consent, receive a push
triggered by a simulated zone entry (sightings at a booth -> presence -> rule -> WebSocket), at phone size.

Screenshots go to test-artifacts/pwa/. Without /usr/bin/chromium the test is skipped, unless
TOUCHPOINTS_TEST_BROWSER=1 (CI), where a missing browser fails it.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from app_support import Inbox, free_port, seed_app_venue
from support import ALICE_BEACON, AUTH, T0, RawPublisher, batch, clear_session, sighting

from server.app import create_app
from server.core.config import load_settings
from server.store.db import make_engine, migrate

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "pwa"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]  # fmt: skip
PHONE_WIDTH, PHONE_HEIGHT = 390, 844  # an ordinary phone, in CSS pixels
PUSH_RULE = {
    "id": "hello-booth", "name": "Hello at the booth", "campaign_id": "hello",
    "trigger": {"type": "zone_entered", "zone_ids": ["booth-1"]},
    "actions": [{"type": "push", "title": "Hi {attendee.name}", "body": "Welcome to {exhibitor.name}"}],
}  # fmt: skip


def _need_browser() -> None:
    if Path(CHROMIUM).exists():
        return
    if os.environ.get("TOUCHPOINTS_TEST_BROWSER") == "1":
        pytest.fail(f"TOUCHPOINTS_TEST_BROWSER=1 but {CHROMIUM} is missing (apt-get install chromium)", pytrace=False)
    pytest.skip(f"browser test: {CHROMIUM} is missing (apt-get install chromium; CI sets TOUCHPOINTS_TEST_BROWSER=1)")


class ServerThread:
    def __init__(self, app: object, port: int) -> None:
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))  # type: ignore[arg-type]
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.url = f"http://127.0.0.1:{port}"

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


@pytest.fixture
def served(tmp_path: Path, mqtt_url: str, smtp: Inbox) -> Iterator[tuple[ServerThread, RawPublisher, str]]:
    _need_browser()
    database_url = f"sqlite:///{tmp_path / 'pwa.db'}"
    engine = make_engine(database_url)
    migrate(engine)
    seed_app_venue(engine)
    engine.dispose()
    protocol = {"mqtt_protocol": "5" if os.environ.get("TOUCHPOINTS_TEST_MQTT_URL") else "3.1.1"}
    prefix = f"tpt{uuid.uuid4().hex[:10]}"
    settings = load_settings(
        database_url=database_url, mqtt_url=mqtt_url, mqtt_topic_prefix=prefix, admin_token="test-admin-token",
        mqtt_client_id=f"test-pwa-{uuid.uuid4().hex[:8]}", var_dir=tmp_path / "var", smtp_url=smtp.url,  # type: ignore[attr-defined]
        **protocol,
    )  # fmt: skip
    publisher = RawPublisher(mqtt_url)
    with ServerThread(create_app(settings), free_port()) as server:
        yield server, publisher, prefix
    publisher.close()
    clear_session(mqtt_url, settings.mqtt_client_id)


def test_sign_in_agenda_consent_and_a_live_push_in_a_phone_sized_browser(served: tuple[ServerThread, RawPublisher, str],
                                                                         smtp: Inbox) -> None:  # fmt: skip
    from playwright.sync_api import expect, sync_playwright

    server, publisher, prefix = served
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    created = httpx.post(f"{server.url}/api/v1/rules", headers=AUTH, json=PUSH_RULE, timeout=10)
    assert created.status_code == 201, created.text
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(
            viewport={"width": PHONE_WIDTH, "height": PHONE_HEIGHT},
            device_scale_factor=2,
            is_mobile=True,
            has_touch=True,
        )
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"{server.url}/app/")

        # Sign in with the code from the mail.
        page.fill("#email", "alice@example.com")
        page.click("text=Send me a code")
        expect(page.locator("#redeem")).to_be_visible()
        page.fill("#code", smtp.code_for("alice@example.com"))
        page.screenshot(path=str(ARTIFACTS / "1-sign-in.png"))
        page.click("#redeem button")

        # The agenda, with a bookmark.
        expect(page.locator("h2", has_text="Agenda")).to_be_visible()
        expect(page.locator("[data-session=keynote]")).to_contain_text("Keynote")
        page.click("[data-bookmark=keynote]")
        expect(page.locator("[data-bookmark=keynote]")).to_have_attribute("aria-pressed", "true")
        expect(page.locator("#status")).to_have_text("● live")
        page.screenshot(path=str(ARTIFACTS / "2-agenda.png"))

        # Consent: turn on push (the rule needs it).
        page.click("nav a[data-tab=privacy]")
        push = page.locator("[data-purpose=push]")
        expect(push).not_to_be_checked()
        push.check()
        expect(page.locator("#history")).to_contain_text("push granted (app)")
        expect(page.locator("[data-purpose=push]")).to_be_checked()
        page.screenshot(path=str(ARTIFACTS / "3-consent.png"))

        # A simulated zone entry: booth 1's scanner hears Alice's badge for a minute -> presence -> the rule.
        page.click("nav a[data-tab=inbox]")
        expect(page.locator("h2", has_text="Notifications")).to_be_visible()
        publisher.publish_many(
            (f"{prefix}/v1/demo/booth-1-scanner/sightings",
             batch(i, [sighting(ALICE_BEACON, rssi=-52, at=T0 + 2 * i)], at=T0 + 2 * i).to_json())
            for i in range(30)
        )  # fmt: skip
        note = page.locator("#notes .card", has_text="Hi Alice")
        expect(note).to_be_visible(timeout=45_000)
        expect(note).to_contain_text("Welcome to Acme")
        expect(page.locator("#toast")).to_contain_text("Hi Alice")
        page.screenshot(path=str(ARTIFACTS / "4-live-push.png"))

        # It is in the inbox for good: a reload lists it (from the API), and opening it marks it read.
        page.reload()
        expect(page.locator("#notes .card", has_text="Hi Alice")).to_be_visible()
        page.click("#notes [data-open]")
        expect(page.locator("#notes .card.unread")).to_have_count(0)
        page.click("nav a[data-tab=me]")
        expect(page.locator(".qr svg")).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / "5-badge.png"))

        # The service worker took the shell offline.
        sw_ready = page.evaluate("navigator.serviceWorker.ready.then(r => !!r.active)")
        assert sw_ready is True
        browser.close()
    assert errors == []
