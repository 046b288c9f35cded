"""The post-event flow (a seed campaign): once the event has closed, every registered attendee is re-synced.

What the re-sync does follows from the facts (server/crm/facts.py): attendees who never checked in become
"No-show" members and get the "sorry we missed you, here are the materials" follow-up value; those who came get
a follow-up Task for the owner rep of their Lead, due within the mapping's ``tasks.follow_up.due_days``. The
changes are enqueued hottest first (highest engagement score), so reps see their best leads first.

It runs once per event: a marker row in ``crm_sync_state`` (``PostEvent:<event id>``) is written in the same
transaction as the changes.
"""

from __future__ import annotations

import logging

from sqlalchemy import Engine, select
from sqlmodel import col

from server.crm.outbox import enqueue_crm_change
from server.crm.state import save_states
from server.store.crm_models import CrmSyncState
from server.store.models import Attendee, AttendeeScore, Event

log = logging.getLogger(__name__)
MARKER = "PostEvent"


def run_post_event(engine: Engine, event_id: str, *, now: float, force: bool = False) -> int:
    """Enqueue the event's attendees hottest first; returns how many (0 when it ran before, unless ``force``)."""
    with engine.begin() as conn:
        if (
            not force
            and conn.execute(
                select(col(CrmSyncState.record_key)).where(col(CrmSyncState.record_key) == f"{MARKER}:{event_id}")
            ).first()
        ):
            return 0
        query = (
            select(col(Attendee.id))
            .outerjoin(AttendeeScore, col(AttendeeScore.attendee_id) == col(Attendee.id))
            .where(col(Attendee.event_id) == event_id)
            .order_by(col(AttendeeScore.score).desc().nulls_last(), col(Attendee.id))
        )
        ids = [row[0] for row in conn.execute(query)]
        count = enqueue_crm_change(conn, ids, reason="post_event")
        row = {
            "record_key": f"{MARKER}:{event_id}",
            "event_id": event_id,
            "attendee_id": None,
            "sobject": MARKER,
            "external_id": event_id,
            "sf_id": None,
            "status": "synced",
            "error": None,
            "payload_hash": None,
            "attempts": 0,
            "enqueued_at": now,
            "updated_at": now,
            "synced_at": now,
        }
        save_states(conn, [row])
    log.info("post-event flow for %s: %d attendees enqueued, hottest first", event_id, count)
    return count


def closed_events(engine: Engine, now: float) -> list[str]:
    """Events that have ended and have not had their post-event flow yet."""
    with engine.connect() as conn:
        ended = [r[0] for r in conn.execute(select(col(Event.id)).where(col(Event.ends_at) <= now))]
        done = {
            r[0] for r in conn.execute(select(col(CrmSyncState.external_id)).where(col(CrmSyncState.sobject) == MARKER))
        }
    return [e for e in ended if e not in done]
