"""The rule engine: triggers, sequences, segments, conditions, time, live edits, determinism, state."""

from __future__ import annotations

import json
from typing import Any

import pytest
from test_rules_support import EMAIL, HOUR, MIN, PUSH, T0, VENUE, attendee, engine, rule, summary

from server.bench.rules import measure_rule_throughput
from server.domain.rules.engine import RuleEngine
from server.domain.rules.events import (
    AppAction,
    Decision,
    DwellReached,
    LeadScanned,
    NotificationDelivered,
    Outcome,
    RuleEvent,
    ScoreChanged,
    SessionLeft,
    StageChanged,
    TapEvent,
    VisitEnded,
    ZoneEntered,
)
from server.domain.rules.guards import Channel
from server.domain.rules.state import EngineState

ANNA = attendee("a1")


def test_zone_entered_fires_one_rendered_push() -> None:
    decisions = engine(rule("welcome-b1")).handle(ZoneEntered("a1", T0, "b1"), ANNA, T0)

    assert decisions == [
        Decision(
            decision_id=f"welcome-b1:1:a1:{T0:.3f}:0",
            rule_id="welcome-b1",
            rule_version=1,
            campaign_id="welcome-b1",
            attendee_id="a1",
            action_index=0,
            channel=Channel.PUSH,
            outcome=Outcome.FIRED,
            reason=None,
            at=T0,
            trigger="zone_entered",
            payload={"title": "Hi A1", "body": "Visit ACME Robotics", "url": None},
        )
    ]


def test_zone_kind_trigger_matches_every_booth_and_nothing_else() -> None:
    booths = engine(rule("booths", {"type": "zone_entered", "zone_kinds": ["booth"]}))

    assert summary(booths.handle(ZoneEntered("a1", T0, "b2"), ANNA, T0)) == [("booths", "a1", "push", "fired")]
    assert booths.handle(ZoneEntered("a1", T0 + 1, "r1"), ANNA, T0 + 1) == []


@pytest.mark.parametrize(
    ("segment", "context", "applies"),
    [
        ({"tags_any": ["vip", "press"]}, {"tags": ("press",)}, True),
        ({"tags_any": ["vip"]}, {"tags": ("press",)}, False),
        ({"tags_all": ["vip", "cto"]}, {"tags": ("vip",)}, False),
        ({"tags_none": ["competitor"]}, {"tags": ("competitor",)}, False),
        ({"interests_any": ["robotics"]}, {}, True),
        ({"interests_none": ["robotics"]}, {}, False),
        ({"roles": ["speaker"]}, {"role": "attendee"}, False),
        ({"score_min": 50}, {"score": 50.0}, True),
        ({"score_min": 50}, {"score": 49.5}, False),
        ({"score_min": 50}, {}, False),  # unknown score never satisfies a score segment
        ({"score_max": 20}, {"score": 10.0}, True),
        ({"grades": ["A", "B"]}, {"grade": "B"}, True),
        ({"stages": ["engaged"]}, {"stage": "aware"}, False),
        ({"registered_for": ["s1"]}, {"registered_sessions": frozenset({"s1"})}, True),
        ({"registered_for": ["s1"]}, {}, False),
        ({"checked_in": False}, {"checked_in": True}, False),
    ],
)
def test_segment_decides_whether_the_rule_applies_at_all(
    segment: dict[str, Any], context: dict[str, Any], applies: bool
) -> None:
    decisions = engine(rule(segment=segment)).handle(ZoneEntered("a1", T0, "b1"), attendee("a1", **context), T0)

    # A rule that is not for this attendee yields nothing — not a suppression.
    assert summary(decisions) == ([("r1", "a1", "push", "fired")] if applies else [])


def test_conditions_on_time_place_and_shared_interests() -> None:
    morning = rule(
        "morning", {"type": "app_action", "name": "open"}, conditions={"time": {"between": ["09:00", "12:00"]}}
    )
    in_lounge = rule("lounge", {"type": "app_action", "name": "open"}, conditions={"place": {"zone_kinds": ["lounge"]}})
    matching = rule(
        "match", {"type": "zone_entered", "zone_kinds": ["booth"]}, conditions={"interest_matches": "exhibitor"}
    )
    rules = engine(morning, in_lounge, matching)

    at_nine = rules.handle(AppAction("a1", T0, "open"), attendee(current_zone_id="l1"), T0)
    at_one_pm = rules.handle(AppAction("a1", T0 + 4 * HOUR, "open"), attendee(current_zone_id="r1"), T0 + 4 * HOUR)
    robotics_fan_at_fintech = rules.handle(ZoneEntered("a1", T0, "b2"), ANNA, T0)

    assert summary(at_nine) == [("lounge", "a1", "push", "fired"), ("morning", "a1", "push", "fired")]
    assert at_one_pm == []
    assert robotics_fan_at_fintech == []


def _sequence(within_s: float = HOUR) -> RuleEngine:
    steps = [{"type": "zone_entered", "zone_ids": ["b1"]}, {"type": "zone_entered", "zone_ids": ["b2"]}]
    caps = {"caps": {"rule": {"max_sends": 5, "window_s": HOUR}}}
    return engine(rule("b1-then-b2", {"type": "sequence", "steps": steps, "within_s": within_s}, guards=caps))


def _feed(rules: RuleEngine, events: list[RuleEvent]) -> list[Decision]:
    return [d for e in events for d in rules.handle(e, attendee(e.attendee_id), e.at)]


def test_sequence_in_order_within_the_window_fires_once_and_resets() -> None:
    decisions = _feed(_sequence(), [ZoneEntered("a1", T0, "b1"), ZoneEntered("a1", T0 + 10 * MIN, "b2")])
    again = _feed(
        _sequence(), [ZoneEntered("a1", T0, "b1"), ZoneEntered("a1", T0 + 1, "b2"), ZoneEntered("a1", T0 + 2, "b2")]
    )

    assert summary(decisions) == [("b1-then-b2", "a1", "push", "fired")]
    assert len(again) == 1  # progress resets on completion: a second b2 alone completes nothing


def test_sequence_out_of_order_or_expired_does_not_fire() -> None:
    out_of_order = _feed(_sequence(), [ZoneEntered("a1", T0, "b2"), ZoneEntered("a1", T0 + MIN, "b1")])
    expired = _feed(_sequence(), [ZoneEntered("a1", T0, "b1"), ZoneEntered("a1", T0 + HOUR + 1, "b2")])
    restarted = _feed(
        _sequence(),
        [ZoneEntered("a1", T0, "b1"), ZoneEntered("a1", T0 + 50 * MIN, "b1"), ZoneEntered("a1", T0 + 70 * MIN, "b2")],
    )

    assert out_of_order == []
    assert expired == []
    assert len(restarted) == 1  # the later start (at 50 min) is kept, so b2 at 70 min is within the hour


def test_sequence_progress_is_per_attendee() -> None:
    decisions = _feed(_sequence(), [ZoneEntered("a1", T0, "b1"), ZoneEntered("a2", T0 + MIN, "b2")])

    assert decisions == []


def test_dwell_is_derived_on_tick_once_per_visit() -> None:
    dwell = engine(
        rule(
            "dwell",
            {"type": "dwell_reached", "zone_ids": ["b1"], "dwell_s": 60},
            guards={"caps": {"rule": {"max_sends": 9, "window_s": HOUR}}},
        )
    )
    dwell.handle(ZoneEntered("a1", T0, "b1"), ANNA, T0)

    early = dwell.tick(T0 + 59, [ANNA])
    reached = dwell.tick(T0 + 60, [ANNA])
    later = dwell.tick(T0 + 300, [ANNA])
    explicit = dwell.handle(DwellReached("a1", T0 + 301, "b1", T0, 301), ANNA, T0 + 301)
    dwell.handle(VisitEnded("a1", T0 + 400, "b1", T0), ANNA, T0 + 400)
    dwell.handle(ZoneEntered("a1", T0 + 500, "b1"), ANNA, T0 + 500)
    next_visit = dwell.tick(T0 + 560, [ANNA])

    assert early == []
    assert summary(reached) == [("dwell", "a1", "push", "fired")]
    assert later == [] and explicit == []
    assert summary(next_visit) == [("dwell", "a1", "push", "fired")]


def test_only_attendees_past_a_dwell_threshold_not_yet_derived_are_due_on_tick() -> None:
    dwell = engine(rule("dwell", {"type": "dwell_reached", "zone_ids": ["b1"], "dwell_s": 60}))
    dwell.handle(ZoneEntered("a1", T0, "b1"), ANNA, T0)
    dwell.handle(ZoneEntered("a2", T0 + 30, "b1"), attendee("a2"), T0 + 30)
    dwell.handle(ZoneEntered("a3", T0, "b2"), attendee("a3"), T0)  # no dwell rule for b2

    before = dwell.dwell_due(T0 + 59)
    at_threshold = dwell.dwell_due(T0 + 60)
    both = dwell.dwell_due(T0 + 90)
    dwell.tick(T0 + 90, [ANNA, attendee("a2")])
    after_tick = dwell.dwell_due(T0 + 300)

    assert before == set()
    assert at_threshold == {"a1"}
    assert both == {"a1", "a2"}
    assert after_tick == set()


def test_a_visit_that_ends_before_the_threshold_was_seen_does_not_fire_dwell() -> None:
    dwell = engine(rule("dwell", {"type": "dwell_reached", "zone_ids": ["b1"], "dwell_s": 60}))
    dwell.handle(ZoneEntered("a1", T0, "b1"), ANNA, T0)
    dwell.handle(VisitEnded("a1", T0 + 90, "b1", T0), ANNA, T0 + 90)

    assert dwell.tick(T0 + 100, [ANNA]) == []


def test_visit_ended_needs_the_minimum_dwell() -> None:
    thanks = engine(rule("thanks", {"type": "visit_ended", "zone_kinds": ["booth"], "min_dwell_s": 120}))

    assert thanks.handle(VisitEnded("a1", T0 + 119, "b1", T0), ANNA, T0 + 119) == []
    assert len(thanks.handle(VisitEnded("a1", T0 + 2 * HOUR, "b1", T0 + HOUR), ANNA, T0 + 2 * HOUR)) == 1


@pytest.mark.parametrize(
    ("event", "fires"),
    [
        (ScoreChanged("a1", T0, old=45, new=50), True),
        (ScoreChanged("a1", T0, old=None, new=70), True),
        (ScoreChanged("a1", T0, old=52, new=60), False),  # already above
        (ScoreChanged("a1", T0, old=55, new=45), False),  # downwards
    ],
)
def test_score_crossed_fires_upwards_only(event: ScoreChanged, fires: bool) -> None:
    decisions = engine(rule("hot", {"type": "score_crossed", "threshold": 50})).handle(event, ANNA, T0)

    assert len(decisions) == int(fires)


def test_stage_changed_session_left_early_tap_and_app_action() -> None:
    rules = engine(
        rule("stage", {"type": "stage_changed", "to": "engaged"}),
        rule("left", {"type": "session_left_early", "max_share": 0.5}),
        rule("tap", {"type": "tap", "zone_kinds": ["entrance"]}),
        rule("app", {"type": "app_action", "name": "bookmark"}),
    )

    assert summary(rules.handle(StageChanged("a1", T0, "aware", "engaged"), ANNA, T0)) == [
        ("stage", "a1", "push", "fired")
    ]
    assert rules.handle(StageChanged("a1", T0, "engaged", "engaged"), ANNA, T0) == []
    assert [d.rule_id for d in rules.handle(SessionLeft("a1", T0 + 80 * MIN, "s1", 0.3), ANNA, T0)] == ["left"]
    assert rules.handle(SessionLeft("a2", T0 + 80 * MIN, "s1", 0.6), attendee("a2"), T0) == []
    assert rules.handle(SessionLeft("a3", T0 + 3 * HOUR, "s1", 0.3), attendee("a3"), T0) == []  # after it ended
    assert [d.rule_id for d in rules.handle(TapEvent("a1", T0, "e1"), ANNA, T0)] == ["tap"]
    assert [d.rule_id for d in rules.handle(AppAction("a1", T0, "bookmark"), ANNA, T0)] == ["app"]
    assert rules.handle(NotificationDelivered("a1", T0, "x"), ANNA, T0) == []


def test_exhibitor_rule_sees_only_its_own_lead_scans() -> None:
    own = rule(
        "acme-leads", {"type": "lead_scanned"}, owner="exhibitor:acme", actions=[{"type": "lead", "rating": "hot"}]
    )
    rules = engine(own)

    assert rules.handle(LeadScanned("a1", T0, "globex"), ANNA, T0) == []
    decisions = rules.handle(LeadScanned("a1", T0, "acme"), ANNA, T0)
    assert [(d.channel, d.payload) for d in decisions] == [(Channel.LEAD, {"exhibitor_id": "acme", "rating": "hot"})]


def test_time_trigger_fires_exactly_once_per_attendee_and_anchor() -> None:
    reminder = engine(rule("reminder", {"type": "time", "anchor": "event_start", "offset_s": -86400}, actions=[EMAIL]))
    people = [attendee("a2"), attendee("a1")]

    before = reminder.tick(T0 - 86400 - 1, people)
    due = reminder.tick(T0 - 86400, people)
    again = reminder.tick(T0 - 86400 + 60, [*people, attendee("a3")])
    stale = reminder.tick(T0 - 86400 + 31 * MIN, [attendee("a4")])  # past the default 30 min grace

    assert before == []
    assert summary(due) == [("reminder", "a1", "email", "fired"), ("reminder", "a2", "email", "fired")]
    assert summary(again) == [("reminder", "a3", "email", "fired")]  # late joiner inside the grace, nobody twice
    assert stale == []


def test_session_anchor_with_registered_and_nearby_audiences() -> None:
    registered = rule(
        "soon-reg", {"type": "time", "anchor": "session_start", "offset_s": -600, "audience": "registered"}
    )
    nearby = rule("soon-near", {"type": "time", "anchor": "session_start", "offset_s": -600, "audience": "nearby"})
    rules = engine(registered, nearby)
    booked = attendee("a1", registered_sessions=frozenset({"s1"}), current_zone_id="b1")
    passer_by = attendee("a2", current_zone_id="l1")  # the lounge is next to the session's room

    decisions = rules.tick(T0 + HOUR - 600, [booked, passer_by])

    assert summary(decisions) == [("soon-near", "a2", "push", "fired"), ("soon-reg", "a1", "push", "fired")]
    assert decisions[0].payload["title"] == "Hi A2"


def test_live_rule_edit_applies_to_the_next_event() -> None:
    rules = engine(rule("a", {"type": "app_action", "name": "open"}))
    first = rules.handle(AppAction("a1", T0, "open"), ANNA, T0)

    rules.set_rules(
        [
            rule("a", {"type": "app_action", "name": "open"}, enabled=False),
            rule("b", {"type": "app_action", "name": "open"}),
        ]
    )
    second = rules.handle(AppAction("a2", T0 + 1, "open"), attendee("a2"), T0 + 1)

    assert [d.rule_id for d in first] == ["a"]
    assert [d.rule_id for d in second] == ["b"]


def test_the_highest_version_of_a_rule_is_the_one_that_runs() -> None:
    v1 = rule("promo", {"type": "app_action", "name": "open"})
    v2 = rule("promo", {"type": "app_action", "name": "open"}, version=2, actions=[{**PUSH, "title": "v2"}])
    rules = engine(v2, v1)

    decisions = rules.handle(AppAction("a1", T0, "open"), ANNA, T0)

    assert [(d.rule_version, d.payload["title"]) for d in decisions] == [(2, "v2")]


def _stream() -> list[RuleEvent]:
    return [
        ZoneEntered("a1", T0, "b1"),
        ZoneEntered("a2", T0 + 5, "b1"),
        AppAction("a1", T0 + 10, "open"),
        ZoneEntered("a1", T0 + 20, "b2"),
        ScoreChanged("a2", T0 + 30, 10, 60),
        VisitEnded("a2", T0 + 200, "b1", T0 + 5),
    ]


def _run(rules: RuleEngine, events: list[RuleEvent]) -> list[Decision]:
    decisions: list[Decision] = []
    for event in events:
        decisions += rules.handle(event, attendee(event.attendee_id), event.at)
        decisions += rules.tick(event.at + 90, [attendee("a1"), attendee("a2")])
    return decisions


def _mixed_rules() -> RuleEngine:
    return engine(
        rule("booth", {"type": "zone_entered", "zone_kinds": ["booth"]}, campaign_id="c1"),
        rule("dwell", {"type": "dwell_reached", "zone_ids": ["b1"], "dwell_s": 60}, campaign_id="c1", actions=[EMAIL]),
        rule("open", {"type": "app_action", "name": "open"}),
        rule("hot", {"type": "score_crossed", "threshold": 50}, actions=[PUSH, {"type": "add_tag", "tag": "hot"}]),
        rule("thanks", {"type": "visit_ended", "zone_ids": ["b1"]}),
    )


def test_same_stream_and_times_give_identical_decisions() -> None:
    first, second = _run(_mixed_rules(), _stream()), _run(_mixed_rules(), _stream())

    assert first == second
    assert summary(first) == [
        ("booth", "a1", "push", "fired"),
        ("dwell", "a1", "email", "already_reached_by_campaign"),  # c1 reached a1 by push already
        ("booth", "a2", "push", "fired"),
        ("dwell", "a2", "email", "already_reached_by_campaign"),
        ("open", "a1", "push", "fired"),
        ("booth", "a1", "push", "cap_rule"),  # b2 after b1: one "booth" push a day
        ("hot", "a2", "push", "fired"),
        ("hot", "a2", "add_tag", "fired"),
        ("thanks", "a2", "push", "fired"),
    ]


def test_state_round_trips_and_the_restored_engine_decides_the_same() -> None:
    events = _stream()
    original = _mixed_rules()
    _run(original, events[:3])
    blob = json.dumps(original.state.to_dict())
    restored = RuleEngine(original.rules, VENUE, state=EngineState.from_dict(json.loads(blob)))

    assert restored.state.to_dict() == original.state.to_dict()
    assert _run(restored, events[3:]) == _run(original, events[3:])


def test_context_of_another_attendee_is_refused() -> None:
    with pytest.raises(ValueError, match="context"):
        engine(rule()).handle(ZoneEntered("a2", T0, "b1"), ANNA, T0)


def test_throughput_helper_reports_its_figures() -> None:
    figures = measure_rule_throughput(rules=50, events=300, attendees=20)

    assert figures["rules"] == 50 and figures["events"] == 300
    assert figures["events_per_s"] > 0
