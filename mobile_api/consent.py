"""Consent per purpose, with an audit trail, taking effect where the data flows.

Purposes and where they are kept:
- ``tracking``: BLE presence (``attendee.consent_tracking``). Ingest drops sightings without it; a change
  reloads ingest's badge directory at once, so the very next sighting is judged by the new answer. A
  withdrawal also makes live presence forget the person at once: their open visit closes, occupancy drops.
- ``push``: notifications on the phone (``attendee.consent_push``).
- ``share_contact``: an exhibitor whose reader I tap or who scans my badge gets my contact, and so does the
  event's CRM (``attendee.consent_crm``). A change fills in or clears my leads' contact data. In Salesforce
  (through the CRM outboxes, in the same transaction): a withdrawal redacts the contact fields of the Lead
  already synced (server/crm/erasure.py, ``redact_contact``); a grant queues the person for a sync.
- ``networking``: other attendees may find me and ask to connect; ``email``: marketing email
  (table ``attendee_consent``).

Every change is one ``consent_record`` row (purpose, granted, when, through what), never updated.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from sqlmodel import Session, col, select

from mobile_api.leads import sync_contact
from server.crm.erasure import enqueue_crm_redaction
from server.crm.outbox import enqueue_crm_change
from server.store.app_models import AttendeeConsent, ConsentRecord
from server.store.models import Attendee

if TYPE_CHECKING:
    from server.services import Services

ON_ATTENDEE = {"tracking": "consent_tracking", "push": "consent_push", "share_contact": "consent_crm"}
EXTRA = ("networking", "email")
PURPOSES = (*ON_ATTENDEE, *EXTRA)


def consents_of(session: Session, attendee: Attendee) -> dict[str, bool]:
    values = {purpose: bool(getattr(attendee, column)) for purpose, column in ON_ATTENDEE.items()}
    values.update(dict.fromkeys(EXTRA, False))
    for row in session.exec(select(AttendeeConsent).where(col(AttendeeConsent.attendee_id) == attendee.id)):
        if row.purpose in EXTRA:
            values[row.purpose] = row.granted
    return values


def set_consents(session: Session, services: Services | None, attendee: Attendee, changes: Mapping[str, bool],
                 source: str, now: float) -> dict[str, bool]:  # fmt: skip
    """Apply ``changes`` (purpose -> granted), record each real change, commit, and make it take effect."""
    unknown = set(changes) - set(PURPOSES)
    if unknown:
        raise ValueError(f"unknown consent purposes: {', '.join(sorted(unknown))}")
    current = consents_of(session, attendee)
    changed = {p: bool(g) for p, g in changes.items() if current[p] != bool(g)}
    for purpose, granted in changed.items():
        if purpose in ON_ATTENDEE:
            setattr(attendee, ON_ATTENDEE[purpose], granted)
        else:
            row = session.get(AttendeeConsent, (attendee.id, purpose))
            row = row or AttendeeConsent(attendee_id=attendee.id, purpose=purpose, granted=granted, updated_at=now)
            row.granted, row.updated_at = granted, now
            session.add(row)
        session.add(ConsentRecord(attendee_id=attendee.id, purpose=purpose, granted=granted, at=now, source=source))
    session.add(attendee)
    if "share_contact" in changed:
        sync_contact(session, attendee, now)
        if changed["share_contact"]:
            enqueue_crm_change(session, attendee.id, reason="consent")  # the Lead gets (back) its contact
        else:
            enqueue_crm_redaction(session, attendee.id, attendee.event_id)
    session.commit()
    session.refresh(attendee)
    if "tracking" in changed and services is not None:
        services.venue_changed()  # ingest's directory reloads now: the next sighting sees the new consent
        if not changed["tracking"]:
            services.forget(attendee.id)  # the open visit closes now (here or on the live worker), occupancy drops
    return {**current, **changed}


def consent_history(session: Session, attendee_id: str) -> list[ConsentRecord]:
    query = select(ConsentRecord).where(col(ConsentRecord.attendee_id) == attendee_id)
    return list(session.exec(query.order_by(col(ConsentRecord.at), col(ConsentRecord.id))))
