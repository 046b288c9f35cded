"""Plain builders for the Salesforce sync tests: a small event, scores, a connection to the emulator."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from sqlalchemy import Engine
from sqlmodel import Session

from server.crm.connection import ConnectionConfig
from server.crm.deployment import deployment_id
from server.crm.emulator.server import EmulatorServer
from server.crm.outbox import enqueue_crm_change
from server.crm.worker import CrmSync
from server.store.models import Attendee, AttendeeRole, AttendeeScore, Event, Exhibitor, Visit, Zone, ZoneKind

EVENT = "conf"
T0 = 1_780_000_000.0  # the event starts here; tests pass time explicitly
T_END = T0 + 9 * 3600
GENERATED = re.compile(r"tp[0-9a-f]{8}")  # a deployment id made on first use (server/crm/deployment.py)


def local(value: str, event: str = EVENT) -> str:
    """An External ID value without its namespace, which must be a generated deployment id and ``event``:
    ``local("tp1a2b3c4d:conf:a000") == "a000"``."""
    deployment, in_event, rest = value.split(":", 2)
    assert GENERATED.fullmatch(deployment) and in_event == event, f"{value!r} is not namespaced"
    return rest


def ext(engine: Engine, key: str, event: str = EVENT) -> str:
    """The External ID value the sync writes for ``key`` (an attendee id, ``lead:5`` ...) in ``event``."""
    return f"{deployment_id(engine)}:{event}:{key}"


def connection_config(server: EmulatorServer, flow: str = "password", timeout_s: float = 5.0) -> ConnectionConfig:
    emu = server.emulator
    return ConnectionConfig(
        auth_flow=flow,
        login_url=server.url,
        username=emu.username,
        password=emu.password,
        security_token=emu.security_token,
        client_id=emu.client_id,
        client_secret=emu.client_secret,
        ca_bundle=server.ca_path,
        timeout_s=timeout_s,
    )


class Clock:
    """The event's time: starts at ``at`` and runs with the wall clock (so backoffs elapse); set ``at`` to jump."""

    def __init__(self, at: float) -> None:
        self.at = at
        self._start = time.monotonic()

    def __call__(self) -> float:
        return self.at + time.monotonic() - self._start


def seed_event(engine: Engine, attendees: int = 3, *, consent: bool = True) -> list[str]:
    """An event with a booth; ``attendees`` consenting attendees a000.. plus "nocrm" (no CRM consent) and staff."""
    with Session(engine) as s:
        s.add(Event(id=EVENT, name="Touch Conf", starts_at=T0, ends_at=T_END))
        s.add(Exhibitor(id="acme", event_id=EVENT, name="Acme"))
        s.commit()
        s.add(
            Zone(
                id="booth-acme",
                event_id=EVENT,
                name="Acme booth",
                kind=ZoneKind.BOOTH,
                x=0,
                y=0,
                width=5,
                height=5,
                exhibitor_id="acme",
            )
        )
        s.add(
            Zone(id="entrance", event_id=EVENT, name="Entrance", kind=ZoneKind.ENTRANCE, x=10, y=0, width=5, height=5)
        )
        ids = [f"a{i:03d}" for i in range(attendees)]
        for attendee_id in ids:
            s.add(
                Attendee(
                    id=attendee_id,
                    event_id=EVENT,
                    name=f"Ada Person{attendee_id}",
                    email=f"{attendee_id}@example.com",
                    company="Initech",
                    consent_crm=consent,
                    interests=["ai", "retail"],
                    registered_at=T0 - 86400,
                )
            )
        s.add(
            Attendee(
                id="nocrm",
                event_id=EVENT,
                name="No Consent",
                email="no@example.com",
                consent_crm=False,
                registered_at=T0 - 86400,
            )
        )
        s.add(
            Attendee(
                id="staff1",
                event_id=EVENT,
                name="Staff Member",
                role=AttendeeRole.STAFF,
                consent_crm=True,
                registered_at=T0 - 86400,
            )
        )
        s.commit()
    return ids


def set_score(engine: Engine, attendee_id: str, score: float, *, grade: str = "B", stage: str = "engaged") -> None:
    with Session(engine) as s:
        row = s.get(AttendeeScore, attendee_id)
        if row is None:
            row = AttendeeScore(
                attendee_id=attendee_id,
                event_id=EVENT,
                score=score,
                grade=grade,
                stage=stage,
                model_version="test",
                updated_at=T0,
            )
        row.score, row.grade, row.stage = score, grade, stage
        s.add(row)
        s.commit()


def crm_env(server: EmulatorServer, database_url: str, **extra: str) -> dict[str, str]:
    """TOUCHPOINTS_* variables for a CLI or worker process talking to the emulator."""
    emu = server.emulator
    env = {
        "DATABASE_URL": database_url,
        "EVENT_ID": EVENT,
        "SALESFORCE_LOGIN_URL": server.url,
        "SALESFORCE_CA_BUNDLE": str(server.ca_path),
        "SALESFORCE_USERNAME": emu.username,
        "SALESFORCE_PASSWORD": emu.password,
        "SALESFORCE_SECURITY_TOKEN": emu.security_token,
        "SALESFORCE_CLIENT_ID": emu.client_id,
        "SALESFORCE_CLIENT_SECRET": emu.client_secret,
        **extra,
    }
    return {f"TOUCHPOINTS_{k}": v for k, v in env.items()}


def synced(engine: Engine, make_sync: Callable[..., CrmSync], attendees: int = 2) -> list[str]:
    """a000.. synced as Leads, each with its campaign membership; a000 scored, with a booth-visit Task."""
    ids = seed_event(engine, attendees)
    set_score(engine, "a000", 64.0, grade="A", stage="hot")
    with Session(engine) as s:
        s.add(Visit(event_id=EVENT, attendee_id="a000", zone_id="booth-acme", started_at=T0, ended_at=T0 + 600,
                    dwell_s=600))  # fmt: skip
        s.commit()
    with engine.begin() as conn:
        enqueue_crm_change(conn, ids)
    make_sync().drain()
    return ids
