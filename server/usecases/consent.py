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

Every change is one ``consent_record`` row (purpose, granted, when, through what), never updated. A change
by registration import (server/usecases/registrations.py) takes effect through the same functions
(:func:`consent_changed` in the transaction, :func:`announce` after it) as one in the app.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from server.crm.erasure import enqueue_crm_redaction
from server.crm.outbox import enqueue_crm_change
from server.store.app_models import AttendeeConsent, ConsentRecord
from server.store.models import Attendee
from server.usecases.changes import AttendeeForgotten, Change, DirectoryChanged
from server.usecases.leads import sync_contact

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


@dataclass(frozen=True)
class ConsentUpdate:
    """Every purpose's answer after the update, and what the running server must hear (:func:`announce`)."""

    consents: dict[str, bool]
    changes: list[Change] = field(default_factory=list)


def set_consents(session: Session, attendee: Attendee, changes: Mapping[str, bool], source: str,
                 now: float) -> ConsentUpdate:  # fmt: skip
    """Apply ``changes`` (purpose -> granted), record each real change and commit; the caller publishes
    ``changes`` of the result so that it takes effect in the running server."""
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
    consent_changed(session, attendee, changed, now)
    session.commit()
    session.refresh(attendee)
    return ConsentUpdate({**current, **changed}, announce({attendee.id: changed}))


def consent_changed(session: Session, attendee: Attendee, changed: Mapping[str, bool], now: float) -> None:
    """What a real change of consent (purpose -> granted, already set on ``attendee``) does in its own
    transaction, wherever it was made: in the app (:func:`set_consents`) or by a registration import
    (server/usecases/registrations.py), so that a withdrawal has the same effects either way. No commit.

    ``share_contact``: the attendee's leads get or lose their contact data; granted, the person is queued for
    Salesforce (the Lead gets its contact back); withdrawn, the Lead already synced is redacted.
    """
    if "share_contact" in changed:
        sync_contact(session, attendee, now)
        if changed["share_contact"]:
            enqueue_crm_change(session, attendee.id, reason="consent")  # the Lead gets (back) its contact
        else:
            enqueue_crm_redaction(session, attendee.id, attendee.event_id)


def announce(changes: Mapping[str, Mapping[str, bool]]) -> list[Change]:
    """What committed changes of consent (attendee id -> purpose -> granted) mean to the running server.

    ``tracking``: ingest's directory reloads now (once for all), so the next sighting sees the new consent; a
    withdrawal makes live presence forget the person (here or on the live worker): the open visit closes,
    occupancy drops.
    """
    tracking = {attendee_id: change["tracking"] for attendee_id, change in changes.items() if "tracking" in change}
    if not tracking:
        return []
    forgotten: list[Change] = [AttendeeForgotten(a) for a, granted in tracking.items() if not granted]
    return [DirectoryChanged(), *forgotten]


def consent_history(session: Session, attendee_id: str) -> list[ConsentRecord]:
    query = select(ConsentRecord).where(col(ConsentRecord.attendee_id) == attendee_id)
    return list(session.exec(query.order_by(col(ConsentRecord.at), col(ConsentRecord.id))))
