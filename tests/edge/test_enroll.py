"""Enrolment: a code is exchanged for credentials and config, written to a file only the agent can read."""

from __future__ import annotations

import json
import stat
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from edge.cli import app
from edge.config import load_settings

ANSWER = {
    "device_id": "booth-17",
    "event_id": "expo-2025",
    "mqtt_url": "mqtts://broker.example:8883",
    "mqtt_username": "booth-17",
    "mqtt_password": 's3cr"et',
    "topic_prefix": "touchpoints",
    "config": {
        "v": 1, "type": "config", "device_id": "booth-17", "event_id": "expo-2025", "config_version": 4,
        "zone_id": "booth-17", "ble": {"uuids": ["b9407f30-f5f8-466e-aff9-25556b57fe6d"], "namespaces": [],
        "window_s": 3.0, "watchdog_s": 45.0}, "retap_gap_s": 4.0, "heartbeat_s": 20.0,
    },
}  # fmt: skip


@pytest.fixture
def server() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    requests: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            requests.append({"path": self.path, "body": body, "type": self.headers["Content-Type"]})
            ok = body["code"] == "GOOD-CODE"
            data = json.dumps(ANSWER if ok else {"detail": "unknown or expired code"}).encode()
            self.send_response(200 if ok else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *_: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", requests
    httpd.shutdown()
    httpd.server_close()


def test_enroll_writes_a_private_config_file_the_agent_can_run_from(
    tmp_path: Path, server: tuple[str, list[dict[str, Any]]]
) -> None:
    url, requests = server
    path = tmp_path / "etc" / "edge.toml"
    result = CliRunner().invoke(app, ["enroll", "--server", url + "/", "--code", "GOOD-CODE", "--config", str(path)])
    assert result.exit_code == 0, result.output
    assert "enrolled as device booth-17 of event expo-2025" in result.output
    assert requests[0]["path"] == "/api/v1/devices/enrol"
    assert requests[0]["type"] == "application/json"
    assert requests[0]["body"]["code"] == "GOOD-CODE" and requests[0]["body"]["hostname"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    settings = load_settings(path)
    assert (settings.device_id, settings.event_id, settings.zone_id) == ("booth-17", "expo-2025", "booth-17")
    assert (settings.mqtt.url, settings.mqtt.username, settings.mqtt.password) == (
        "mqtts://broker.example:8883",
        "booth-17",
        's3cr"et',
    )
    assert settings.ble.uuids == ["b9407f30-f5f8-466e-aff9-25556b57fe6d"]
    assert (settings.ble.window_s, settings.ble.watchdog_s, settings.nfc.retap_gap_s) == (3.0, 45.0, 4.0)
    assert (settings.heartbeat_s, settings.config_version) == (20.0, 4)


def test_re_enrolment_keeps_the_local_reader_choice(tmp_path: Path, server: tuple[str, list[dict[str, Any]]]) -> None:
    url, _ = server
    path = tmp_path / "edge.toml"
    path.write_text('device_id = "old"\nevent_id = "old"\n[nfc]\ndevice = "tty:AMA0:pn532"\n')
    assert (
        CliRunner().invoke(app, ["enroll", "--server", url, "--code", "GOOD-CODE", "--config", str(path)]).exit_code
        == 0
    )
    settings = load_settings(path)
    assert (settings.device_id, settings.nfc.device) == ("booth-17", "tty:AMA0:pn532")


def test_a_refused_code_says_what_to_do_and_writes_nothing(
    tmp_path: Path, server: tuple[str, list[dict[str, Any]]]
) -> None:
    url, _ = server
    path = tmp_path / "edge.toml"
    result = CliRunner().invoke(app, ["enroll", "--server", url, "--code", "OLD", "--config", str(path)])
    assert result.exit_code == 1
    assert "refused the code (404)" in result.output and "Ask for a new code" in result.output
    assert not path.exists()


def test_an_unreachable_server_is_reported(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["enroll", "--server", "http://127.0.0.1:9", "--code", "X", "--config", str(tmp_path / "e.toml")]
    )
    assert result.exit_code == 1
    assert "cannot reach http://127.0.0.1:9" in result.output
