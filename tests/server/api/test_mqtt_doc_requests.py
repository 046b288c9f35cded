"""The HTTP requests docs/mqtt.md section 10 shows an integrator, sent as written: they work as it says.

An outside team building from the docs alone found no request bodies for the event and zones a device
needs before enrolment; now the page gives them, and this test keeps them true.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from fastapi.testclient import TestClient
from support import AUTH

DOC = (Path(__file__).resolve().parents[3] / "docs" / "mqtt.md").read_text(encoding="utf-8")
# A fenced ```http block: request line, headers, blank line, JSON body.
HTTP_RE = re.compile(r"```http\n(PUT|POST) (\S+)\n(?:[^\n]+\n)*?\n?(\{.*?\})\n```", re.DOTALL)


def documented(method: str, path: str) -> dict[str, object]:
    for found_method, found_path, body in HTTP_RE.findall(DOC):
        if (found_method, found_path) == (method, path):
            return json.loads(body)  # type: ignore[no-any-return]
    raise AssertionError(f"docs/mqtt.md shows no {method} {path}")


def test_the_documented_setup_requests_succeed_with_the_documented_status_codes(api: TestClient):
    event = api.put("/api/v1/event", headers=AUTH, json=documented("PUT", "/api/v1/event"))
    assert event.status_code == 200, event.text
    zone = api.put("/api/v1/zones/entrance", headers=AUTH, json=documented("PUT", "/api/v1/zones/entrance"))
    assert zone.status_code == 200, zone.text
    device = api.put("/api/v1/devices/door-1", headers=AUTH, json=documented("PUT", "/api/v1/devices/door-1"))
    assert device.status_code == 200 and "mqtt_password" not in device.json()
    body = {"zone_id": "entrance", "device_id": "door-1"}  # as in section 10 b, step 1
    code = api.post("/api/v1/devices/enrolment-codes", headers=AUTH, json=body)
    assert code.status_code == 201, code.text  # as documented: -> 201
    assert "-> 201" in DOC and "-> 200" in DOC
    enrolled = api.post("/api/v1/devices/enrol", json={"code": code.json()["code"], "hostname": "pi-door-1"})
    assert enrolled.status_code == 200, enrolled.text
    assert set(enrolled.json()) == {"device_id", "event_id", "mqtt_url", "mqtt_username", "mqtt_password",
                                    "topic_prefix", "config"}  # fmt: skip
