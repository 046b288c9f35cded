"""Lead capture (a use case): one lead per exhibitor and attendee, captured idempotently by QR scan or NFC tap.

Why a capture is idempotent: booth staff scan the same badge twice, an attendee taps the reader twice, a
phone retries a request on a flaky network. The lead is keyed by (exhibitor, attendee); a second capture
returns the first lead unchanged, and only the first writes the ``lead_scan`` touchpoint that feeds the
journey, the score and the trigger rules (so the same visitor is not counted twice).

Consent: the lead carries the attendee's name, email, company, title and country only while the attendee
consents to share their contact with exhibitors (``attendee.consent_crm``, the "share" purpose). Without
it the exhibitor sees an anonymous visitor with its qualification data; when the attendee agrees later,
:func:`sync_contact` fills every lead of theirs in (and withdrawing clears them again).

The attendee app's booth routes capture by QR; :class:`NfcLeadCapture`, a consumer of the live pipeline's
ingest stage (server/pipeline.py), captures a badge tapped on a booth's reader. How a lead is shown to an
exhibitor (without consent: anonymous) is the face's business, not this module's.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, update
from sqlmodel import Session, col, select

from server.ingest.writer import WriteResult
from server.store.app_models import LEAD_SOURCE_RULE, Lead, lead_contact
from server.store.db import dialect_insert
from server.store.models import Attendee, AttendeeRole, Device, Touchpoint, TouchpointType, Zone
from server.usecases.changes import Change, JourneysChanged

RULE_SOURCE = LEAD_SOURCE_RULE
NOT_LEADS = {AttendeeRole.STAFF.value, AttendeeRole.EXHIBITOR.value}  # event and booth staff tap readers all day
# A reader moved to another booth is picked up within this long.
BOOTH_MAP_MAX_AGE_S = 30.0
LEAD: Any = Lead.__table__  # type: ignore[attr-defined]


def booth_zone(session: Session, exhibitor_id: str) -> str | None:
    return session.exec(select(Zone.id).where(col(Zone.exhibitor_id) == exhibitor_id)).first()


def _fill(lead: Lead, attendee: Attendee) -> None:
    for name, value in lead_contact(attendee).items():
        setattr(lead, name, value)


@dataclass(frozen=True)
class LeadCapture:
    """The exhibitor's lead, whether this capture created it, and what the running server must hear."""

    lead: Lead
    created: bool

    @property
    def changes(self) -> list[Change]:
        """A new lead is a ``lead_scan`` in the attendee's journey: their score is due."""
        return [JourneysChanged((self.lead.attendee_id,))] if self.created else []


def capture(session: Session, *, exhibitor_id: str, attendee: Attendee, source: str,
            captured_by: str, assigned_to: int | None, now: float, device_id: str | None = None,
            zone_id: str | None = None) -> LeadCapture:  # fmt: skip
    """The exhibitor's lead for ``attendee``: created or the existing one (``created`` False). Commits.

    A lead a rule created (source ``rule``, server/rules/outbox.py) before anyone met the attendee counts as
    captured by this first scan: it takes the scan's source and the scan is recorded, as for a new lead, so the
    journey has its "lead scanned" whichever came first, the rule or the scan.
    """
    existing = session.exec(
        select(Lead).where(col(Lead.exhibitor_id) == exhibitor_id, col(Lead.attendee_id) == attendee.id)
    ).first()
    if existing is not None:
        if existing.source != RULE_SOURCE:
            return LeadCapture(existing, False)
        claimed = session.execute(
            update(Lead)
            .where(col(Lead.id) == existing.id, col(Lead.source) == RULE_SOURCE)  # one scan claims it, once
            .values(source=source, captured_by=captured_by, updated_at=now,
                    assigned_to=existing.assigned_to if existing.assigned_to is not None else assigned_to)
        )  # fmt: skip
        if not claimed.rowcount:  # type: ignore[attr-defined]
            session.rollback()
            return LeadCapture(existing, False)
        _record_scan(session, attendee, exhibitor_id, source, now, existing.id, device_id, zone_id)
        session.commit()
        session.refresh(existing)
        return LeadCapture(existing, True)
    lead = Lead(
        event_id=attendee.event_id, exhibitor_id=exhibitor_id, attendee_id=attendee.id, source=source,
        captured_by=captured_by, assigned_to=assigned_to, created_at=now, updated_at=now,
    )  # fmt: skip
    _fill(lead, attendee)
    row = lead.model_dump(exclude={"id"})
    insert: Any = dialect_insert(session.connection(), LEAD)
    inserted = session.execute(
        insert.values(row).on_conflict_do_nothing(index_elements=["exhibitor_id", "attendee_id"]).returning(LEAD.c.id)
    ).first()
    if inserted is None:  # a concurrent capture won the race: theirs is the lead
        session.rollback()
        found = session.exec(
            select(Lead).where(col(Lead.exhibitor_id) == exhibitor_id, col(Lead.attendee_id) == attendee.id)
        ).one()
        return LeadCapture(found, False)
    _record_scan(session, attendee, exhibitor_id, source, now, inserted.id, device_id, zone_id)
    session.commit()
    created = session.get(Lead, inserted.id)
    assert created is not None
    return LeadCapture(created, True)


def _record_scan(session: Session, attendee: Attendee, exhibitor_id: str, source: str, now: float,
                 lead_id: int | None, device_id: str | None, zone_id: str | None) -> None:  # fmt: skip
    session.add(
        Touchpoint(
            event_id=attendee.event_id, type=TouchpointType.LEAD_SCAN, occurred_at=now, received_at=now,
            attendee_id=attendee.id, device_id=device_id, zone_id=zone_id or booth_zone(session, exhibitor_id),
            data={"ref": exhibitor_id, "source": source, "lead_id": lead_id},
        )
    )  # fmt: skip


def sync_contact(session: Session, attendee: Attendee, now: float) -> int:
    """Fill in (or clear) the personal data of the attendee's leads after a consent change. No commit."""
    changed = 0
    for lead in session.exec(select(Lead).where(col(Lead.attendee_id) == attendee.id)):
        if lead.contact_shared != bool(attendee.consent_crm) or lead.contact_shared:
            _fill(lead, attendee)
            lead.updated_at = now
            session.add(lead)
            changed += 1
    return changed


class NfcLeadCapture:
    """An ingest commit listener: a badge tapped on a reader in an exhibitor's booth becomes that exhibitor's
    lead (source ``nfc``). Runs on the ingest writer thread; booth taps are rare, so the work is small."""

    def __init__(self, engine: Engine) -> None:
        self._db = engine
        self._lock = threading.Lock()
        self._reader_booth: dict[str, tuple[str, str]] = {}  # device -> (exhibitor, zone)
        self._loaded_at = float("-inf")
        self.captured = 0

    def _booths(self, session: Session) -> dict[str, tuple[str, str]]:
        with self._lock:
            if time.monotonic() - self._loaded_at > BOOTH_MAP_MAX_AGE_S:
                rows = session.exec(
                    select(Device.id, Zone.exhibitor_id, Zone.id)
                    .join(Zone, col(Zone.id) == col(Device.zone_id))
                    .where(col(Zone.exhibitor_id).is_not(None))
                )
                self._reader_booth = {d: (e, z) for d, e, z in rows if e is not None}
                self._loaded_at = time.monotonic()
            return self._reader_booth

    def invalidate(self) -> None:
        with self._lock:
            self._loaded_at = float("-inf")

    def __call__(self, result: WriteResult) -> None:
        if not result.presence_taps:
            return
        with Session(self._db) as session:
            booths = self._booths(session)
            for tap in result.presence_taps:
                booth = booths.get(tap.device_id)
                if booth is None:
                    continue
                attendee = session.get(Attendee, tap.attendee_id)
                if attendee is None or str(attendee.role) in NOT_LEADS:
                    continue
                captured = capture(
                    session, exhibitor_id=booth[0], attendee=attendee, source="nfc",
                    captured_by=tap.device_id, assigned_to=None, now=tap.at, device_id=tap.device_id,
                    zone_id=booth[1],
                )  # fmt: skip
                self.captured += int(captured.created)
