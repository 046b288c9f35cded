"""The transactional outbox: ``enqueue_crm_change`` in the caller's transaction, and what the worker reads.

A change is recorded in the *same* transaction as the change itself, so a committed change always reaches
Salesforce and a rolled-back one never does. Example, in lead capture::

    with Session(engine) as session:
        session.add(lead)
        enqueue_crm_change(session, lead.attendee_id, reason="lead")
        session.commit()

A rule's ``crm_update`` action passes field values to set: ``enqueue_crm_change(conn, "a1", reason="rule",
fields={"Status": "Working - Contacted"})``. Attendees without CRM consent (``consent_crm`` false) and event
staff are dropped here — and again at send time, in case consent is withdrawn in between.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update
from sqlmodel import Session, col

from server.crm.facts import IN_CHUNK, chunks
from server.store.crm_models import CrmOutbox, CrmSyncState
from server.store.models import Attendee, AttendeeRole

Db = Connection | Session


def enqueue_crm_change(
    db: Db,
    attendee_ids: str | Iterable[str],
    *,
    reason: str = "change",
    fields: Mapping[str, Any] | None = None,
    now: float | None = None,
) -> int:
    """Record that these attendees' Salesforce records must be brought up to date; returns rows written.

    Consent-less attendees and staff are skipped (they never leave the building). ``fields`` are Salesforce
    field values set on the person's Lead/Contact on top of the mapping (later changes win). ``now`` is
    wall-clock time (the lag to Salesforce is measured from it), not a replayed event's clock.
    """
    ids = [attendee_ids] if isinstance(attendee_ids, str) else list(dict.fromkeys(attendee_ids))
    if not ids:
        return 0
    at = time.time() if now is None else now
    rows: list[dict[str, Any]] = []
    for chunk in chunks(ids, IN_CHUNK):
        query = select(col(Attendee.id), col(Attendee.event_id)).where(
            col(Attendee.id).in_(chunk), col(Attendee.consent_crm).is_(True), col(Attendee.role) != AttendeeRole.STAFF
        )
        rows.extend(
            {
                "event_id": event_id,
                "attendee_id": attendee_id,
                "reason": reason[:32],
                "fields": dict(fields) if fields else None,
                "created_at": at,
                "next_attempt_at": 0.0,
                "attempts": 0,
            }
            for attendee_id, event_id in db.execute(query)
        )
    if rows:
        db.execute(insert(CrmOutbox), rows)
    return len(rows)


@dataclass(frozen=True)
class Change:
    """The outbox rows of one attendee read in one drain, coalesced: field overrides merged oldest first."""

    attendee_id: str
    event_id: str
    row_ids: tuple[int, ...]
    fields: dict[str, Any]
    enqueued_at: float  # the oldest change: how long this attendee has waited
    attempts: int


def due_changes(db: Db, now: float, limit_rows: int) -> list[Change]:
    """The oldest due rows (at most ``limit_rows``), grouped by attendee in the order they were written."""
    table = CrmOutbox.__table__  # type: ignore[attr-defined]
    query = select(table).where(table.c.next_attempt_at <= now).order_by(table.c.id).limit(limit_rows)
    grouped: dict[str, list[Any]] = {}
    for row in db.execute(query).mappings():
        grouped.setdefault(row["attendee_id"], []).append(row)
    changes = []
    for attendee_id, rows in grouped.items():
        merged: dict[str, Any] = {}
        for row in rows:
            merged.update(row["fields"] or {})
        changes.append(
            Change(
                attendee_id,
                rows[0]["event_id"],
                tuple(r["id"] for r in rows),
                merged,
                min(r["created_at"] for r in rows),
                max(r["attempts"] for r in rows),
            )
        )
    return changes


def done(db: Db, row_ids: Iterable[int]) -> None:
    """The changes are in Salesforce (or parked in sync state): their rows go. Later rows stay."""
    for chunk in _int_chunks(list(row_ids)):
        db.execute(delete(CrmOutbox).where(col(CrmOutbox.id).in_(chunk)))


def back_off(db: Db, row_ids: Iterable[int], next_attempt_at: float, error: str) -> None:
    for chunk in _int_chunks(list(row_ids)):
        db.execute(
            update(CrmOutbox)
            .where(col(CrmOutbox.id).in_(chunk))
            .values(attempts=CrmOutbox.attempts + 1, next_attempt_at=next_attempt_at, error=error[:2000])
        )


def redrive(db: Db, *, attendee_id: str | None = None, record_key: str | None = None, now: float | None = None) -> int:
    """Parked (and failed) records back to pending, and a fresh change per attendee; returns attendees re-driven.

    With neither argument: every parked record. A re-drive is the operator saying "fixed it, try again".
    """
    query = select(col(CrmSyncState.record_key), col(CrmSyncState.attendee_id)).where(
        col(CrmSyncState.status).in_(["parked", "failed"])
    )
    if attendee_id is not None:
        query = query.where(col(CrmSyncState.attendee_id) == attendee_id)
    if record_key is not None:
        query = query.where(col(CrmSyncState.record_key) == record_key)
    found = list(db.execute(query))
    keys = [key for key, _ in found]
    for chunk in chunks(keys, IN_CHUNK):
        db.execute(
            update(CrmSyncState)
            .where(col(CrmSyncState.record_key).in_(chunk))
            .values(status="pending", error=None, attempts=0, payload_hash=None)
        )
    attendees = sorted({a for _, a in found if a})
    if attendee_id is not None and attendee_id not in attendees:
        attendees.append(attendee_id)  # re-driving an attendee re-sends it even with nothing parked
    enqueue_crm_change(db, attendees, reason="retry", now=now)
    return len(attendees)


def outbox_stats(db: Db, now: float) -> dict[str, float]:
    """Pending changes, attendees waiting, and the age of the oldest change (the lag an operator watches)."""
    pending, oldest = db.execute(select(func.count(), func.min(CrmOutbox.created_at))).one()
    waiting = db.execute(select(func.count(func.distinct(CrmOutbox.attendee_id)))).scalar_one()
    return {
        "outbox_rows": int(pending),
        "attendees_waiting": int(waiting),
        "lag_s": max(0.0, now - oldest) if oldest is not None else 0.0,
    }


def state_counts(db: Db) -> dict[str, int]:
    """Records per sync status (the deployment id kept in the same table is no record)."""
    rows = db.execute(
        select(col(CrmSyncState.status), func.count())
        .where(col(CrmSyncState.sobject) != "Deployment")
        .group_by(CrmSyncState.status)
    )
    return {str(status): int(n) for status, n in rows}


def noted_count(db: Db) -> int:
    """Records synced with changes Salesforce needed (cut to length, an email it refuses sent empty ...): their
    sync state's ``error`` says which (server/crm/shape.py)."""
    query = select(func.count()).where(col(CrmSyncState.status) == "synced", col(CrmSyncState.error).like("note:%"))
    return int(db.execute(query.select_from(CrmSyncState)).scalar_one())


def _int_chunks(ids: list[int]) -> Iterable[list[int]]:
    for start in range(0, len(ids), IN_CHUNK):
        yield ids[start : start + IN_CHUNK]
