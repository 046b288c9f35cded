"""The dashboard in headless Chromium against a live server fed by the simulator through a real broker.

The server runs in a uvicorn thread (a browser needs a real socket); the simulator publishes a paced,
short morning. The page must draw the venue, show occupancy changing, show a device going offline within
seconds of its retained status saying so, and show an attendee's journey. Screenshots: test-artifacts/.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy import Engine
from support import ADMIN, clear_session

from edge.protocol import MessageKind, Status, topic_for
from server.app import create_app
from server.core.config import load_settings
from server.simulator.run import run_simulation
from server.simulator.scenario import Scenario, build_scenario
from server.simulator.seed import seed_database

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync"]  # fmt: skip
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "dashboard"
SPEED = 40  # paced: the machine's Mosquitto drops beyond 1,000 queued messages per subscriber
SPAN_S = 40 * 60  # doors open, arrivals, the start of the keynote

if not Path(CHROMIUM).exists():
    if os.environ.get("TOUCHPOINTS_TEST_BROWSER") == "1":
        raise RuntimeError(f"TOUCHPOINTS_TEST_BROWSER=1 but {CHROMIUM} is missing")
    pytest.skip(f"browser tests need Debian's chromium at {CHROMIUM} (set TOUCHPOINTS_TEST_BROWSER=1 to require it)",
                allow_module_level=True)  # fmt: skip
playwright = pytest.importorskip("playwright.sync_api")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def live_server(database_url: str, engine: Engine, mqtt_url: str, mqtt_protocol: str, topic_prefix: str,
                tmp_path: Path) -> Iterator[tuple[str, Scenario, str]]:  # fmt: skip
    scenario = build_scenario(seed=7, attendees=30)
    seed_database(engine, scenario)
    settings = load_settings(database_url=database_url, mqtt_url=mqtt_url, mqtt_topic_prefix=topic_prefix,
                             mqtt_protocol=mqtt_protocol, mqtt_client_id=f"dash-{uuid.uuid4().hex[:8]}",
                             admin_token=ADMIN, var_dir=tmp_path)  # fmt: skip
    app = create_app(settings)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    assert app.state.runtime.ingest.wait_connected(10)
    stop = threading.Event()
    paced = {"prefix": topic_prefix, "speed": SPEED, "duration_s": SPAN_S, "stop": stop}
    sim = threading.Thread(target=run_simulation, args=(scenario, mqtt_url), kwargs=paced, daemon=True)
    sim.start()
    try:
        yield f"http://127.0.0.1:{port}", scenario, topic_prefix
    finally:
        stop.set()
        sim.join(30)
        server.should_exit = True
        thread.join(30)
        clear_session(mqtt_url, settings.mqtt_client_id)


@pytest.mark.slow
def test_the_dashboard_shows_the_venue_live(live_server: tuple[str, Scenario, str], mqtt_url: str):
    base, scenario, prefix = live_server
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    zones = scenario.zones
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        page.goto(f"{base}/dashboard/")
        page.fill("#token", ADMIN)
        page.click("#signin-form button")
        page.wait_for_selector("#floor-svg g.zone")
        assert page.locator("#floor-svg g.zone").count() == len(zones)

        def occupancy() -> dict[str, str]:
            script = "gs => Object.fromEntries(gs.map(g => [g.dataset.zone, g.querySelector('.count').textContent]))"
            return page.eval_on_selector_all("#floor-svg g.zone", script)

        page.wait_for_function("document.querySelector('#live-status').dataset.state === 'live'", timeout=15000)
        seen = [occupancy()]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len({tuple(sorted(s.items())) for s in seen}) < 3:
            time.sleep(1)
            seen.append(occupancy())
        assert any(int(v) > 0 for v in seen[-1].values()) or any(int(v) > 0 for s in seen for v in s.values())
        assert len({tuple(sorted(s.items())) for s in seen}) >= 3, "occupancy never changed"
        page.wait_for_timeout(16000)  # a slow refresh: charts and panels fill in
        page.screenshot(path=str(ARTIFACTS / "overview.png"), full_page=True)

        device = page.eval_on_selector("#fleet tbody tr", "r => r.dataset.device")
        from support import RawPublisher

        publisher = RawPublisher(mqtt_url)
        event_id = scenario.event.id
        offline = Status(device_id=device, event_id=event_id, state="offline", at=time.time())
        publisher.publish(topic_for(MessageKind.STATUS, event_id, device, prefix), offline.to_json(), retain=True)
        publisher.close()
        started = time.monotonic()
        page.wait_for_selector(f"#fleet tr[data-device='{device}'] .pill.offline", timeout=10000)
        assert time.monotonic() - started < 10
        assert page.locator("#alerts li", has_text="went offline").count() >= 1
        page.locator("#panel-fleet").screenshot(path=str(ARTIFACTS / "fleet.png"))

        page.wait_for_selector("#top-attendees li button", timeout=20000)
        page.click("#top-attendees li button")
        page.wait_for_selector("#journey .timeline li")
        assert page.locator("#journey .timeline li").count() >= 2
        page.locator("#panel-explorer").screenshot(path=str(ARTIFACTS / "explorer.png"))
        browser.close()
