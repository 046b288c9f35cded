"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, text
from sqlmodel import SQLModel

import server.store.registry  # noqa: F401  (every table on the metadata)
from server.store.db import migrate


def test_migrated_schema_matches_the_models(engine: Engine):
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, SQLModel.metadata) == []


def test_migrating_twice_changes_nothing(engine: Engine):
    before = sorted(inspect(engine).get_table_names())
    migrate(engine)
    assert sorted(inspect(engine).get_table_names()) == before
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == "0004"


def test_sqlite_runs_in_wal_mode(database_url: str, engine: Engine):
    if engine.dialect.name != "sqlite":
        pytest.skip("a SQLite property")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"


def _store_a_day_in_miniature(engine: Engine) -> None:
    """Sightings are almost all the rows, of every attendee and every reader; a few taps beside them."""
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO event (id, name, timezone, starts_at, ends_at) VALUES ('e', 'E', 'UTC', 0, 1)"))
        rows = [{"type": "sighting", "attendee": f"a{n % 20}", "at": float(n), "seq": n} for n in range(4000)]
        rows += [{"type": "tap", "attendee": f"a{n % 20}", "at": float(n), "seq": None} for n in range(40)]
        conn.execute(
            text("INSERT INTO touchpoint (event_id, type, occurred_at, received_at, attendee_id, device_id, seq, idx) "
                 "VALUES ('e', :type, :at, :at, :attendee, 'd', :seq, 0)"),
            rows,
        )  # fmt: skip
        conn.execute(text("ANALYZE"))


def _plan(engine: Engine, statement: Any) -> str:
    compiled = statement.compile(engine, compile_kwargs={"literal_binds": True})
    explain = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
    with engine.connect() as conn:
        return " ".join(str(row) for row in conn.execute(text(explain + str(compiled))))


def test_a_journey_is_read_without_walking_the_attendees_sightings(engine: Engine):
    from server.store.journeys import journey_touchpoints

    _store_a_day_in_miniature(engine)
    assert "ix_touchpoint_attendee_journey" in _plan(engine, journey_touchpoints(["a7"]))


def test_check_in_taps_are_read_without_walking_the_readers_sightings(engine: Engine):
    from sqlmodel import col, select

    from server.store.models import NOT_A_SIGHTING, Touchpoint

    _store_a_day_in_miniature(engine)
    taps = select(Touchpoint.attendee_id).where(
        col(Touchpoint.type) == "tap", NOT_A_SIGHTING, col(Touchpoint.device_id).in_(["d"])
    )  # as the dashboard's and analytics' check-in queries ask
    plan = _plan(engine, taps)
    # Either index without sightings will do (PostgreSQL may scan the small attendee one whole).
    assert "ix_touchpoint_type_event" in plan or "ix_touchpoint_attendee_journey" in plan
