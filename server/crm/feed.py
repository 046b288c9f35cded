"""The change feed: what tells the outbox that an attendee's Salesforce records are out of date.

* score changes — :func:`on_rescore` listens inside the ScoreKeeper's rescoring transaction;
* registration import, lead capture — callers use ``enqueue_crm_change`` in their own transaction;
* leads, as a safety net — :func:`pull_leads` enqueues attendees whose leads changed since a watermark kept in
  ``crm_sync_state`` (same transaction), so a capture path that forgets to enqueue still reaches Salesforce;
* rules — a ``crm_update`` action leaves an ``action_outbox`` row of kind ``crm``; :func:`pull_rule_actions`
  moves it into this outbox (same transaction), with the fields to set.

Enqueueing too often costs nothing in Salesforce: unchanged records are not sent again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, func, select, update
from sqlmodel import SQLModel, col

from server.crm.outbox import enqueue_crm_change
from server.crm.state import save_states
from server.store.crm_models import CrmSyncState

if TYPE_CHECKING:
    from server.store.journeys import ScoreChange

SCORE_STEP = 1.0  # a score that moved less than a point is not worth an API call; stage or grade changes are
LEAD_OVERLAP_S = 5.0  # re-read leads this far behind the watermark: transactions commit out of timestamp order
FEED_BATCH = 1000


def on_rescore(conn: Connection, changes: list[ScoreChange]) -> None:
    """Enqueue attendees whose stage changed or whose score moved by SCORE_STEP (in the rescoring transaction)."""
    moved = [
        c.attendee_id
        for c in changes
        if c.old_score is None or c.old_stage != c.new_stage or abs(c.new_score - c.old_score) >= SCORE_STEP
    ]
    if moved:
        enqueue_crm_change(conn, moved, reason="score")


def pull_rule_actions(engine: Engine, now: float) -> int:
    table = SQLModel.metadata.tables.get("action_outbox")
    if table is None:
        return 0
    with engine.begin() as conn:
        rows = conn.execute(
            select(table.c.id, table.c.attendee_id, table.c.payload)
            .where(table.c.kind == "crm", table.c.status == "pending")
            .order_by(table.c.id)
            .limit(FEED_BATCH)
        ).all()
        for _id, attendee_id, payload in rows:
            fields = (payload or {}).get("fields") or None
            if attendee_id:
                enqueue_crm_change(conn, attendee_id, reason="rule", fields=fields, now=now)
        if rows:
            conn.execute(update(table).where(table.c.id.in_([r[0] for r in rows])).values(status="sent", done_at=now))
    return len(rows)


def pull_leads(engine: Engine, now: float) -> int:
    table = SQLModel.metadata.tables.get("lead")
    if table is None:
        return 0
    key = "LeadFeed:all"
    with engine.begin() as conn:
        mark = conn.execute(select(col(CrmSyncState.enqueued_at)).where(col(CrmSyncState.record_key) == key)).first()
        since = (mark[0] or 0.0) if mark else 0.0
        rows = conn.execute(
            select(table.c.attendee_id, func.max(table.c.updated_at))
            .where(table.c.updated_at > since - LEAD_OVERLAP_S)
            .group_by(table.c.attendee_id)
        ).all()
        if not rows:
            return 0
        newest = max(r[1] for r in rows)
        fresh = [r[0] for r in rows if r[1] > since]
        if fresh:
            enqueue_crm_change(conn, fresh, reason="lead", now=now)
        save_states(
            conn,
            [
                {
                    "record_key": key,
                    "event_id": "",
                    "attendee_id": None,
                    "sobject": "LeadFeed",
                    "external_id": "all",
                    "sf_id": None,
                    "status": "synced",
                    "error": None,
                    "payload_hash": None,
                    "attempts": 0,
                    "enqueued_at": max(since, newest),
                    "updated_at": now,
                    "synced_at": now,
                }
            ],
        )
    return len(fresh)
