"""The agent's settings: a TOML file (written by `touchpoints edge enroll` or by hand) plus CLI overrides.

Example file (every key optional except device_id, event_id and mqtt.url)::

    device_id = "door-1"
    event_id = "demo"

    [mqtt]
    url = "mqtt://broker.local:1883"
    username = "door-1"
    password = "..."
    topic_prefix = "touchpoints"

    [nfc]
    device = "usb:072f:2200"        # ACR122U; "tty:AMA0:pn532" for a PN532 on the Pi's UART
    retap_gap_s = 3.0

    [ble]
    enabled = true
    uuids = ["e2c56db5-dffb-48d2-b060-d0f5a71096e0"]
    namespaces = []
    window_s = 2.0
    watchdog_s = 30.0

    [spool]
    dir = "/var/lib/touchpoints-edge"
    max_mb = 64

The server's retained config message (zone, filters, window, thresholds) overrides the file's values live.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from edge.mqtt_url import MqttEndpoint, parse_mqtt_url  # noqa: F401  (re-exported)
from edge.protocol import DEFAULT_PREFIX, BleSettings, DeviceConfig

DEFAULT_SPOOL_DIR = "/var/lib/touchpoints-edge"
DEFAULT_CONFIG_PATH = "/etc/touchpoints/edge.toml"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a typo in the file fails loudly at start, not silently


class MqttSection(_Section):
    url: str = "mqtt://127.0.0.1:1883"
    username: str | None = None
    password: str | None = None
    topic_prefix: str = DEFAULT_PREFIX
    # Reconnect backoff: resume within seconds, without hammering a broker that is restarting.
    reconnect_min_s: float = Field(default=1.0, gt=0)
    reconnect_max_s: float = Field(default=30.0, gt=0)


class NfcSection(_Section):
    device: str | None = None
    retap_gap_s: float = Field(default=3.0, gt=0)


class BleSection(_Section):
    enabled: bool = True
    uuids: list[str] = Field(default_factory=list)
    namespaces: list[str] = Field(default_factory=list)
    window_s: float = Field(default=2.0, gt=0, le=60)
    watchdog_s: float = Field(default=30.0, gt=0)
    adapter: str | None = None  # e.g. "hci1" for a USB dongle; None = the system's default adapter
    record: str | None = None
    replay: str | None = None
    replay_speed: float = Field(default=1.0, ge=0, description="0 = as fast as possible")
    replay_loop: bool = False  # replay the file over and over; without it the agent exits when the file ends


class SpoolSection(_Section):
    dir: str = DEFAULT_SPOOL_DIR
    max_mb: float = Field(default=64, gt=0)


class EdgeSettings(_Section):
    device_id: str
    event_id: str
    zone_id: str | None = None
    heartbeat_s: float = Field(default=30.0, ge=1)
    config_version: int | None = None
    mqtt: MqttSection = Field(default_factory=MqttSection)
    nfc: NfcSection = Field(default_factory=NfcSection)
    ble: BleSection = Field(default_factory=BleSection)
    spool: SpoolSection = Field(default_factory=SpoolSection)

    def device_config(self) -> DeviceConfig:
        """The settings the server may change live, as the server would send them."""
        return DeviceConfig(
            device_id=self.device_id,
            event_id=self.event_id,
            config_version=self.config_version or 0,
            zone_id=self.zone_id,
            ble=BleSettings(
                uuids=self.ble.uuids,
                namespaces=self.ble.namespaces,
                window_s=self.ble.window_s,
                watchdog_s=self.ble.watchdog_s,
            ),
            retap_gap_s=self.nfc.retap_gap_s,
            heartbeat_s=self.heartbeat_s,
        )


def _merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in overrides.items():
        if value is None:
            continue
        if isinstance(value, dict):
            merged[key] = _merge(merged.get(key, {}), value)
        else:
            merged[key] = value
    return merged


def load_settings(path: str | Path | None, overrides: dict[str, Any] | None = None) -> EdgeSettings:
    """The file's values, then every override that is not None (nested dicts merge section by section)."""
    data: dict[str, Any] = {}
    if path is not None:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    return EdgeSettings.model_validate(_merge(data, overrides or {}))


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'"{escaped}"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def to_toml(settings: EdgeSettings) -> str:
    """The settings as a TOML file (values equal to None are left out: TOML has no null)."""
    data = settings.model_dump(exclude_none=True)
    lines = [f"{key} = {_toml_value(value)}" for key, value in data.items() if not isinstance(value, dict)]
    for key, value in data.items():
        if isinstance(value, dict):
            lines.append(f"\n[{key}]")
            lines.extend(f"{name} = {_toml_value(item)}" for name, item in value.items())
    return "\n".join(lines) + "\n"


def write_settings(settings: EdgeSettings, path: str | Path) -> None:
    """Write the file readable by its owner only: it holds the device's MQTT password."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(target.name + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(to_toml(settings))
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(temporary, 0o600)
    os.replace(temporary, target)  # atomic: a power cut leaves the old file or the new one, never half
