"""Privacy promises: erasure reaches every table (found by introspection, not by a list), and raw sightings
are purged after the retention limit."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from route_matrix import issue, seed
from sqlalchemy import (
    JSON,
    Boolean,
    Engine,
    Float,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    delete,
    func,
    insert,
    or_,
    select,
)
from sqlmodel import Session, SQLModel
from support import ADMIN, ALICE_BEACON, AUTH, EVENT, T0

from server.app import create_app
from server.core.config import load_settings
from server.security.retention import purge_sightings
from server.store import registry  # noqa: F401  (every table module imported: metadata knows them all)
from server.store.crm_models import CrmErasure, CrmSyncState
from server.store.db import make_engine, migrate
from server.store.models import AgendaSession, Attendee, Touchpoint, TouchpointType

ME = "zq7x-person"  # an id that appears nowhere by chance
MY_EMAIL = "zq7x@example.org"


@pytest.fixture
def env(database_url: str, tmp_path: Path) -> Iterator[tuple[TestClient, Engine]]:
    engine = make_engine(database_url)
    migrate(engine)
    seed(engine)
    with Session(engine) as s:
        s.add(AgendaSession(id="s1", event_id=EVENT, zone_id="booth-1", title="Talk", starts_at=T0, ends_at=T0 + 3600))
        s.add(Attendee(id=ME, event_id=EVENT, name="Zed Q", email=MY_EMAIL, badge_id="B-ZQ7X", badge_uid="04zz7x",
                       beacon_id="ibeacon:zq7x", consent_tracking=True, consent_push=True, consent_crm=True,
                       registered_at=T0))  # fmt: skip
        s.commit()
    settings = load_settings(database_url=database_url, ingest_enabled=False, admin_token=ADMIN,
                             var_dir=tmp_path / "var")  # fmt: skip
    with TestClient(create_app(settings)) as client:
        yield client, engine
    engine.dispose()


def _dummy(column: Any, table: Table, engine: Engine, n: int) -> Any:
    """A value for a required column: a real row's id for a foreign key, else a plain value of its type."""
    if "attendee" in column.name or column.name in ("subject", "recipient"):
        return ME
    for fk in column.foreign_keys:
        target = fk.column
        if target.table.name == "attendee":
            return ME
        with engine.connect() as conn:
            value = conn.execute(select(target).limit(1)).scalar()
        if value is None:
            raise AssertionError(f"no row in {target.table.name} to point {table.name}.{column.name} at")
        return value
    kind = column.type
    if isinstance(kind, Boolean):
        return False
    if isinstance(kind, Integer):
        return 900_000 + n
    if isinstance(kind, Float):
        return T0
    if isinstance(kind, JSON) or type(kind).__name__.lower().startswith("json"):
        return {"about": ME}
    if isinstance(kind, LargeBinary):
        return ME.encode()
    length = getattr(kind, "length", None)
    return f"{column.name}-{n}"[: length or None]


def _fill_every_table_that_names_an_attendee(engine: Engine) -> list[str]:
    """One row in every table with a column naming an attendee, whatever area added it."""
    filled = []
    for n, table in enumerate(SQLModel.metadata.sorted_tables):
        if table.name == "attendee" or not any("attendee" in c.name for c in table.columns):
            continue
        mine = [c == ME for c in table.columns if "attendee" in c.name]
        with engine.connect() as conn:
            if conn.execute(select(func.count()).select_from(table).where(or_(*mine))).scalar_one():
                filled.append(table.name)  # the product already wrote one (lead, consent record ...)
                continue
        row = {}
        for column in table.columns:
            if column.primary_key and column.autoincrement is True and isinstance(column.type, Integer):
                continue
            if column.nullable and "attendee" not in column.name and not column.foreign_keys:
                continue
            row[column.name] = _dummy(column, table, engine, n)
        with engine.begin() as conn:
            conn.execute(insert(table).values(**row))
        filled.append(table.name)
    return filled


def _where_i_remain(engine: Engine) -> list[str]:
    """Every (table.column) still holding my id or my email, anywhere in the database."""
    found = []
    metadata = MetaData()
    metadata.reflect(engine)
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            if table.name == "alembic_version":
                continue
            for row in conn.execute(select(table)).mappings():
                for name, value in row.items():
                    text = value.decode(errors="replace") if isinstance(value, bytes) else value
                    if not isinstance(text, str):
                        text = orjson.dumps(text, default=str).decode()
                    if ME in text or MY_EMAIL in text:
                        found.append(f"{table.name}.{name}")
    return sorted(set(found))


def test_erasure_leaves_no_row_anywhere_that_references_the_attendee(
    env: tuple[TestClient, Engine], caplog: pytest.LogCaptureFixture
):
    client, engine = env
    me = issue(client, "attendee", ME)
    # Through the product: consent changes (audit trail), a bookmark, a connection, a lead, a push subscription.
    assert client.put("/app/v1/me/consent", json={"networking": True, "email": True}, headers=me).status_code == 200
    assert client.put("/app/v1/agenda/s1/bookmark", headers=me).status_code in (200, 201, 204)
    assert client.post("/app/v1/exhibitor/leads", json={"badge_id": "B-ZQ7X"},
                       headers=issue(client, "exhibitor", "acme")).status_code in (200, 201)  # fmt: skip
    with Session(engine) as s:
        s.add(Touchpoint(event_id=EVENT, type=TouchpointType.TAP, occurred_at=T0, received_at=T0, attendee_id=ME,
                         device_id="door-1", seq=1, zone_id="entrance"))  # fmt: skip
        s.commit()
    # Then every other table that can name an attendee (rules' inbox and decisions, CRM outbox and sync state ...).
    filled = _fill_every_table_that_names_an_attendee(engine)
    assert {"crm_outbox", "crm_sync_state", "touchpoint", "visit", "lead", "notification"} <= set(filled)
    assert _where_i_remain(engine), "the arrangement put my id in the database"

    with caplog.at_level(logging.INFO):
        erased = client.delete("/app/v1/me", headers=me)
    assert erased.status_code == 200, erased.text
    # One thing is left on purpose: the instruction to erase me in Salesforce too, which must survive a crash
    # or an outage. It holds only the key that finds my Lead there, and goes once Salesforce has done it
    # (tests/crm/test_crm_erasure.py).
    assert _where_i_remain(engine) == ["crm_erasure.external_id"]
    assert erased.json()["erased"]["salesforce_delete"] == 1
    with engine.begin() as conn:
        conn.execute(delete(CrmErasure))  # as the CRM worker does once Salesforce has done it
    assert _where_i_remain(engine) == []
    assert client.get("/app/v1/me", headers=me).status_code == 401
    assert any("erased" in r.getMessage() and ME not in r.getMessage() for r in caplog.records), (
        "the erasure is logged (without the person's id)"
    )


def test_raw_sightings_older_than_the_retention_limit_are_purged(env: tuple[TestClient, Engine]):
    _client, engine = env
    day = 86400.0
    now = T0 + 30 * day
    with Session(engine) as s:
        for i, age_days in enumerate((40, 8, 6, 1)):
            s.add(Touchpoint(event_id=EVENT, type=TouchpointType.SIGHTING, occurred_at=now - age_days * day,
                             received_at=now, device_id="booth-1-scanner", seq=i, beacon_id=ALICE_BEACON))  # fmt: skip
        s.add(Touchpoint(event_id=EVENT, type=TouchpointType.TAP, occurred_at=now - 40 * day, received_at=now,
                         device_id="door-1", seq=99, attendee_id="alice"))  # fmt: skip
        s.commit()
    assert purge_sightings(engine, keep_days=7, now=now) == 2
    with engine.connect() as conn:
        table = Touchpoint.__table__  # type: ignore[attr-defined]
        kinds = {str(k): int(n) for k, n in conn.execute(select(table.c.type, func.count()).group_by(table.c.type))}
    assert kinds == {"sighting": 2, "tap": 1}  # the deliberate tap is kept


def test_the_purge_command_uses_the_configured_retention(
    env: tuple[TestClient, Engine], database_url: str, monkeypatch: pytest.MonkeyPatch
):
    from typer.testing import CliRunner

    from server.cli import app

    _client, engine = env
    with Session(engine) as s:
        s.add(Touchpoint(event_id=EVENT, type=TouchpointType.SIGHTING, occurred_at=T0, received_at=T0,
                         device_id="booth-1-scanner", seq=1, beacon_id=ALICE_BEACON))  # fmt: skip
        s.commit()
    monkeypatch.setenv("TOUCHPOINTS_DATABASE_URL", database_url)
    monkeypatch.setenv("TOUCHPOINTS_SIGHTING_RETENTION_DAYS", "7")
    result = CliRunner().invoke(app, ["privacy", "purge"])
    assert result.exit_code == 0, result.output
    assert "deleted 1 raw sighting" in result.output


def test_consent_given_at_registration_is_recorded_with_its_time_and_source(env: tuple[TestClient, Engine]):
    client, _engine = env
    csv = "id,name,email,consent_tracking,consent_crm\nreg-1,Reg One,reg1@example.org,true,false\n"
    answer = client.post("/api/v1/registrations", content=csv, headers={**AUTH, "content-type": "text/csv"})
    assert answer.status_code in (200, 201), answer.text
    me = issue(client, "attendee", "reg-1")
    history = client.get("/app/v1/me/consent", headers=me).json()
    entries = {(h["purpose"], h["granted"], h["source"]) for h in history["history"]}
    assert entries == {("tracking", True, "registration"), ("share_contact", False, "registration")}
    client.put("/app/v1/me/consent", json={"tracking": False}, headers=me)
    history = client.get("/app/v1/me/consent", headers=me).json()["history"]
    assert (history[-1]["purpose"], history[-1]["granted"], history[-1]["source"]) == ("tracking", False, "app")


def test_an_organizer_erases_a_person_from_the_shell(
    env: tuple[TestClient, Engine], database_url: str, monkeypatch: pytest.MonkeyPatch
):
    from typer.testing import CliRunner

    from server.cli import app

    _client, engine = env
    with engine.begin() as conn:  # the person reached the CRM once (sync state: a synced Lead)
        conn.execute(insert(CrmSyncState).values(record_key=f"Lead:{ME}", event_id=EVENT, attendee_id=ME,
                                                 sobject="Lead", external_id=ME, sf_id="00Q000000000001AAA",
                                                 status="synced", attempts=0, updated_at=T0))  # fmt: skip
    monkeypatch.setenv("TOUCHPOINTS_DATABASE_URL", database_url)
    monkeypatch.setenv("TOUCHPOINTS_EVENT_ID", EVENT)
    monkeypatch.setenv("TOUCHPOINTS_SALESFORCE_ERASURE", "anonymise")
    dry = CliRunner().invoke(app, ["privacy", "erase", ME])
    assert dry.exit_code == 0 and "would erase" in dry.output and "crm_sync_state=1" in dry.output, dry.output
    with Session(engine) as s:
        assert s.get(Attendee, ME) is not None
    done = CliRunner().invoke(app, ["privacy", "erase", ME, "--yes"])
    assert done.exit_code == 0, done.output
    assert "salesforce_anonymise=1" in done.output
    with Session(engine) as s:
        assert s.get(Attendee, ME) is None
        [row] = s.execute(select(CrmErasure)).scalars()
        assert (row.policy, row.sf_id) == ("anonymise", "00Q000000000001AAA")
    assert CliRunner().invoke(app, ["privacy", "erase", ME, "--yes"]).exit_code == 1  # gone: nothing to erase
