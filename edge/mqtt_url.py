"""Broker URLs: ``mqtt://[user[:password]@]host[:port]`` or ``mqtts://...`` (TLS, default port 8883).

One parser for the edge agent and the server (the server imports the edge's modules, never the reverse).

    >>> parse_mqtt_url("mqtts://dev%2F1:s3cr%40t@broker.example")
    MqttEndpoint(host='broker.example', port=8883, tls=True, username='dev/1', password='s3cr@t')
"""

from __future__ import annotations

from typing import NamedTuple
from urllib.parse import unquote, urlsplit

MQTT_PORT = 1883
MQTTS_PORT = 8883


class MqttEndpoint(NamedTuple):
    host: str
    port: int
    tls: bool
    username: str | None
    password: str | None


def parse_mqtt_url(url: str) -> MqttEndpoint:
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl"):
        raise ValueError(f"scheme must be mqtt:// or mqtts://, got {url!r}")
    if not parts.hostname:
        raise ValueError(f"no host in {url!r}")
    tls = parts.scheme in ("mqtts", "ssl")
    try:
        port = parts.port or (MQTTS_PORT if tls else MQTT_PORT)
    except ValueError as exc:  # urlsplit raises on a non-numeric port only when asked for it
        raise ValueError(f"bad port in {url!r}") from exc
    return MqttEndpoint(
        parts.hostname,
        port,
        tls,
        unquote(parts.username) if parts.username else None,
        unquote(parts.password) if parts.password else None,
    )
