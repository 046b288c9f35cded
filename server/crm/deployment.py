"""This deployment's namespace in Salesforce External IDs, made once and kept in the database.

Every External ID value the sync writes is ``<deployment>:<event>:<local key>`` (:meth:`Mapping.ext`). A
second event, a second Touchpoints deployment or a database rebuilt from scratch that write to the same org
then never upsert onto each other's Leads, members or Tasks (a bare attendee id or ``lead:5``, a database
counter, collided). The id is ``TOUCHPOINTS_SALESFORCE_DEPLOYMENT_ID`` when set (keep it when you rebuild a
database on purpose, so the new one finds its records), else generated on first use and stored in
``crm_sync_state`` (record key ``Deployment:id``), so restarts and other processes share it.

Records written before namespacing (sync state with the old External ID value and a Salesforce id) are moved
to the new value by an update by Id the next time they are sent (server/crm/shape.py), not duplicated.
"""

from __future__ import annotations

import re
import secrets
import time

from sqlalchemy import Engine, select
from sqlmodel import col

from server.crm.state import save_states
from server.store.crm_models import CrmSyncState
from server.store.db import dialect_insert

KEY = "Deployment:id"
VALID = re.compile(r"[A-Za-z0-9_-]{1,32}")  # goes into External IDs and SOQL literals: no ':' and no quotes


def deployment_id(engine: Engine, configured: str | None = None) -> str:
    """The configured id (stored for the record), else the stored one, else a new ``tp<8 hex>`` stored now
    (two processes racing store one of theirs: both read it back)."""
    if configured is not None and not VALID.fullmatch(configured):
        raise ValueError(f"TOUCHPOINTS_SALESFORCE_DEPLOYMENT_ID {configured!r}: 1-32 letters, digits, '-' or '_'")
    stored = _stored(engine)
    if configured is None and stored:
        return stored
    value = configured or "tp" + secrets.token_hex(4)
    if value == stored:
        return value
    now = time.time()
    row = {"record_key": KEY, "event_id": "", "attendee_id": None, "sobject": "Deployment", "external_id": value,
           "sf_id": None, "status": "synced", "error": None, "payload_hash": None, "attempts": 0,
           "enqueued_at": None, "updated_at": now, "synced_at": now}  # fmt: skip
    with engine.begin() as conn:
        if configured is not None:
            save_states(conn, [row])
        else:
            table = CrmSyncState.__table__  # type: ignore[attr-defined]
            conn.execute(dialect_insert(conn, table).on_conflict_do_nothing(index_elements=["record_key"]), [row])
    return configured or _stored(engine) or value


def _stored(engine: Engine) -> str | None:
    with engine.connect() as conn:
        stored = conn.execute(select(col(CrmSyncState.external_id)).where(col(CrmSyncState.record_key) == KEY)).scalar()
    return str(stored) if stored else None
