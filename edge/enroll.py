"""Device enrolment: exchange a short-lived code from the server for this device's credentials and config.

Staff create the code on the server; on the device they run ``touchpoints edge enroll --server URL --code
CODE``. Only the standard library talks HTTP here, so a Raspberry Pi needs no extra packages.

Request ``POST {server}/api/v1/devices/enrol`` with ``{"code": ..., "hostname": ...}``; the answer::

    {"device_id", "event_id", "mqtt_url", "mqtt_username", "mqtt_password", "topic_prefix",
     "config": <DeviceConfig JSON>}
"""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from edge.config import BleSection, EdgeSettings, MqttSection, NfcSection, SpoolSection, write_settings
from edge.protocol import DeviceConfig

ENROL_PATH = "/api/v1/devices/enrol"
HTTP_TIMEOUT_S = 15.0  # a venue's Wi-Fi can be slow; a hung request must still end


class EnrolmentError(RuntimeError):
    pass


def request_enrolment(server: str, code: str, hostname: str | None = None) -> dict[str, Any]:
    body = json.dumps({"code": code, "hostname": hostname or socket.gethostname()}).encode()
    request = urllib.request.Request(
        server.rstrip("/") + ENROL_PATH,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "Accept": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S) as response:
            return dict(json.loads(response.read()))
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode(errors="replace")[:300]
        if exc.code in (400, 401, 403, 404, 410):
            raise EnrolmentError(f"the server refused the code ({exc.code}): {detail}. Ask for a new code.") from exc
        raise EnrolmentError(f"the server answered {exc.code}: {detail}") from exc
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise EnrolmentError(f"cannot reach {server}: {exc}. Check the address and the network.") from exc
    except ValueError as exc:
        raise EnrolmentError(f"the server's answer is not JSON: {exc}") from exc


def settings_from_enrolment(answer: dict[str, Any], existing: EdgeSettings | None = None) -> EdgeSettings:
    """Merge the server's answer into the device's settings (local reader and spool choices are kept)."""
    try:
        config = DeviceConfig.model_validate(answer["config"])
        mqtt = MqttSection(
            url=answer["mqtt_url"],
            username=answer.get("mqtt_username"),
            password=answer.get("mqtt_password"),
            topic_prefix=answer.get("topic_prefix") or MqttSection().topic_prefix,
        )
        device_id, event_id = str(answer["device_id"]), str(answer["event_id"])
    except (KeyError, TypeError, ValueError) as exc:
        raise EnrolmentError(f"the server's answer is incomplete: {exc}") from exc
    local_ble = existing.ble if existing else BleSection()
    local_nfc = existing.nfc if existing else NfcSection()
    return EdgeSettings(
        device_id=device_id,
        event_id=event_id,
        zone_id=config.zone_id,
        heartbeat_s=config.heartbeat_s,
        config_version=config.config_version,
        mqtt=mqtt,
        nfc=local_nfc.model_copy(update={"retap_gap_s": config.retap_gap_s}),
        ble=local_ble.model_copy(
            update={
                "uuids": config.ble.uuids,
                "namespaces": config.ble.namespaces,
                "window_s": config.ble.window_s,
                "watchdog_s": config.ble.watchdog_s,
            }
        ),
        spool=existing.spool if existing else SpoolSection(),
    )


def enroll(server: str, code: str, config_path: str | Path, hostname: str | None = None) -> EdgeSettings:
    """Enrol and write the config file (mode 0600); an existing file's local choices survive."""
    path = Path(config_path)
    existing = None
    if path.exists():
        from edge.config import load_settings

        try:
            existing = load_settings(path)
        except Exception:  # a broken old file must not block re-enrolment
            existing = None
    settings = settings_from_enrolment(request_enrolment(server, code, hostname), existing)
    write_settings(settings, path)
    return settings
