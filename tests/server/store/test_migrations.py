"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

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
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == "0003"


def test_sqlite_runs_in_wal_mode(database_url: str, engine: Engine):
    if engine.dialect.name != "sqlite":
        pytest.skip("a SQLite property")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"


def test_a_journey_is_read_without_walking_the_attendees_sightings(engine: Engine):
    """Sightings are almost all of an attendee's rows; the journey's query uses the index that holds none."""
    from server.live.journeys import journey_touchpoints

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
    statement = journey_touchpoints("a7").compile(engine, compile_kwargs={"literal_binds": True})
    explain = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
    with engine.connect() as conn:
        plan = " ".join(str(row) for row in conn.execute(text(explain + str(statement))))
    assert "ix_touchpoint_attendee_journey" in plan
