"""The attendee app and lead capture: sign-in codes, refresh tokens, consent, fixed venue beacons, exhibitor
staff accounts, qualification questions and leads (issue: event app).

Tables of this area live here, beside server/store/models.py; server/store/registry.py imports them all.
Access tokens are ordinary ``api_token`` rows (role attendee or exhibitor, short-lived), so every route that
checks a bearer token understands them; the refresh tokens here issue and rotate them.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy import Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from server.store.models import BigId, JsonType


class AccountKind(StrEnum):
    """Who signs in to the app: an attendee, or an exhibitor's booth staff member."""

    ATTENDEE = "attendee"
    EXHIBITOR_USER = "exhibitor_user"


class LoginCode(SQLModel, table=True):
    """A one-time sign-in code (sent by email or shown at a kiosk). Only a hash is stored; single use."""

    __tablename__ = "app_login_code"

    id: str = Field(primary_key=True, max_length=32, description="Opaque login id, handed to the client")
    kind: str = Field(max_length=16)
    subject: str = Field(max_length=64, index=True, description="Attendee id or exhibitor user id")
    code_hash: str = Field(max_length=64)
    via: str = Field(max_length=16, description="email | kiosk")
    created_at: float
    expires_at: float
    attempts: int = 0
    used_at: float | None = None


class RefreshToken(SQLModel, table=True):
    """A refresh token: used once, then replaced (rotation). Its family is one sign-in on one device.

    Presenting a refresh token that was already used means it leaked: the whole family is revoked.
    """

    __tablename__ = "app_refresh_token"

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True))
    token_hash: str = Field(unique=True, index=True, max_length=64)
    family: str = Field(max_length=32, index=True)
    kind: str = Field(max_length=16)
    subject: str = Field(max_length=64, index=True)
    access_token_id: int | None = Field(default=None, sa_type=BigId, description="api_token issued with it")
    created_at: float
    expires_at: float
    used_at: float | None = None
    revoked_at: float | None = None


class ConsentRecord(SQLModel, table=True):
    """The audit trail of consent: every grant or withdrawal, by purpose, when and through what."""

    __tablename__ = "consent_record"
    __table_args__ = (Index("ix_consent_record_attendee_at", "attendee_id", "at"),)

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True))
    attendee_id: str = Field(max_length=64)
    purpose: str = Field(max_length=32)
    granted: bool
    at: float
    source: str = Field(max_length=32, description="app | kiosk | registration | organizer")


class AttendeeConsent(SQLModel, table=True):
    """Consent purposes that have no column on ``attendee`` (networking, email), one row per purpose."""

    __tablename__ = "attendee_consent"

    attendee_id: str = Field(primary_key=True, max_length=64)
    purpose: str = Field(primary_key=True, max_length=32)
    granted: bool
    updated_at: float


class VenueBeacon(SQLModel, table=True):
    """A fixed beacon at a known place. A phone that hears it reports it; presence treats the beacon like a
    scanner at that place (radio links are symmetric), through a device row ``vbeacon:<id>``."""

    __tablename__ = "venue_beacon"

    id: str = Field(primary_key=True, max_length=48)
    event_id: str = Field(foreign_key="event.id", index=True)
    beacon_id: str = Field(unique=True, index=True, max_length=128, description="Canonical beacon id")
    zone_id: str = Field(foreign_key="zone.id")
    x: float | None = None
    y: float | None = None
    name: str = ""
    created_at: float


class ExhibitorUserRole(StrEnum):
    REP = "rep"  # captures and works their leads
    ADMIN = "admin"  # also manages the booth's staff and qualification questions


class ExhibitorUser(SQLModel, table=True):
    """A booth staff account of one exhibitor; signs in with a code sent to its email."""

    __tablename__ = "exhibitor_user"

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True))
    exhibitor_id: str = Field(foreign_key="exhibitor.id", index=True, max_length=64)
    email: str = Field(unique=True, index=True, max_length=254)
    name: str = ""
    role: str = Field(default=ExhibitorUserRole.REP.value, max_length=16)
    created_at: float
    disabled_at: float | None = None


class LeadQuestion(SQLModel, table=True):
    """A qualification question an exhibitor asks about each lead (budget, timeline, ...)."""

    __tablename__ = "lead_question"

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True))
    exhibitor_id: str = Field(foreign_key="exhibitor.id", index=True, max_length=64)
    key: str = Field(max_length=48, description="Stable answer key, unique per exhibitor")
    position: int = 0
    text: str = Field(max_length=300)
    kind: str = Field(max_length=16, description="text | choice | yes_no | number")
    choices: list[str] = Field(default_factory=list, sa_column=Column(JsonType, nullable=False))
    required: bool = False


# The attendee's contact details a lead carries, only while the attendee shares them with exhibitors.
LEAD_PERSONAL = ("name", "email", "company", "job_title", "country")
LEAD_HOT_RATING = 4  # of 5: the rep rated the conversation promising; the assigned rep hears about it at once
LEAD_SOURCE_RULE = "rule"  # created by a rule's lead action, not yet met at the booth


def lead_contact(attendee: Any) -> dict[str, Any]:
    """``contact_shared`` and the personal columns of a lead for ``attendee`` (cleared without consent)."""
    shared = bool(attendee.consent_crm)
    return {"contact_shared": shared, **{name: getattr(attendee, name) if shared else None for name in LEAD_PERSONAL}}


class Lead(SQLModel, table=True):
    """One attendee met at one exhibitor's booth. Captured once (idempotent), then qualified.

    The personal columns (name .. country) are filled only while the attendee consents to share their
    contact with exhibitors (``attendee.consent_crm``); without it the lead is an anonymous visitor.
    """

    __tablename__ = "lead"
    __table_args__ = (UniqueConstraint("exhibitor_id", "attendee_id", name="uq_lead_exhibitor_attendee"),)

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True))
    event_id: str = Field(max_length=64)
    exhibitor_id: str = Field(foreign_key="exhibitor.id", index=True, max_length=64)
    attendee_id: str = Field(max_length=64, index=True)
    source: str = Field(max_length=8, description="nfc | qr | manual")
    captured_by: str = Field(max_length=64, description="Exhibitor user id, or the reader's device id")
    assigned_to: int | None = Field(default=None, sa_type=BigId, description="Exhibitor user id of the rep")
    rating: int | None = None
    notes: str = ""
    answers: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JsonType, nullable=False))
    contact_shared: bool = False
    name: str | None = None
    email: str | None = None
    company: str | None = None
    job_title: str | None = None
    country: str | None = None
    created_at: float
    updated_at: float
    hot_alerted_at: float | None = None
