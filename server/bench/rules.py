"""Throughput of the rule engine with many active rules: the figure ``touchpoints bench`` reports.

Not a test and not part of the pure core's behaviour: it builds a synthetic venue (booths, rooms, lounges),
``rules`` rules of mixed triggers, consenting attendees and a seeded event stream, then times
``RuleEngine.handle`` (and a ``tick`` every simulated 10 s) with ``time.perf_counter``. Example::

    >>> measure_rule_throughput(rules=1000, events=20_000)["events_per_s"]   # doctest: +SKIP
    45000.0

``events_per_s`` is the headline: each event is evaluated against all active rules (through the index).
``rule_evaluations_per_s`` counts the candidate rules actually checked; ``naive_equivalent_per_s`` is
events x rules per second, what a scan of every rule per event would have to sustain.
"""

from __future__ import annotations

import random
import time
from typing import Any

from server.domain.model import AgendaSession, AttendeeProfile, Zone, ZoneKind
from server.domain.rules.context import AttendeeContext, Consents, Exhibitor, VenueContext
from server.domain.rules.engine import RuleEngine
from server.domain.rules.events import AppAction, RuleEvent, ScoreChanged, VisitEnded, ZoneEntered
from server.domain.rules.model import Rule

BENCH_SEED = 20240601  # a fixed stream: runs are comparable
BENCH_START = 1_717_225_200.0  # 2024-06-01 07:00 UTC = 09:00 at UTC+2, outside quiet hours
BOOTHS, ROOMS, LOUNGES, APP_ACTIONS = 200, 20, 10, 50
TICK_EVERY_S = 10.0


def _venue() -> VenueContext:
    zones: dict[str, Zone] = {}
    exhibitors: dict[str, Exhibitor] = {}
    for i in range(BOOTHS):
        zones[f"b{i}"] = Zone(f"b{i}", ZoneKind.BOOTH, i % 20 * 4.0, i // 20 * 4.0, 3, 3, exhibitor_id=f"x{i}")
        exhibitors[f"x{i}"] = Exhibitor(f"x{i}", f"Exhibitor {i}", interests=(f"topic{i % 12}",))
    for i in range(ROOMS):
        zones[f"r{i}"] = Zone(f"r{i}", ZoneKind.ROOM, 100 + i * 10.0, 0, 9, 9)
    for i in range(LOUNGES):
        zones[f"l{i}"] = Zone(f"l{i}", ZoneKind.LOUNGE, 0, 100 + i * 10.0, 9, 9)
    sessions = {
        f"s{i}": AgendaSession(
            f"s{i}", f"r{i % ROOMS}", f"Talk {i}", BENCH_START + i * 1800, BENCH_START + i * 1800 + 2700
        )
        for i in range(40)
    }
    return VenueContext(
        zones, exhibitors, sessions, event_start=BENCH_START, event_end=BENCH_START + 36_000, utc_offset_s=7200
    )


def synthetic_rules(count: int) -> list[Rule]:
    """``count`` valid rules of mixed triggers, spread over booths, kinds and app actions."""
    rules: list[Rule] = []
    push = {"type": "push", "title": "Hi {attendee.name}", "body": "{exhibitor.name} at {zone.name}"}
    for i in range(count):
        kind = i % 10
        booth, other = f"b{i % BOOTHS}", f"b{(i * 7 + 3) % BOOTHS}"
        trigger: dict[str, Any]
        if kind < 4:
            trigger = {"type": "zone_entered", "zone_ids": [booth]}
        elif kind < 6:
            trigger = {"type": "dwell_reached", "zone_ids": [booth], "dwell_s": 30 + i % 5 * 30}
        elif kind == 6:
            trigger = {"type": "visit_ended", "zone_kinds": ["room", "lounge"], "min_dwell_s": 60}
        elif kind == 7:
            trigger = {"type": "app_action", "name": f"action{i % APP_ACTIONS}"}
        elif kind == 8:
            steps = [{"type": "zone_entered", "zone_ids": [booth]}, {"type": "zone_entered", "zone_ids": [other]}]
            trigger = {"type": "sequence", "within_s": 3600, "steps": steps}
        else:
            trigger = {"type": "score_crossed", "threshold": 10 + i % 90}
        data = {
            "id": f"bench-{i:04d}", "name": f"Bench rule {i}", "campaign_id": f"bench-c{i % 100}",
            "trigger": trigger, "segment": {"interests_any": [f"topic{i % 12}", f"topic{(i + 5) % 12}"]},
            "actions": [push, {"type": "add_tag", "tag": f"t{i % 30}"}],
        }  # fmt: skip
        rules.append(Rule.model_validate(data))
    return rules


def _attendees(count: int) -> list[AttendeeContext]:
    consents = Consents(tracking=True, push=True, email=True, share=True)
    return [
        AttendeeContext(
            AttendeeProfile(f"a{i:05d}", interests=(f"topic{i % 12}", f"topic{(i * 5) % 12}")),
            name=f"Attendee {i}",
            consents=consents,
        )
        for i in range(count)
    ]


def _stream(attendees: list[AttendeeContext], events: int, rng: random.Random) -> list[RuleEvent]:
    stream: list[RuleEvent] = []
    where: dict[str, tuple[str, float]] = {}
    score: dict[str, float] = {}
    zone_ids = [f"b{i}" for i in range(BOOTHS)] + [f"r{i}" for i in range(ROOMS)] + [f"l{i}" for i in range(LOUNGES)]
    for n in range(events):
        at = BENCH_START + n * 0.05  # 20 events per simulated second
        attendee = attendees[rng.randrange(len(attendees))].id
        roll = rng.random()
        if roll < 0.7:
            if attendee in where:
                zone, started = where.pop(attendee)
                stream.append(VisitEnded(attendee, at, zone, started))
            else:
                zone = rng.choice(zone_ids)
                where[attendee] = (zone, at)
                stream.append(ZoneEntered(attendee, at, zone))
        elif roll < 0.85:
            stream.append(AppAction(attendee, at, f"action{rng.randrange(APP_ACTIONS)}"))
        else:
            old = score.get(attendee, 0.0)
            score[attendee] = old + rng.randrange(1, 15)
            stream.append(ScoreChanged(attendee, at, old, score[attendee]))
    return stream


def measure_rule_throughput(rules: int = 1000, events: int = 20_000, attendees: int = 1000) -> dict[str, Any]:
    """Evaluate a seeded stream of ``events`` against ``rules`` active rules; returns the figures as a dict."""
    rng = random.Random(BENCH_SEED)
    engine = RuleEngine(synthetic_rules(rules), _venue())
    people = _attendees(attendees)
    by_id = {a.id: a for a in people}
    stream = _stream(people, events, rng)
    checked = sum(len(engine._index.candidates(e, engine.venue)) for e in stream)  # index cost excluded below
    decisions = 0
    next_tick = BENCH_START + TICK_EVERY_S
    started = time.perf_counter()
    for event in stream:
        decisions += len(engine.handle(event, by_id[event.attendee_id], event.at))
        if event.at >= next_tick:
            decisions += len(engine.tick(event.at, people))
            next_tick += TICK_EVERY_S
    seconds = time.perf_counter() - started
    return {
        "rules": len(engine.rules),
        "events": events,
        "attendees": attendees,
        "decisions": decisions,
        "seconds": round(seconds, 4),
        "events_per_s": round(events / seconds, 1),
        "rule_evaluations_per_s": round(checked / seconds, 1),
        "naive_equivalent_per_s": round(events * len(engine.rules) / seconds, 1),
    }
