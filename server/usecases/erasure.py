"""Export all my data, and erase it (the right of access and the right to erasure).

Which rows are "mine" is found from the schema, not listed by hand, so that a table another area adds later
(rules' inbox, push subscriptions, connections, CRM outbox ...) is covered without changing this module: a
row is mine when a column whose name mentions ``attendee`` holds my id. Sign-in rows (codes, refresh and
access tokens) name me in ``subject``. Secrets (hashes of codes and tokens) are never exported.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import Column, Table, delete, or_, select
from sqlmodel import Session, SQLModel

from server.crm.erasure import enqueue_crm_erasure
from server.store import registry  # noqa: F401  (every table module is imported, so metadata knows them all)
from server.store.app_models import AccountKind, LoginCode, RefreshToken
from server.store.models import ApiToken, Attendee, Role
from server.usecases.changes import AttendeeForgotten, Change, DirectoryChanged

log = logging.getLogger(__name__)

SECRET_MARKERS = ("hash", "secret", "password")


def _person_columns(table: Table) -> list[Column[Any]]:
    if table.name == Attendee.__tablename__:
        return []
    return [c for c in table.columns if "attendee" in c.name]


def _subject_filters() -> dict[str, Any]:
    return {
        LoginCode.__tablename__: lambda t, me: (t.c.kind == AccountKind.ATTENDEE.value) & (t.c.subject == me),
        RefreshToken.__tablename__: lambda t, me: (t.c.kind == AccountKind.ATTENDEE.value) & (t.c.subject == me),
        ApiToken.__tablename__: lambda t, me: (t.c.role == Role.ATTENDEE.value) & (t.c.subject == me),
    }


def _mine(table: Table, attendee_id: str) -> Any | None:
    special = _subject_filters().get(table.name)
    if special is not None:
        return special(table, attendee_id)
    columns = _person_columns(table)
    return or_(*(c == attendee_id for c in columns)) if columns else None


def _plain(row: Any, table: Table) -> dict[str, Any]:
    return {
        str(c.name): getattr(row, c.name)
        for c in table.columns
        if not any(marker in c.name for marker in SECRET_MARKERS) and not isinstance(getattr(row, c.name), bytes)
    }


def export(session: Session, attendee: Attendee) -> dict[str, Any]:
    """Everything stored about the attendee, by table (JSON-ready)."""
    tables: dict[str, list[dict[str, Any]]] = {}
    for table in SQLModel.metadata.sorted_tables:
        where = _mine(table, attendee.id)
        if where is None:
            continue
        rows = [_plain(r, table) for r in session.execute(select(table).where(where))]
        if rows:
            tables[str(table.name)] = rows
    attendee_table: Table = Attendee.__table__  # type: ignore[attr-defined]
    return {"attendee": _plain(attendee, attendee_table), "tables": tables}


def erase(session: Session, attendee: Attendee, crm_policy: str = "delete") -> dict[str, int]:
    """Delete every row about the attendee, children before parents, then the attendee. Commits.

    What reached Salesforce is erased there too, per ``crm_policy`` (TOUCHPOINTS_SALESFORCE_ERASURE: delete
    or anonymise the Lead): the instruction is written to the CRM erasure outbox in this same transaction
    (server/crm/erasure.py), before the sync state that locates the Lead is deleted; ``counts`` then has
    ``salesforce_<policy>: 1``. An attendee who never reached the CRM writes nothing.
    """
    counts: dict[str, int] = {}
    if enqueue_crm_erasure(session, attendee.id, attendee.event_id, crm_policy):
        counts[f"salesforce_{crm_policy}"] = 1
    for table in reversed(SQLModel.metadata.sorted_tables):
        where = _mine(table, attendee.id)
        if where is None:
            continue
        deleted = session.execute(delete(table).where(where)).rowcount  # type: ignore[attr-defined]
        if deleted:
            counts[str(table.name)] = int(deleted)
    session.delete(attendee)
    session.commit()
    counts["attendee"] = 1
    # The audit trail of an erasure: when and how much, never who (the log would otherwise keep the person).
    log.info("erased an attendee: %s", ", ".join(f"{t}={n}" for t, n in sorted(counts.items())))
    return counts


def erased(attendee_id: str) -> list[Change]:
    """What an erasure means to the running server: ingest forgets the badge (its next signal is unknown) and
    live presence drops the person at once, writing nothing (their visits are already deleted), here or on the
    live worker (docs/scaling.md). A CLI erasure publishes nothing: a running server's directory forgets the
    badge within its reload interval."""
    return [DirectoryChanged(), AttendeeForgotten(attendee_id, erased=True)]
