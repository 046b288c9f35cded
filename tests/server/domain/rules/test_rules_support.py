"""Plain values shared by the rule engine specs: one small venue, attendees, rule builders (no tests here)."""

from __future__ import annotations

from typing import Any

from server.domain.model import AgendaSession, AttendeeProfile, Zone, ZoneKind
from server.domain.rules.context import AttendeeContext, Consents, Exhibitor, VenueContext
from server.domain.rules.engine import RuleEngine
from server.domain.rules.events import Decision
from server.domain.rules.guards import GuardParams
from server.domain.rules.model import Rule

T0 = 1_717_232_400.0  # 2024-06-01 09:00 UTC; the venue runs on UTC so local times read directly
MIN, HOUR, DAY = 60.0, 3600.0, 86400.0

VENUE = VenueContext(
    zones={
        "b1": Zone("b1", ZoneKind.BOOTH, 0, 0, 3, 3, exhibitor_id="acme"),
        "b2": Zone("b2", ZoneKind.BOOTH, 4, 0, 3, 3, exhibitor_id="globex"),
        "r1": Zone("r1", ZoneKind.ROOM, 20, 0, 10, 10, capacity=80),
        "l1": Zone("l1", ZoneKind.LOUNGE, 20, 12, 10, 5),
        "e1": Zone("e1", ZoneKind.ENTRANCE, 0, 20, 5, 5),
    },
    exhibitors={
        "acme": Exhibitor("acme", "ACME Robotics", interests=("robotics",), content_url="https://acme.example/deck"),
        "globex": Exhibitor("globex", "Globex Finance", interests=("fintech",)),
    },
    sessions={"s1": AgendaSession("s1", "r1", "Robots at scale", T0 + HOUR, T0 + 2 * HOUR, tags=("robotics",))},
    zone_names={"b1": "Booth 1", "r1": "Hall A", "l1": "Lounge"},
    neighbours={"r1": frozenset({"l1"})},
    event_name="RoboConf",
    event_start=T0,
    event_end=T0 + 9 * HOUR,
)
EVERYTHING = Consents(tracking=True, push=True, email=True, share=True)
PUSH: dict[str, Any] = {"type": "push", "title": "Hi {attendee.name}", "body": "Visit {exhibitor.name}"}
EMAIL: dict[str, Any] = {"type": "email", "subject": "Hello {attendee.name}", "body": "From {exhibitor.name}"}


def attendee(
    attendee_id: str = "a1",
    *,
    consents: Consents = EVERYTHING,
    interests: tuple[str, ...] = ("robotics",),
    tags: tuple[str, ...] = (),
    role: str = "attendee",
    **context: Any,
) -> AttendeeContext:
    profile = AttendeeProfile(attendee_id, role=role, company="Initech", tags=tags, interests=interests)
    return AttendeeContext(profile, name=attendee_id.upper(), consents=consents, **context)


def rule(rule_id: str = "r1", trigger: dict[str, Any] | None = None, **fields: Any) -> Rule:
    data: dict[str, Any] = {
        "id": rule_id,
        "name": f"Rule {rule_id}",
        "campaign_id": rule_id,
        "trigger": trigger or {"type": "zone_entered", "zone_ids": ["b1"]},
        "actions": [PUSH],
    }
    data.update(fields)
    return Rule.model_validate(data)


def engine(*rules: Rule, params: GuardParams | None = None) -> RuleEngine:
    return RuleEngine(rules, VENUE, params)


def summary(decisions: list[Decision]) -> list[tuple[str, str, str, str]]:
    """(rule, attendee, channel, "fired" or the suppression reason): what most specs assert."""
    return [(d.rule_id, d.attendee_id, d.channel.value, d.reason.value if d.reason else "fired") for d in decisions]
