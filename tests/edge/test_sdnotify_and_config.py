"""systemd notification over NOTIFY_SOCKET, and settings from TOML plus CLI overrides."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from edge.config import load_settings, parse_mqtt_url
from edge.sdnotify import sd_notify, watchdog_ping_interval_s


def test_sd_notify_sends_a_datagram_to_notify_socket(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    address = str(tmp_path / "notify")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as systemd:
        systemd.bind(address)
        monkeypatch.setenv("NOTIFY_SOCKET", address)
        assert sd_notify("READY=1") is True
        assert systemd.recv(64) == b"READY=1"


def test_sd_notify_outside_systemd_is_a_no_op(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert sd_notify("WATCHDOG=1") is False


def test_watchdog_pings_twice_per_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATCHDOG_USEC", "60000000")
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    assert watchdog_ping_interval_s() == 30.0
    monkeypatch.setenv("WATCHDOG_PID", "1")  # meant for another process
    assert watchdog_ping_interval_s() is None


def test_cli_overrides_beat_the_file(tmp_path: Path) -> None:
    path = tmp_path / "edge.toml"
    path.write_text('device_id = "door-1"\nevent_id = "demo"\n[ble]\nuuids = ["a"]\nwindow_s = 3.0\n')
    settings = load_settings(path, {"device_id": None, "ble": {"uuids": ["b", "c"], "enabled": False}})
    assert (settings.device_id, settings.ble.uuids, settings.ble.window_s, settings.ble.enabled) == (
        "door-1",
        ["b", "c"],
        3.0,
        False,
    )


def test_a_typo_in_the_file_fails_loudly(tmp_path: Path) -> None:
    path = tmp_path / "edge.toml"
    path.write_text('device_id = "d"\nevent_id = "e"\n[ble]\nwindow = 3.0\n')
    with pytest.raises(ValueError, match="window"):
        load_settings(path)


def test_mqtt_urls() -> None:
    endpoint = parse_mqtt_url("mqtts://dev%401:p%3Ass@broker.example")
    assert (endpoint.host, endpoint.port, endpoint.tls, endpoint.username, endpoint.password) == (
        "broker.example",
        8883,
        True,
        "dev@1",
        "p:ss",
    )
    assert parse_mqtt_url("mqtt://127.0.0.1").port == 1883
    with pytest.raises(ValueError):
        parse_mqtt_url("http://broker")
