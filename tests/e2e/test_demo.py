"""`touchpoints demo` as a user runs it: it prints what it bound, answers /healthz, and touchpoints accumulate."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from processes import server_env, touchpoints_process
from support import wait_until


@pytest.mark.slow
def test_demo_serves_health_and_accumulates_touchpoints(tmp_path: Path):
    env = server_env(
        http_port="0",
        embedded_mqtt_port="0",
        var_dir=str(tmp_path / "var"),
        database_url=f"sqlite:///{tmp_path / 'var' / 'demo.db'}",
    )
    log = tmp_path / "demo.log"
    with touchpoints_process(["demo", "--duration", "20", "--speed", "30", "--attendees", "150"], env, log) as proc:
        assert wait_until(lambda: "health " in log.read_text() or proc.poll() is not None, timeout=60)
        output = log.read_text()
        health_url = re.search(r"health\s+(http://\S+/healthz)", output)
        assert health_url, output
        assert re.search(r"MQTT broker\s+mqtt://127\.0\.0\.1:\d+ \(embedded\)", output)
        base = health_url.group(1).removesuffix("/healthz")
        token = (tmp_path / "var" / "admin-token").read_text().strip()
        auth = {"Authorization": f"Bearer {token}"}

        health = httpx.get(f"{base}/healthz", timeout=5)
        assert health.status_code == 200
        assert health.json()["database"]["ok"] and health.json()["broker"]["ok"]

        def total() -> int:
            return int(httpx.get(f"{base}/api/v1/touchpoints/counts", headers=auth, timeout=5).json()["total"])

        assert wait_until(lambda: total() > 0, timeout=30)
        first = total()
        assert wait_until(lambda: total() > first, timeout=30), "touchpoints stopped accumulating"
        assert proc.wait(timeout=60) == 0
    summary = log.read_text().splitlines()[-1]
    assert re.match(r"stopped\. touchpoints stored: \d+ sighting", summary), summary
