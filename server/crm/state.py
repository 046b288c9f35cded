"""Per-record sync state: load it for a batch, save what a drain learned (one upsert per record)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, select
from sqlmodel import col

from server.crm.facts import IN_CHUNK, chunks
from server.store.crm_models import CrmSyncState
from server.store.db import dialect_insert


def load_states(conn: Connection, attendee_ids: Iterable[str], keys: Iterable[str] = ()) -> dict[str, dict[str, Any]]:
    table = CrmSyncState.__table__  # type: ignore[attr-defined]
    out: dict[str, dict[str, Any]] = {}
    for chunk in chunks(list(attendee_ids), IN_CHUNK):
        for row in conn.execute(select(table).where(col(CrmSyncState.attendee_id).in_(chunk))).mappings():
            out[row["record_key"]] = dict(row)
    for chunk in chunks(list(keys), IN_CHUNK):
        for row in conn.execute(select(table).where(col(CrmSyncState.record_key).in_(chunk))).mappings():
            out[row["record_key"]] = dict(row)
    return out


def save_states(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Insert or update whole rows (every column given), keyed by record_key."""
    if not rows:
        return
    table = CrmSyncState.__table__  # type: ignore[attr-defined]
    insert: Any = dialect_insert(conn, table)
    for start in range(0, len(rows), 500):
        chunk = rows[start : start + 500]
        columns = [c for c in chunk[0] if c != "record_key"]
        statement = insert.on_conflict_do_update(
            index_elements=["record_key"], set_={c: insert.excluded[c] for c in columns}
        )
        conn.execute(statement, chunk)
