"""SQLModel tables: the store's schema (Alembic migrations in ``migrations/`` follow it; a test checks).

Times are Unix seconds (UTC) as floats, the same unit the wire contract and the domain core use, so that
nothing converts on the hot path and SQLite and PostgreSQL store the same values.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, Integer, LargeBinary, String, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from server.domain.model import ZoneKind

# JSONB on PostgreSQL (indexable, compact), plain JSON text on SQLite.
JsonType = JSON().with_variant(JSONB(), "postgresql")
# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL wants 64 bits for a touchpoint log.
BigId = BigInteger().with_variant(Integer(), "sqlite")


def _enum(default: Any = ..., **kwargs: Any) -> Any:
    """Enums are stored as their string values: adding a member then needs no database migration."""
    return Field(default=default, sa_type=String(32), **kwargs)


def _json_list() -> Any:
    return Field(default_factory=list, sa_column=Column(JsonType, nullable=False))


def _json_dict() -> Any:
    return Field(default_factory=dict, sa_column=Column(JsonType, nullable=False))


class Role(StrEnum):
    """Who is calling the API. Each route names the narrowest roles it admits."""

    ORGANIZER = "organizer"
    EXHIBITOR = "exhibitor"
    STAFF = "staff"
    ATTENDEE = "attendee"
    DEVICE = "device"


class AttendeeRole(StrEnum):
    ATTENDEE = "attendee"
    SPEAKER = "speaker"
    EXHIBITOR = "exhibitor"  # booth staff of an exhibitor
    STAFF = "staff"  # event staff: never tracked as attendees


class TouchpointType(StrEnum):
    TAP = "tap"
    SIGHTING = "sighting"
    LEAD_SCAN = "lead_scan"
    APP_ACTION = "app_action"
    NOTIFICATION_SENT = "notification_sent"
    NOTIFICATION_OPENED = "notification_opened"
    MEETING = "meeting"


class DeviceState(StrEnum):
    UNKNOWN = "unknown"
    ONLINE = "online"
    OFFLINE = "offline"


class Event(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=64)
    name: str
    timezone: str = "UTC"
    starts_at: float
    ends_at: float


class Exhibitor(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=64)
    event_id: str = Field(foreign_key="event.id", index=True)
    name: str
    interests: list[str] = _json_list()


class Zone(SQLModel, table=True):
    """A place on the floor plan. Coordinates are metres from the plan's top-left corner."""

    id: str = Field(primary_key=True, max_length=64)
    event_id: str = Field(foreign_key="event.id", index=True)
    name: str
    kind: ZoneKind = _enum()
    x: float
    y: float
    width: float
    height: float
    floor: int = 0
    capacity: int | None = None
    exhibitor_id: str | None = Field(default=None, foreign_key="exhibitor.id")


class AgendaSession(SQLModel, table=True):
    __tablename__ = "agenda_session"

    id: str = Field(primary_key=True, max_length=64)
    event_id: str = Field(foreign_key="event.id", index=True)
    zone_id: str = Field(foreign_key="zone.id")
    title: str
    starts_at: float
    ends_at: float
    tags: list[str] = _json_list()


class Device(SQLModel, table=True):
    """An edge device (scanner). It may publish only after it is registered here."""

    id: str = Field(primary_key=True, max_length=64)
    event_id: str = Field(foreign_key="event.id", index=True)
    name: str = ""
    zone_id: str | None = Field(default=None, foreign_key="zone.id")
    x: float | None = None
    y: float | None = None
    # Added to every RSSI this device reports: radios and enclosures differ by several dB.
    rssi_offset_db: float = 0.0
    credential_hash: str | None = None  # SHA-256 of the device's MQTT password, set at enrolment
    # The same password in Mosquitto's own format ($7$ PBKDF2-SHA512), also set at enrolment: the server never
    # keeps the plaintext, so `touchpoints broker config` can only write the broker's password file from this.
    broker_password_hash: str | None = Field(default=None, max_length=200)
    config_version: int = 0  # bumped on every change; the retained config message carries it
    state: DeviceState = _enum(DeviceState.UNKNOWN)
    state_at: float | None = None
    last_seen_at: float | None = None
    last_seq: int | None = Field(default=None, sa_type=BigInteger)
    last_heartbeat: dict[str, Any] = _json_dict()
    revoked_at: float | None = None
    created_at: float


class Attendee(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=64)
    event_id: str = Field(foreign_key="event.id", index=True)
    name: str
    email: str | None = Field(default=None, index=True)
    company: str | None = None
    job_title: str | None = None
    country: str | None = Field(default=None, max_length=2, description="ISO 3166-1 alpha-2")
    role: AttendeeRole = _enum(AttendeeRole.ATTENDEE)
    badge_uid: str | None = Field(default=None, index=True, unique=True, description="NFC tag UID, hex")
    badge_id: str | None = Field(default=None, index=True, unique=True, description="Printed/NDEF badge id")
    beacon_id: str | None = Field(default=None, index=True, unique=True, description="Badge beacon, canonical id")
    tags: list[str] = _json_list()
    interests: list[str] = _json_list()
    # Consent per purpose. Tracking gates BLE sightings at ingest; push and CRM gate their channels.
    consent_tracking: bool = False
    consent_push: bool = False
    consent_crm: bool = False
    registered_at: float


_NOT_SIGHTING = text("type != 'sighting'")


class Touchpoint(SQLModel, table=True):
    """A typed, timestamped signal about one attendee at one place.

    Device signals are keyed by ``(device_id, seq, idx)`` — the message's idempotency key and the
    sighting's index in its batch — so a redelivered message inserts nothing.
    """

    __table_args__ = (
        UniqueConstraint("device_id", "seq", "idx", name="uq_touchpoint_device_seq_idx"),
        Index("ix_touchpoint_event_occurred", "event_id", "occurred_at"),
        Index("ix_touchpoint_attendee_occurred", "attendee_id", "occurred_at"),
        # An attendee's journey (scores, rule summaries, the app, CRM facts) reads everything but sightings,
        # which are almost all of their rows: ~43,000 a day for a badge heard by three scanners. Through the
        # index above, a journey walked all of them (42 ms per load after one day, measured); through this
        # one, only the rest (0.1 ms). Sightings never enter it, so ingest pays nothing for it.
        Index(
            "ix_touchpoint_attendee_journey",
            "attendee_id",
            "occurred_at",
            sqlite_where=_NOT_SIGHTING,
            postgresql_where=_NOT_SIGHTING,
        ),
        # The same for the organizer's views of one kind of touchpoint (check-in taps, lead scans, the
        # touchpoint list by type): without it they walked the event's sightings too.
        Index(
            "ix_touchpoint_type_event",
            "type",
            "event_id",
            "occurred_at",
            sqlite_where=_NOT_SIGHTING,
            postgresql_where=_NOT_SIGHTING,
        ),
    )

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True))
    event_id: str = Field(max_length=64)
    type: TouchpointType = _enum()
    occurred_at: float
    received_at: float
    attendee_id: str | None = None
    device_id: str | None = None
    zone_id: str | None = None
    seq: int | None = Field(default=None, sa_type=BigInteger)
    idx: int = 0
    # Sightings: smoothed RSSI, distance, adverts counted, last advert (occurred_at is the first).
    beacon_id: str | None = None
    rssi: float | None = None
    distance_m: float | None = None
    count: int | None = None
    ended_at: float | None = None
    data: dict[str, Any] | None = Field(default=None, sa_column=Column(JsonType, nullable=True))


# Say it in every query of an attendee's non-sighting touchpoints, even beside ``type == 'tap'``: it is what lets
# the query use ix_touchpoint_attendee_journey (SQLite does not infer it from a narrower type condition).
NOT_A_SIGHTING = Touchpoint.__table__.c.type != TouchpointType.SIGHTING.value  # type: ignore[attr-defined]


class SessionRegistration(SQLModel, table=True):
    """An attendee registered (or bookmarked) a session: the denominator of registered-vs-attended."""

    __tablename__ = "session_registration"

    attendee_id: str = Field(foreign_key="attendee.id", primary_key=True, max_length=64)
    session_id: str = Field(foreign_key="agenda_session.id", primary_key=True, max_length=64)
    registered_at: float


class Visit(SQLModel, table=True):
    """An attendee's stay in a zone, derived from sightings and taps by the presence engine.

    Open while ``ended_at`` is None. Keyed by (attendee, zone, start) so re-deriving is an upsert.
    """

    __table_args__ = (
        UniqueConstraint("attendee_id", "zone_id", "started_at", name="uq_visit_attendee_zone_start"),
        Index("ix_visit_event_zone", "event_id", "zone_id", "started_at"),
        Index("ix_visit_attendee", "attendee_id", "started_at"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True))
    event_id: str = Field(max_length=64)
    attendee_id: str = Field(max_length=64)
    zone_id: str = Field(max_length=64)
    started_at: float
    ended_at: float | None = None
    dwell_s: float | None = None


class AttendeeScore(SQLModel, table=True):
    """The latest engagement score, grade and journey stage of an attendee, with its breakdown."""

    __tablename__ = "attendee_score"

    attendee_id: str = Field(primary_key=True, max_length=64)
    event_id: str = Field(max_length=64, index=True)
    score: float = Field(index=True)
    grade: str = Field(max_length=2)
    stage: str = Field(max_length=32)
    breakdown: dict[str, Any] = _json_dict()
    model_version: str = Field(max_length=64)
    updated_at: float


class EnrolmentCode(SQLModel, table=True):
    """A short-lived, single-use code that staff type into a new device to enrol it."""

    __tablename__ = "enrolment_code"

    code_hash: str = Field(primary_key=True, max_length=64)
    event_id: str = Field(foreign_key="event.id")
    zone_id: str | None = Field(default=None, foreign_key="zone.id")
    device_id: str | None = Field(default=None, max_length=64, description="Fixed id, else derived at enrolment")
    created_at: float
    expires_at: float
    used_at: float | None = None
    used_by: str | None = None


class IngestedMessage(SQLModel, table=True):
    """Every device message stored, by its idempotency key: a redelivery finds its key here and stops."""

    __tablename__ = "ingested_message"

    device_id: str = Field(primary_key=True, max_length=64)
    seq: int = Field(primary_key=True, sa_type=BigInteger)
    kind: str = Field(max_length=16)
    received_at: float


class DeadLetterReason(StrEnum):
    INVALID_TOPIC = "invalid_topic"
    UNSUPPORTED_VERSION = "unsupported_version"
    UNKNOWN_KIND = "unknown_kind"
    OVERSIZED = "oversized"
    INVALID_JSON = "invalid_json"
    SCHEMA_VIOLATION = "schema_violation"
    UNKNOWN_DEVICE = "unknown_device"
    REVOKED_DEVICE = "revoked_device"
    DEVICE_MISMATCH = "device_mismatch"
    WRONG_EVENT = "wrong_event"
    TYPE_MISMATCH = "type_mismatch"
    UNSTORABLE = "unstorable"  # valid by the contract, yet the database refused it (kept for an operator)
    RATE_LIMITED = "rate_limited"  # the device sent more than its message rate allows (server/ingest/ratelimit.py)


class DeadLetter(SQLModel, table=True):
    """A message that was refused, kept with its reason and raw bytes so nothing is lost silently."""

    __tablename__ = "dead_letter"

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True))
    received_at: float = Field(index=True)
    topic: str = Field(max_length=1024)
    reason: DeadLetterReason = _enum(index=True)
    detail: str = Field(max_length=2000)
    device_id: str | None = Field(default=None, max_length=256)
    size: int
    payload: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class ApiToken(SQLModel, table=True):
    """A bearer token. Only its SHA-256 is stored; the token itself is shown once, when issued."""

    __tablename__ = "api_token"

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True))
    token_hash: str = Field(unique=True, index=True, max_length=64)
    role: Role = _enum()
    subject: str | None = Field(default=None, description="Exhibitor, attendee or device id the token acts for")
    name: str = ""
    created_at: float
    expires_at: float | None = None
    revoked_at: float | None = None
