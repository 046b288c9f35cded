"""Fixtures of the rules adapters: a booth with an exhibitor, consenting attendees, a service on the test database."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session
from support import T0, seed_small_venue

from server.domain.rules.parse import parse_rule
from server.live.hub import Hub
from server.rules.service import RuleService
from server.rules.store import row_of
from server.store.models import Attendee, Exhibitor, Zone

NOW = T0 + 100.0  # 20:28 UTC on the demo event's day: outside quiet hours
PUSH_RULE: dict[str, Any] = {
    "id": "hello-booth", "name": "Hello at the booth", "campaign_id": "hello",
    "trigger": {"type": "zone_entered", "zone_ids": ["booth-1"]},
    "actions": [{"type": "push", "title": "Hi {attendee.name}", "body": "Welcome to {exhibitor.name}", "url": "/x"}],
}  # fmt: skip


def booth_of_acme(engine: Engine) -> None:
    """The small venue; booth-1 belongs to ACME; Alice and Carol accept pushes, Alice has an email address."""
    seed_small_venue(engine)
    with Session(engine) as s:
        s.add(Exhibitor(id="acme", event_id="demo", name="ACME Robotics", interests=["robotics"]))
        s.commit()
        booth = s.get(Zone, "booth-1")
        assert booth is not None
        booth.exhibitor_id = "acme"
        for attendee_id in ("alice", "carol"):
            person = s.get(Attendee, attendee_id)
            assert person is not None
            person.consent_push, person.email = True, f"{attendee_id}@example.com"
            s.add(person)
        s.add(booth)
        s.commit()


def add_rule(engine: Engine, data: dict[str, Any]) -> None:
    with Session(engine) as s:
        s.add(row_of(parse_rule(data), "demo", "test", T0))
        s.commit()


@pytest.fixture
def venue(engine: Engine) -> Engine:
    booth_of_acme(engine)
    return engine


@pytest.fixture
def make_service(venue: Engine) -> Iterator[Any]:
    started: list[RuleService] = []

    def make(**kwargs: Any) -> RuleService:
        service = RuleService(venue, "demo", kwargs.pop("hub", Hub()), lambda: NOW, seed=False, **kwargs)
        service.start()
        started.append(service)
        return service

    yield make
    for service in started:
        service.stop()
