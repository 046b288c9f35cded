"""Edge devices: registration, their retained config, and enrolment by short-lived code."""

from __future__ import annotations

import re
import secrets
import time
from typing import Annotated

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, Field
from sqlmodel import Session, select

from edge.protocol import ID_PATTERN, BleSettings, DeviceConfig, MessageKind, topic_for
from server.core.security import hash_token, new_token
from server.runtime import Runtime
from server.security.broker_config import mosquitto_hash
from server.store.models import Device, EnrolmentCode, Event, Zone
from server.web.deps import OrganizerOrStaff, RuntimeDep, SessionDep

router = APIRouter(prefix="/api/v1/devices", tags=["devices"])

# Codes are typed by staff on a small screen: no 0/O, 1/I/L confusion, grouped 4-4.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8


class DeviceIn(BaseModel):
    name: str = Field(default="", max_length=200)
    zone_id: str | None = Field(default=None, pattern=ID_PATTERN)
    x: float | None = None
    y: float | None = None
    rssi_offset_db: float = Field(default=0.0, ge=-30, le=30)


class DeviceOut(BaseModel):
    id: str
    event_id: str
    name: str
    zone_id: str | None
    x: float | None
    y: float | None
    rssi_offset_db: float
    state: str
    state_at: float | None
    last_seen_at: float | None
    last_seq: int | None
    last_heartbeat: dict[str, object]
    config_version: int
    revoked_at: float | None


class EnrolmentCodeIn(BaseModel):
    zone_id: str | None = Field(default=None, pattern=ID_PATTERN)
    device_id: str | None = Field(default=None, pattern=ID_PATTERN)
    ttl_s: int | None = Field(default=None, ge=60, le=7 * 86400)


class EnrolmentCodeOut(BaseModel):
    code: str
    expires_at: float
    zone_id: str | None
    device_id: str | None


class EnrolIn(BaseModel):
    code: str = Field(min_length=4, max_length=32)
    hostname: str = Field(default="", max_length=200)


class EnrolOut(BaseModel):
    device_id: str
    event_id: str
    mqtt_url: str
    mqtt_username: str
    mqtt_password: str
    topic_prefix: str
    config: DeviceConfig


def device_config(device: Device) -> DeviceConfig:
    return DeviceConfig(
        device_id=device.id,
        event_id=device.event_id,
        config_version=device.config_version,
        zone_id=device.zone_id,
        ble=BleSettings(),
    )


def _publish_config(runtime: Runtime, device: Device) -> None:
    if runtime.ingest is not None:
        topic = topic_for(MessageKind.CONFIG, device.event_id, device.id, runtime.settings.mqtt_topic_prefix)
        runtime.ingest.publish(topic, device_config(device).to_json(), retain=True)


def _require_event(session: Session, event_id: str) -> None:
    if session.get(Event, event_id) is None:
        raise HTTPException(status.HTTP_409_CONFLICT, f"event {event_id!r} does not exist yet: create it first")


def _require_zone(session: Session, zone_id: str | None, event_id: str) -> None:
    if zone_id is not None:
        zone = session.get(Zone, zone_id)
        if zone is None or zone.event_id != event_id:
            raise HTTPException(422, f"zone {zone_id!r} does not exist")


@router.get("", response_model=list[DeviceOut], summary="Every device of the event")
def list_devices(session: SessionDep, runtime: RuntimeDep, _caller: OrganizerOrStaff) -> list[Device]:
    query = select(Device).where(Device.event_id == runtime.settings.event_id).order_by(Device.id)
    return list(session.exec(query))


@router.get("/{device_id}", response_model=DeviceOut)
def get_device(device_id: str, session: SessionDep, _caller: OrganizerOrStaff) -> Device:
    device = session.get(Device, device_id)
    if device is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"device {device_id!r} not found")
    return device


@router.put("/{device_id}", response_model=DeviceOut, summary="Register a device or change it (idempotent)")
def put_device(
    device_id: Annotated[str, Field(pattern=ID_PATTERN)],
    body: DeviceIn,
    session: SessionDep,
    runtime: RuntimeDep,
    _caller: OrganizerOrStaff,
) -> Device:
    if not re.match(ID_PATTERN, device_id):
        raise HTTPException(422, "device id: 1-64 of A-Z a-z 0-9 _ . : -")
    event_id = runtime.settings.event_id
    _require_event(session, event_id)
    _require_zone(session, body.zone_id, event_id)
    device = session.get(Device, device_id)
    if device is None:
        device = Device(id=device_id, event_id=event_id, created_at=time.time())
    elif device.event_id != event_id:
        raise HTTPException(status.HTTP_409_CONFLICT, f"device {device_id!r} belongs to another event")
    changed = (device.zone_id, device.name, device.x, device.y, device.rssi_offset_db) != (
        body.zone_id,
        body.name,
        body.x,
        body.y,
        body.rssi_offset_db,
    )
    device.name, device.zone_id, device.x, device.y = body.name, body.zone_id, body.x, body.y
    device.rssi_offset_db = body.rssi_offset_db
    if changed:
        device.config_version += 1
    session.add(device)
    session.commit()
    session.refresh(device)
    runtime.pipeline.venue_changed()
    _publish_config(runtime, device)
    return device


@router.post("/{device_id}/revoke", response_model=DeviceOut, summary="Cut a device off (messages dead-lettered)")
def revoke_device(device_id: str, session: SessionDep, runtime: RuntimeDep, _caller: OrganizerOrStaff) -> Device:
    device = get_device(device_id, session, _caller)
    if device.revoked_at is None:
        device.revoked_at = time.time()
        device.credential_hash = None
        device.broker_password_hash = None
        session.add(device)
        session.commit()
        session.refresh(device)
        runtime.pipeline.venue_changed()
    return device


@router.post(
    "/enrolment-codes",
    response_model=EnrolmentCodeOut,
    status_code=201,
    summary="Issue a single-use code a new device exchanges for its credentials",
)
def create_enrolment_code(
    body: EnrolmentCodeIn, session: SessionDep, runtime: RuntimeDep, _caller: OrganizerOrStaff
) -> EnrolmentCodeOut:
    event_id = runtime.settings.event_id
    _require_event(session, event_id)
    _require_zone(session, body.zone_id, event_id)
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    code = f"{raw[:4]}-{raw[4:]}"
    now = time.time()
    expires_at = now + (body.ttl_s or runtime.settings.enrolment_code_ttl_s)
    session.add(
        EnrolmentCode(
            code_hash=hash_token(raw),
            event_id=event_id,
            zone_id=body.zone_id,
            device_id=body.device_id,
            created_at=now,
            expires_at=expires_at,
        )
    )
    session.commit()
    return EnrolmentCodeOut(code=code, expires_at=expires_at, zone_id=body.zone_id, device_id=body.device_id)


@router.post(
    "/enrol",
    response_model=EnrolOut,
    summary="A device exchanges an enrolment code for credentials",
    openapi_extra={"security": []},
)
def enrol(body: EnrolIn, session: SessionDep, runtime: RuntimeDep) -> EnrolOut:
    """No bearer token: the single-use, short-lived code is the credential."""
    raw = body.code.upper().replace("-", "").replace(" ", "")
    code = session.get(EnrolmentCode, hash_token(raw))
    now = time.time()
    if code is None or code.expires_at <= now:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "unknown or expired enrolment code")
    if code.used_at is not None:
        raise HTTPException(status.HTTP_409_CONFLICT, "this enrolment code was already used")
    device_id = code.device_id or _derive_device_id(session, code.zone_id, body.hostname)
    device = session.get(Device, device_id) or Device(id=device_id, event_id=code.event_id, created_at=now)
    password = new_token()
    device.zone_id = code.zone_id or device.zone_id
    device.name = device.name or body.hostname
    device.credential_hash = hash_token(password)
    device.broker_password_hash = mosquitto_hash(password)  # for `touchpoints broker config`
    device.revoked_at = None
    device.config_version += 1
    code.used_at, code.used_by = now, device_id
    session.add(device)
    session.add(code)
    session.commit()
    session.refresh(device)
    runtime.pipeline.venue_changed()
    _publish_config(runtime, device)
    settings = runtime.settings
    mqtt_url = settings.public_mqtt_url or settings.mqtt_url or ""
    return EnrolOut(
        device_id=device.id,
        event_id=device.event_id,
        mqtt_url=mqtt_url,
        mqtt_username=device.id,
        mqtt_password=password,
        topic_prefix=settings.mqtt_topic_prefix,
        config=device_config(device),
    )


def _derive_device_id(session: Session, zone_id: str | None, hostname: str) -> str:
    """A valid, unused id from the hostname (or zone): e.g. `pi-booth-1`, then `pi-booth-1-2`."""
    base = re.sub(r"[^A-Za-z0-9_.:-]", "-", hostname or zone_id or "edge")
    base = re.sub(r"^[^A-Za-z0-9]+", "", base)[:56] or "edge"  # ids start with a letter or digit
    candidate, n = base, 1
    while session.get(Device, candidate) is not None:
        n += 1
        candidate = f"{base}-{n}"
    return candidate
