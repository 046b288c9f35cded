"""Journeys: one ordered timeline per attendee, its stage on the journey map, and a summary for people."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from server.config.load import default_stage_model, load_stage_model
from server.domain.journey import (
    build_journey,
    condition_holds,
    order_entries,
    stage_of,
    summarize,
    to_json,
)
from server.domain.model import AgendaSession, Attendance, JourneyEntry, JourneyKind, Tap, Visit, Zone, ZoneKind

K = JourneyKind
DAY = datetime(2026, 5, 12, tzinfo=UTC).timestamp()


def t(hhmm: str, day: int = 0) -> float:
    hours, minutes = hhmm.split(":")
    return DAY + day * 86400 + int(hours) * 3600 + int(minutes) * 60


ZONES = [
    Zone("gate", ZoneKind.ENTRANCE, 0, 0, 5, 5),
    Zone("r1", ZoneKind.ROOM, 10, 0, 10, 10, capacity=100),
    Zone("b1", ZoneKind.BOOTH, 0, 10, 3, 3, exhibitor_id="acme"),
    Zone("b2", ZoneKind.BOOTH, 5, 10, 3, 3, exhibitor_id="globex"),
    Zone("lounge", ZoneKind.LOUNGE, 20, 20, 10, 10),
]
SESSIONS = [
    AgendaSession("s1", "r1", "AI in Retail", t("10:00"), t("11:00"), ("ai", "retail")),
    AgendaSession("s2", "r1", "Keynote", t("14:00"), t("15:00")),
]
READERS = {"gate-nfc": "gate", "r1-nfc": "r1"}
EXHIBITORS = {"acme": "Acme", "globex": "Globex"}


def journey(**overrides: object) -> list[JourneyEntry]:
    args: dict[str, object] = {
        "registered_at": t("12:00", day=-10),
        "taps": [],
        "visits": [],
        "attendances": [],
        "zones": ZONES,
        "sessions": SESSIONS,
        "tap_zone": READERS,
    }
    args.update(overrides)
    return build_journey(**args)  # type: ignore[arg-type]


def kinds(entries: list[JourneyEntry]) -> list[tuple[str, str]]:
    return [(datetime.fromtimestamp(e.at, UTC).strftime("%d %H:%M"), e.kind.value) for e in entries]


def test_one_ordered_timeline_across_every_type() -> None:
    entries = journey(
        taps=[Tap("a", "gate-nfc", t("09:12"))],
        visits=[
            Visit("a", "b1", t("11:05"), t("11:17")),
            Visit("a", "r1", t("09:58"), t("11:01")),  # told by session_attended
            Visit("a", "lounge", t("12:00"), t("12:30")),
        ],
        attendances=[Attendance("a", "s1", 3540.0, 0.98)],
        other=[JourneyEntry(t("11:15"), K.LEAD_SCAN, zone_id="b1", ref="acme")],
    )

    assert kinds(entries) == [
        ("02 12:00", "registration"),
        ("12 09:12", "check_in"),
        ("12 09:12", "tap"),
        ("12 10:00", "session_attended"),
        ("12 11:05", "booth_visit"),
        ("12 11:15", "lead_scan"),
        ("12 12:00", "zone_visit"),
    ]
    check_in, session, booth = entries[1], entries[3], entries[4]
    assert (check_in.zone_id, check_in.details) == ("gate", {"by": "tap"})
    assert (session.ref, session.dwell_s, session.details["share"], session.details["title"]) == (
        "s1",
        3540.0,
        0.98,
        "AI in Retail",
    )
    assert (booth.ref, booth.dwell_s) == ("acme", 720.0)
    assert entries[6].details == {"zone_kind": "lounge"}


def test_check_in_is_the_first_arrival_of_each_day_by_tap_or_entrance_visit() -> None:
    entries = journey(
        registered_at=None,
        taps=[Tap("a", "gate-nfc", t("09:20")), Tap("a", "gate-nfc", t("13:00"))],
        visits=[Visit("a", "gate", t("09:15"), t("09:16")), Visit("a", "gate", t("08:40", day=1), t("08:41", day=1))],
    )

    check_ins = [(e.at, e.details["by"]) for e in entries if e.kind is K.CHECK_IN]
    assert check_ins == [(t("09:15"), "visit"), (t("08:40", day=1), "visit")]


def test_a_room_visit_between_sessions_stays_a_zone_visit() -> None:
    entries = journey(
        registered_at=None,
        visits=[Visit("a", "r1", t("12:00"), t("12:20")), Visit("a", "r1", t("10:00"), t("11:00"))],
        attendances=[Attendance("a", "s1", 3600.0, 1.0)],
    )

    assert [(e.kind, e.at) for e in entries] == [(K.SESSION_ATTENDED, t("10:00")), (K.ZONE_VISIT, t("12:00"))]


def test_an_open_visit_has_its_dwell_up_to_now_and_says_it_is_open() -> None:
    [with_now] = journey(registered_at=None, visits=[Visit("a", "b1", t("10:00"))], now=t("10:05"))
    [without_now] = journey(registered_at=None, visits=[Visit("a", "b1", t("10:00"))])

    assert (with_now.dwell_s, with_now.details) == (300.0, {"open": True})
    assert without_now.dwell_s is None


def test_ties_sort_by_kind_then_keep_input_order() -> None:
    sent = JourneyEntry(t("10:00"), K.NOTIFICATION_SENT, ref="n1")
    opened = JourneyEntry(t("10:00"), K.NOTIFICATION_OPENED, ref="n1")
    first = JourneyEntry(t("10:00"), K.APP_ACTION, ref="bookmark")
    second = JourneyEntry(t("10:00"), K.APP_ACTION, ref="agenda")

    assert order_entries([second, opened, first, sent]) == [sent, opened, second, first]
    assert order_entries([opened, first, second, sent]) == [sent, opened, first, second]


def test_other_subsystems_entries_join_the_timeline() -> None:
    other = [JourneyEntry(t("10:30"), K.MEETING, ref="acme"), JourneyEntry(t("09:00"), K.APP_ACTION, ref="login")]

    entries = journey(registered_at=None, other=other)

    assert entries == [other[1], other[0]]


# --- stages ---------------------------------------------------------------------------------------------------

STAGES = default_stage_model()


def e(kind: JourneyKind, ref: str | None = None) -> JourneyEntry:
    return JourneyEntry(t("10:00"), kind, ref=ref)


@pytest.mark.parametrize(
    ("entries", "score", "stage"),
    [
        ([e(K.REGISTRATION)], 0, "registered"),
        ([], None, "registered"),
        ([e(K.REGISTRATION), e(K.CHECK_IN)], 5, "arrived"),
        ([e(K.CHECK_IN), e(K.BOOTH_VISIT, "acme")], 10, "engaged"),
        ([e(K.CHECK_IN), e(K.BOOTH_VISIT, "acme"), e(K.BOOTH_VISIT, "acme"), e(K.BOOTH_VISIT, "acme")], 20, "engaged"),
        (
            [e(K.CHECK_IN), e(K.BOOTH_VISIT, "acme"), e(K.BOOTH_VISIT, "globex"), e(K.BOOTH_VISIT, "x")],
            20,
            "interested",
        ),
        ([e(K.CHECK_IN), e(K.SESSION_ATTENDED, "s1"), e(K.SESSION_ATTENDED, "s2")], 20, "interested"),
        ([e(K.CHECK_IN)], 40, "interested"),
        ([e(K.CHECK_IN), e(K.LEAD_SCAN, "acme")], 15, "lead"),
        ([e(K.LEAD_SCAN, "acme")], 15, "lead"),  # a lost check-in does not hide a conversion
        ([e(K.CHECK_IN), e(K.LEAD_SCAN, "acme"), e(K.MEETING, "acme")], 50, "opportunity"),
    ],
)
def test_stage_is_the_furthest_stage_whose_condition_holds(
    entries: list[JourneyEntry], score: float | None, stage: str
) -> None:
    assert stage_of(entries, score, STAGES) == stage


def test_the_default_map_has_the_documented_stages() -> None:
    assert STAGES.names == ("registered", "arrived", "engaged", "interested", "lead", "opportunity")


def test_the_condition_language() -> None:
    entries = [e(K.SESSION_ATTENDED, "s1"), e(K.SESSION_ATTENDED, "s1"), e(K.APP_ACTION)]

    assert condition_holds({"kind": ["meeting", "app_action"]}, entries, None)
    assert condition_holds({"count": {"kind": "session_attended", "at_least": 2}}, entries, None)
    assert not condition_holds({"count": {"kind": "session_attended", "at_least": 2, "distinct": True}}, entries, None)
    assert condition_holds({"all": [{"kind": "app_action"}, {"score_at_least": 10}]}, entries, 10)
    assert not condition_holds({"all": [{"kind": "app_action"}, {"score_at_least": 10}]}, entries, 9.99)
    assert not condition_holds({"score_at_least": 0}, entries, None)
    assert condition_holds({"any": [{"kind": "meeting"}, {"score_at_least": 1}]}, entries, 1)


def test_a_custom_map_loads_from_json_text_or_a_file(tmp_path: Path) -> None:
    data = {
        "version": "expo-2",
        "stages": [
            {"name": "visitor"},
            {"name": "booth_fan", "label": "Booth fan", "when": {"count": {"kind": "booth_visit", "at_least": 2}}},
        ],
    }
    path = tmp_path / "stages.json"
    path.write_text(json.dumps(data))

    from_text, from_file = load_stage_model(json.dumps(data)), load_stage_model(path)

    assert from_text == from_file
    assert (from_text.version, from_text.stages[1].label) == ("expo-2", "Booth fan")
    assert stage_of([e(K.BOOTH_VISIT), e(K.BOOTH_VISIT)], None, from_text) == "booth_fan"


@pytest.mark.parametrize(
    ("stages", "message"),
    [
        ([], "non-empty"),
        ([{"name": "x", "when": {"kind": "hug"}}], "unknown journey kind"),
        ([{"name": "x", "when": {"kinds": "meeting"}}], "a condition is one of"),
        ([{"name": "x", "when": {"count": {"at_least": 2}}}], "'count' takes"),
        ([{"name": "x", "when": {"any": []}}], "non-empty list"),
        ([{"name": "x", "when": {"score_at_least": "high"}}], "takes a number"),
        ([{"name": "x"}, {"name": "x"}], "duplicate"),
        ([{"name": "x", "then": 1}], "unknown keys"),
    ],
)
def test_a_broken_map_fails_at_load_naming_the_problem(stages: list[object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_stage_model(json.dumps({"stages": stages}))


# --- summary --------------------------------------------------------------------------------------------------


def test_summary_names_sessions_booths_and_conversions() -> None:
    entries = journey(
        taps=[Tap("a", "gate-nfc", t("09:12"))],
        visits=[
            Visit("a", "b1", t("11:05"), t("11:17")),
            Visit("a", "b2", t("12:00"), t("12:03")),
            Visit("a", "b1", t("16:00"), t("16:00")),
        ],
        attendances=[Attendance("a", "s1", 3240.0, 0.9), Attendance("a", "s2", 3600.0, 1.0)],
        other=[
            JourneyEntry(t("11:15"), K.LEAD_SCAN, ref="acme"),
            JourneyEntry(t("13:00"), K.NOTIFICATION_SENT, ref="n1"),
            JourneyEntry(t("13:01"), K.NOTIFICATION_OPENED, ref="n1"),
        ],
    )

    assert summarize(entries, ZONES, SESSIONS, EXHIBITORS) == (
        "Checked in 09:12; attended 2 sessions (AI in Retail 90 %, Keynote 100 %); "
        "visited 2 booths (Acme 12 min, Globex 3 min); 1 lead scan (Acme); opened 1 of 1 notifications."
    )


def test_summary_names_the_top_three_and_counts_the_rest_and_weekdays_over_several_days() -> None:
    zones = [Zone(f"b{i}", ZoneKind.BOOTH, 0, 0, 1, 1, exhibitor_id=f"x{i}") for i in range(5)]
    visits = [Visit("a", f"b{i}", t("10:00"), t("10:00") + 60 * (i + 1)) for i in range(5)]
    entries = journey(
        registered_at=None,
        zones=[*zones, ZONES[0]],
        visits=visits,
        taps=[Tap("a", "gate-nfc", t("09:00")), Tap("a", "gate-nfc", t("08:30", day=1))],
    )

    assert summarize(entries, [*zones, ZONES[0]], [], {}) == (
        "Checked in Tue 09:00, Wed 08:30; visited 5 booths (x4 5 min, x3 4 min, x2 3 min and 2 more)."
    )


def test_an_empty_journey_says_so() -> None:
    assert summarize([], ZONES, SESSIONS, EXHIBITORS) == "No activity yet."


def test_entries_serialise_to_json() -> None:
    entries = journey(attendances=[Attendance("a", "s1", 3600.0, 1.0)])

    assert json.loads(json.dumps(to_json(entries)))[1] == {
        "at": t("10:00"),
        "kind": "session_attended",
        "zone_id": "r1",
        "dwell_s": 3600.0,
        "ref": "s1",
        "details": {"title": "AI in Retail", "share": 1.0, "tags": ["ai", "retail"], "by_tap": False},
    }
