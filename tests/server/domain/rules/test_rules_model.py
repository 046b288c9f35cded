"""Rules as data: loading, validation errors with paths, exhibitor ownership, the seed campaigns."""

from __future__ import annotations

from dataclasses import replace

import pytest
from test_rules_support import EVERYTHING, HOUR, MIN, T0, VENUE, attendee, rule, summary

from server.config.load import load_rules, load_seed_campaigns
from server.domain.rules.engine import RuleEngine
from server.domain.rules.events import SessionLeft, TapEvent, VisitEnded, ZoneEntered
from server.domain.rules.parse import (
    RuleValidationError,
    dump_rule,
    parse_rule,
    venue_problems,
)

GOOD_YAML = """
campaigns:
  - id: spring
    rules:
      - id: hello
        name: Hello at the booth
        trigger: {type: zone_entered, zone_ids: [b1]}
        actions: [{type: push, title: "Hi {attendee.name}"}]
rules:
  - id: solo
    name: Solo
    campaign_id: solo
    trigger: {type: app_action, name: open}
    actions: [{type: add_tag, tag: opened}]
"""


def test_rules_load_from_yaml_with_campaign_ids_inherited() -> None:
    rules = load_rules(GOOD_YAML)

    assert [(r.id, r.campaign_id, r.version, r.trigger.type) for r in rules] == [
        ("solo", "solo", 1, "app_action"),
        ("hello", "spring", 1, "zone_entered"),
    ]


def test_every_problem_is_reported_with_its_path() -> None:
    bad = """
rules:
  - {id: a, name: A, campaign_id: c, trigger: {type: dwell_reached, dwell_s: -5}, actions: [{type: push, title: x}]}
  - {id: b, name: B, campaign_id: c, trigger: {type: teleported}, actions: []}
  - {id: c, name: C, campaign_id: c, trigger: {type: tap}, actions: [{type: push, title: "Hi {attendee.email}"}]}
"""
    with pytest.raises(RuleValidationError) as error:
        load_rules(bad, name="bad.yaml")

    problems = error.value.problems
    assert problems[0] == "bad.yaml: rules[0].trigger.dwell_reached.dwell_s: Input should be greater than 0"
    assert problems[1].startswith(
        "bad.yaml: rules[1].trigger: Input tag 'teleported' found using 'type' does not match"
    )
    assert problems[2] == "bad.yaml: rules[1].actions: Tuple should have at least 1 item after validation, not 0"
    assert problems[3].startswith(
        "bad.yaml: rules[2]: Value error, push action: unknown placeholder(s) ['attendee.email']"
    )
    assert len(problems) == 4


def test_not_yaml_and_duplicate_ids_are_reported() -> None:
    with pytest.raises(RuleValidationError, match="not valid YAML"):
        load_rules("rules: [unclosed")
    twice = "rules:\n" + "\n".join(
        ["  - {id: a, name: A, campaign_id: c, trigger: {type: tap}, actions: [{type: add_tag, tag: t}]}"] * 2
    )
    with pytest.raises(RuleValidationError, match=r"rules\[1\]\.id: 'a' version 1 already defined at rules\[0\]"):
        load_rules(twice)


def test_session_options_only_on_session_anchors() -> None:
    with pytest.raises(RuleValidationError, match="session_ids and audience apply only"):
        parse_rule({"id": "x", "name": "X", "campaign_id": "x", "actions": [{"type": "add_tag", "tag": "t"}],
                    "trigger": {"type": "time", "anchor": "event_start", "audience": "registered"}})  # fmt: skip


def test_exhibitor_rules_are_confined_to_their_booth() -> None:
    own = rule("acme-hi", {"type": "dwell_reached", "zone_ids": ["b1"], "dwell_s": 60}, owner="exhibitor:acme")
    elsewhere = rule("acme-b2", {"type": "zone_entered", "zone_ids": ["b2"]}, owner="exhibitor:acme")

    assert venue_problems(own, VENUE) == []
    assert venue_problems(elsewhere, VENUE) == ["acme-b2.trigger.zone_ids: 'b2' is not a booth of 'acme'"]
    with pytest.raises(ValueError, match="must trigger on its booth zone ids"):
        rule("acme-all", {"type": "zone_entered", "zone_kinds": ["booth"]}, owner="exhibitor:acme")
    with pytest.raises(ValueError, match="only its own reps"):
        rule("acme-spy", {"type": "zone_entered", "zone_ids": ["b1"]}, owner="exhibitor:acme",
             actions=[{"type": "rep_alert", "exhibitor_id": "globex", "message": "m"}])  # fmt: skip


def test_unknown_zones_and_sessions_are_venue_problems() -> None:
    lost = rule("lost", {"type": "zone_entered", "zone_ids": ["nowhere"]}, segment={"registered_for": ["s9"]})

    assert venue_problems(lost, VENUE) == [
        "lost.trigger.zone_ids: unknown zone 'nowhere'",
        "lost: unknown session 's9'",
    ]


def test_a_rule_round_trips_through_its_stored_json() -> None:
    steps = [{"type": "tap"}, {"type": "app_action", "name": "x"}]
    trigger = {"type": "sequence", "within_s": 600, "steps": steps}
    original = rule("seq", trigger, segment={"tags_any": ["vip"]}, goal={"kind": "booth_visit", "within_s": 900})

    assert parse_rule(dump_rule(original)) == original


# ---- seed campaigns -----------------------------------------------------------------------------------------
SEEDS = load_seed_campaigns()


def test_seed_campaigns_load_and_fit_any_venue() -> None:
    assert [r.id for r in SEEDS] == [
        "day-before-reminder", "welcome-check-in", "booth-nearby-interests", "session-starting-soon-nearby",
        "left-early-slides", "booth-thank-you", "booth-rep-alert", "no-show-sorry",
    ]  # fmt: skip
    assert [p for r in SEEDS for p in venue_problems(r, VENUE)] == []


def test_seed_campaigns_work_out_of_the_box() -> None:
    venue = replace(VENUE, event_start=T0 + 86400)  # the event starts tomorrow at 09:00
    seeds = RuleEngine(SEEDS, venue)
    booked = attendee("a1", registered_sessions=frozenset({"s1"}), current_zone_id="l1")
    no_show = attendee("a2", consents=EVERYTHING, checked_in=False)
    came = attendee("a3", checked_in=True)

    reminder = seeds.tick(T0, [booked])
    welcome = seeds.handle(TapEvent("a1", T0 + 86400, "e1"), booked, T0 + 86400)
    nearby = seeds.handle(ZoneEntered("a1", T0 + 86400 + MIN, "b1"), booked, T0 + 86400 + MIN)

    assert summary(reminder) == [("day-before-reminder", "a1", "email", "fired")]
    assert reminder[0].payload["subject"] == "Tomorrow: RoboConf"
    assert summary(welcome) == [
        ("welcome-check-in", "a1", "push", "fired"),
        ("welcome-check-in", "a1", "add_tag", "fired"),
    ]
    assert nearby[0].payload["title"] == "ACME Robotics is right here"

    today = RuleEngine(SEEDS, VENUE)
    soon = today.tick(T0 + HOUR - 600, [booked])
    left = today.handle(SessionLeft("a3", T0 + 80 * MIN, "s1", 0.3), came, T0 + 80 * MIN)
    thanks = today.handle(VisitEnded("a3", T0 + 3 * HOUR, "b1", T0 + 2 * HOUR), came, T0 + 3 * HOUR)
    after_close = today.tick(T0 + 10 * HOUR, [no_show, came])

    assert soon[0].payload["title"] == "Starting at 10:00: Robots at scale"
    assert left[0].payload["url"] == "/sessions/s1/slides"
    assert summary(thanks) == [
        ("booth-thank-you", "a3", "push", "fired"),
        ("booth-thank-you", "a3", "email", "already_reached_by_campaign"),
    ]
    assert thanks[0].payload["url"] == "https://acme.example/deck"
    assert summary(after_close) == [("no-show-sorry", "a2", "email", "fired")]
