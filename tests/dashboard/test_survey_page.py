"""The survey walk page in headless Chromium, at phone size: sign in, start a walk with the reference badge,
Start here / Done through every zone and two aisle spots, Finish & fit; the result shows each scanner's status
and the problems, and the live dashboard then shows the calibration and the unsure zones.

The server's clock is driven by the test (the legs are stamped with it), and the reference badge's sightings
were stored beforehand as ingest stores them, so the real fit runs on them. Screenshots: test-artifacts/.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy import Engine, update
from sqlmodel import Session
from support import ADMIN
from survey_support import ZONES, seed_hall, store_walk, walk_legs

from server.api.routes.calibration import get_clock
from server.app import create_app
from server.core.config import load_settings
from server.store.models import Device

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync"]  # fmt: skip
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "dashboard"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1440, "height": 900}

if not Path(CHROMIUM).exists():
    if os.environ.get("TOUCHPOINTS_TEST_BROWSER") == "1":
        raise RuntimeError(f"TOUCHPOINTS_TEST_BROWSER=1 but {CHROMIUM} is missing")
    pytest.skip(f"browser tests need Debian's chromium at {CHROMIUM} (set TOUCHPOINTS_TEST_BROWSER=1 to require it)",
                allow_module_level=True)  # fmt: skip
playwright = pytest.importorskip("playwright.sync_api")


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def survey_server(database_url: str, engine: Engine, tmp_path: Path) -> Iterator[tuple[str, Clock]]:
    seed_hall(engine, staff_badge=True)
    store_walk(
        engine, walk_legs(), seed=3, silent=frozenset({"pole"}), attendee_id="surveyor", wander=True
    )  # the pole is dead
    with Session(engine) as session:  # the lounge's scanner went offline: presence there is unsure
        session.exec(update(Device).where(Device.id == "s-lounge").values(state="offline"))  # type: ignore[call-overload]
        session.commit()
    settings = load_settings(database_url=database_url, ingest_enabled=False, admin_token=ADMIN, var_dir=tmp_path)
    app = create_app(settings)
    clock = Clock(walk_legs()[0]["started_at"] - 20)  # type: ignore[operator]
    app.dependency_overrides[get_clock] = lambda: clock
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    try:
        yield f"http://127.0.0.1:{port}", clock
    finally:
        server.should_exit = True
        thread.join(30)


def test_staff_walk_the_venue_from_a_phone_and_fit(survey_server: tuple[str, Clock]):
    base, clock = survey_server
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
        page = context.new_page()
        page.goto(f"{base}/dashboard/calibration.html")
        page.fill("#token", ADMIN)
        page.click("#signin-form button")
        page.wait_for_selector("#current-status .pill.sign-uncalibrated")
        page.screenshot(path=str(ARTIFACTS / "survey-start-390.png"))
        page.fill("#badge", "surveyor")
        page.click("#start-button")
        page.wait_for_selector("#zones li.zone-row")
        assert page.locator("#zones li.zone-row").count() == len(ZONES) + 1  # every zone and "Aisle spot"

        for n, leg in enumerate(walk_legs()):
            clock.now = leg["started_at"]  # type: ignore[assignment]
            row = f"#zones li[data-zone='{leg['zone_id'] or ''}']"
            page.click(f"{row} button")
            page.wait_for_selector(f"{row}.here")
            assert page.locator("#here").is_visible()
            if n == 2:
                page.wait_for_selector("#heard[data-state='ok']")  # the badge is heard at this stop
                page.screenshot(path=str(ARTIFACTS / "survey-walking-390.png"))
            clock.now = leg["ended_at"]  # type: ignore[assignment]
            page.click("#done-button")
            page.wait_for_selector("#here", state="hidden")
            if leg["zone_id"] is not None:
                page.wait_for_selector(f"{row}.done")
        assert "4 of 4 zones done" in page.inner_text("#walk-summary")

        clock.now += 5
        page.click("#fit-button")
        page.wait_for_selector("#result-banner.ok")
        assert "The new calibration is in force." in page.inner_text("#result-banner")
        statuses = page.eval_on_selector_all(
            "#result-scanners tbody tr",
            "rows => Object.fromEntries(rows.map(r => [r.dataset.scanner, r.querySelector('.pill').textContent]))",
        )
        assert statuses == {"pole": "dead", "s-booth-1": "calibrated", "s-booth-2": "calibrated",
                            "s-entrance": "calibrated", "s-lounge": "calibrated"}  # fmt: skip
        assert "pole" in page.inner_text("#result-problems")
        page.screenshot(path=str(ARTIFACTS / "survey-result-390.png"), full_page=True)

        desk = browser.new_context(viewport=DESKTOP).new_page()
        errors: list[str] = []
        desk.on("pageerror", lambda error: errors.append(str(error)))
        desk.goto(f"{base}/dashboard/calibration.html")
        desk.fill("#token", ADMIN)
        desk.click("#signin-form button")
        desk.wait_for_selector("#current-status .pill.sign-calibrated")
        desk.screenshot(path=str(ARTIFACTS / "survey-start-1440.png"))
        desk.goto(f"{base}/dashboard/")
        desk.wait_for_selector("#calib-banner.warn")  # calibrated, but one scanner dead
        assert "Calibrated" in desk.inner_text("#calib-banner")
        desk.wait_for_selector("#unsure-zones li[data-zone='lounge']")
        assert "offline" in desk.inner_text("#unsure-zones li[data-zone='lounge']")
        desk.wait_for_selector("#floor-svg g.zone.unsure[data-zone='lounge']")
        desk.screenshot(path=str(ARTIFACTS / "confidence-1440.png"))
        desk.locator("#panel-confidence").screenshot(path=str(ARTIFACTS / "confidence-panel.png"))
        assert errors == []
        page.goto(f"{base}/dashboard/")  # the same tab: still signed in
        page.wait_for_selector("#calib-banner.warn")
        page.locator("#panel-confidence").scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "confidence-390.png"))
        browser.close()
