"""Configuration: defaults that run the demo, clear errors that name the variable, and docs in step."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from server.core.config import ENV_PREFIX, ConfigError, Settings, load_settings, parse_mqtt_url

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def test_the_defaults_are_the_embedded_demo_setup(monkeypatch: pytest.MonkeyPatch):
    for name in list(__import__("os").environ):
        if name.startswith(ENV_PREFIX):
            monkeypatch.delenv(name)
    settings = load_settings()
    assert settings.database_url == "sqlite:///./var/touchpoints.db"
    assert settings.mqtt_url is None and settings.embedded_mqtt_port == 18830
    assert (settings.http_host, settings.http_port) == ("127.0.0.1", 8000)


def test_a_bad_value_names_the_variable(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TOUCHPOINTS_HTTP_PORT", "eighty")
    monkeypatch.setenv("TOUCHPOINTS_MQTT_URL", "http://broker")
    with pytest.raises(ConfigError) as info:
        load_settings()
    message = str(info.value)
    assert "TOUCHPOINTS_HTTP_PORT='eighty'" in message
    assert "TOUCHPOINTS_MQTT_URL='http://broker'" in message and "mqtt://" in message


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("mqtt://127.0.0.1", ("127.0.0.1", 1883, False, None, None)),
        ("mqtts://broker.example:8884", ("broker.example", 8884, True, None, None)),
        ("mqtt://dev%2F1:s3cr%40t@host:1999", ("host", 1999, False, "dev/1", "s3cr@t")),
    ],
)
def test_mqtt_urls(url: str, expected: tuple[object, ...]):
    assert tuple(parse_mqtt_url(url)) == expected


def test_postgres_urls_use_the_bundled_psycopg_driver():
    assert load_settings(database_url="postgres://u@h/db").sqlalchemy_url == "postgresql+psycopg://u@h/db"


def test_docs_list_every_setting_with_its_default():
    doc = DOC.read_text()
    table = doc.split("settings-table: start")[1].split("settings-table: end")[0]
    documented = dict(re.findall(r"^\| `(TOUCHPOINTS_[A-Z_]+)` \| ([^|]+) \|", table, flags=re.M))
    expected = {}
    for name, field in Settings.model_fields.items():
        default = getattr(field.default, "value", field.default)
        expected[f"{ENV_PREFIX}{name.upper()}"] = "(unset)" if default is None else f"`{default}`"
    assert {k: v.strip() for k, v in documented.items()} == expected
