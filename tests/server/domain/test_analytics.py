"""Analytics: registration vs check-in, session fill, booth traffic, top engaged, funnel, what preceded
conversion, occupancy over time."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from server.config.load import default_stage_model
from server.domain.analytics import (
    BoothTraffic,
    EngagedAttendee,
    FunnelStep,
    RegistrationAttendance,
    SequenceCount,
    booth_traffic,
    checked_in_attendees,
    exhibitor_traffic,
    funnel,
    occupancy,
    preceding_sequences,
    registration_attendance,
    session_fill,
    top_engaged,
)
from server.domain.attendance import session_report
from server.domain.model import AgendaSession, Attendance, JourneyEntry, JourneyKind, Visit, Zone, ZoneKind
from server.domain.scoring import Score

K = JourneyKind
DAY = datetime(2026, 5, 12, tzinfo=UTC).timestamp()


def t(hhmm: str) -> float:
    hours, minutes = hhmm.split(":")
    return DAY + int(hours) * 3600 + int(minutes) * 60


ZONES = [
    Zone("b1", ZoneKind.BOOTH, 0, 0, 3, 3, exhibitor_id="acme"),
    Zone("b1x", ZoneKind.BOOTH, 3, 0, 3, 3, exhibitor_id="acme"),
    Zone("b2", ZoneKind.BOOTH, 6, 0, 3, 3, exhibitor_id="globex"),
    Zone("r1", ZoneKind.ROOM, 0, 10, 10, 10, capacity=2),
    Zone("r2", ZoneKind.ROOM, 10, 10, 10, 10, capacity=10),
    Zone("lounge", ZoneKind.LOUNGE, 20, 0, 10, 10),
]


def test_registration_versus_check_in() -> None:
    journeys = {
        "a": [JourneyEntry(t("09:00"), K.CHECK_IN)],
        "b": [JourneyEntry(t("09:00"), K.REGISTRATION), JourneyEntry(t("09:05"), K.CHECK_IN)],
        "c": [JourneyEntry(t("09:00"), K.REGISTRATION)],
        "x": [JourneyEntry(t("09:10"), K.CHECK_IN)],
    }

    result = registration_attendance({"a", "b", "c", "d"}, checked_in_attendees(journeys))

    assert result == RegistrationAttendance(
        registered=4, checked_in=3, registered_and_checked_in=2, walk_ins=1, rate=0.5
    )
    assert registration_attendance(set(), set()).rate is None


def test_session_fill_lists_the_fullest_sessions_first() -> None:
    sessions = [
        AgendaSession("s1", "r1", "Small room", t("10:00"), t("11:00")),
        AgendaSession("s2", "r2", "Big room", t("10:00"), t("11:00")),
        AgendaSession("s3", "nowhere", "No capacity", t("10:00"), t("11:00")),
    ]
    attendances = [Attendance(a, "s1", 3600.0, 1.0) for a in "ab"] + [Attendance("c", "s2", 1800.0, 0.5)]

    reports = session_fill(session_report(sessions, {}, attendances, zones=ZONES))

    assert [(r.session_id, r.fill, r.average_dwell_s) for r in reports] == [
        ("s1", 1.0, 3600.0),
        ("s2", 0.1, 1800.0),
        ("s3", None, None),
    ]


VISITS = [
    Visit("a", "b1", t("10:00"), t("10:01")),
    Visit("a", "b1", t("11:00"), t("11:03")),
    Visit("b", "b1", t("10:00"), t("10:02")),
    Visit("b", "b1x", t("12:00"), t("12:10")),
    Visit("c", "r1", t("10:00"), t("11:00")),  # not a booth
]


def test_booth_traffic_counts_visits_unique_visitors_and_dwell() -> None:
    assert booth_traffic(VISITS, ZONES) == [
        BoothTraffic("b1", "acme", ("b1",), 3, 2, 360.0, 120.0, 120.0),
        BoothTraffic("b1x", "acme", ("b1x",), 1, 1, 600.0, 600.0, 600.0),
        BoothTraffic("b2", "globex", ("b2",), 0, 0, 0.0, None, None),  # a booth nobody visited is news too
    ]


def test_exhibitor_traffic_counts_a_visitor_of_two_booths_once() -> None:
    assert exhibitor_traffic(VISITS, ZONES) == [
        BoothTraffic("acme", "acme", ("b1", "b1x"), 4, 2, 960.0, 240.0, 150.0),
        BoothTraffic("globex", "globex", ("b2",), 0, 0, 0.0, None, None),
    ]


def test_open_visits_count_and_their_dwell_runs_to_now() -> None:
    visits = [Visit("a", "b2", t("10:00"), t("10:02")), Visit("b", "b2", t("10:00"))]

    [without_now] = [row for row in booth_traffic(visits, ZONES) if row.key == "b2"]
    [with_now] = [row for row in booth_traffic(visits, ZONES, now=t("10:10")) if row.key == "b2"]

    assert (without_now.visits, without_now.average_dwell_s) == (2, 120.0)
    assert (with_now.visits, with_now.average_dwell_s) == (2, 360.0)


def test_top_engaged_ranks_by_score_then_attendee() -> None:
    scores: dict[str, Score | Decimal | float] = {
        "c": Score(Decimal("12.50"), (), "v", 0.0),
        "a": Decimal("12.50"),
        "b": 40.0,
        "d": 1.0,
    }

    assert top_engaged(scores, n=3) == [
        EngagedAttendee(1, "b", 40.0),
        EngagedAttendee(2, "a", Decimal("12.50")),
        EngagedAttendee(3, "c", Decimal("12.50")),
    ]


def test_the_funnel_counts_each_stage_and_the_conversion_between_stages() -> None:
    stages = {"a": "registered", "b": "arrived", "c": "engaged", "d": "lead", "e": "arrived", "f": "gone"}

    steps = funnel(stages, default_stage_model())

    assert steps == [
        FunnelStep("registered", "Registered", 1, 5, None, 1.0),
        FunnelStep("arrived", "Arrived", 2, 4, 0.8, 0.8),
        FunnelStep("engaged", "Engaged", 1, 2, 0.5, 0.4),
        FunnelStep("interested", "Interested", 0, 1, 0.5, 0.2),
        FunnelStep("lead", "Lead", 1, 1, 1.0, 0.2),
        FunnelStep("opportunity", "Opportunity", 0, 0, 0.0, 0.0),
    ]


# --- what preceded conversion ---------------------------------------------------------------------------------


def entry(hhmm: str, kind: JourneyKind, zone_id: str | None = None) -> JourneyEntry:
    return JourneyEntry(t(hhmm), kind, zone_id=zone_id)


def test_the_most_common_sequences_before_a_lead_scan_or_meeting() -> None:
    journeys = [
        [entry("10:00", K.SESSION_ATTENDED), entry("11:00", K.BOOTH_VISIT), entry("11:10", K.LEAD_SCAN)],
        [entry("10:00", K.SESSION_ATTENDED), entry("11:00", K.BOOTH_VISIT), entry("11:10", K.LEAD_SCAN)],
        [entry("10:30", K.ZONE_VISIT, "lounge"), entry("11:00", K.BOOTH_VISIT), entry("11:20", K.MEETING)],
        [entry("10:00", K.CHECK_IN), entry("10:05", K.APP_ACTION)],  # never converted
    ]

    assert preceding_sequences(journeys, ZONES) == [
        SequenceCount(("session_attended", "booth_visit", "lead_scan"), 2, 2 / 3),
        SequenceCount(("booth_visit", "lead_scan"), 2, 2 / 3),
        SequenceCount(("zone_visit:lounge", "booth_visit", "meeting"), 1, 1 / 3),
        SequenceCount(("booth_visit", "meeting"), 1, 1 / 3),
    ]


def test_only_the_window_before_counts_repeats_collapse_and_taps_are_noise() -> None:
    journey = [
        entry("08:00", K.SESSION_ATTENDED),  # more than 2 h before: outside the window
        entry("10:30", K.NOTIFICATION_OPENED),
        entry("11:00", K.BOOTH_VISIT),
        entry("11:02", K.TAP, "b1"),
        entry("11:03", K.BOOTH_VISIT),  # the badge flickered out and back: one stay
        entry("11:10", K.LEAD_SCAN),
        entry("12:00", K.APP_ACTION),  # after the conversion: not "before"
    ]

    result = preceding_sequences([journey], ZONES, lengths=(2, 3, 4))

    assert [(r.sequence, r.count) for r in result] == [
        (("notification_opened", "booth_visit", "lead_scan"), 1),
        (("booth_visit", "lead_scan"), 1),
    ]


def test_a_scan_after_a_scan_counts_both_conversions() -> None:
    journey = [entry("11:00", K.BOOTH_VISIT), entry("11:10", K.LEAD_SCAN), entry("11:20", K.LEAD_SCAN)]

    assert preceding_sequences([journey], ZONES, lengths=(2,)) == [
        SequenceCount(("booth_visit", "lead_scan"), 1, 0.5),
        SequenceCount(("lead_scan", "lead_scan"), 1, 0.5),
    ]


# --- occupancy ------------------------------------------------------------------------------------------------


def test_occupancy_counts_people_in_each_zone_at_each_step() -> None:
    visits = [
        Visit("a", "r1", t("09:00"), t("09:30")),
        Visit("b", "r1", t("09:15"), t("10:00")),
        Visit("c", "lounge", t("09:40"), t("09:50")),
    ]

    series = occupancy(visits, t("09:00"), t("10:00"), 15 * 60, zone_ids=["r1", "lounge", "r2"])

    assert series.times == (t("09:00"), t("09:15"), t("09:30"), t("09:45"), t("10:00"))
    assert dict(series.counts) == {
        "lounge": (0, 0, 0, 1, 0),
        "r1": (1, 2, 1, 1, 0),
        "r2": (0, 0, 0, 0, 0),
    }


def test_open_visits_last_until_now() -> None:
    visits = [Visit("a", "r1", t("09:00"))]

    assert occupancy(visits, t("09:00"), t("10:00"), 1800, now=t("09:45")).counts == {"r1": (1, 1, 0)}
    assert occupancy(visits, t("09:00"), t("10:00"), 1800).counts == {"r1": (1, 1, 1)}


@pytest.mark.parametrize(("t1", "step"), [(DAY - 1, 60.0), (DAY + 60, 0.0), (DAY + 86400, 1.0)])
def test_occupancy_rejects_an_impossible_or_huge_series(t1: float, step: float) -> None:
    with pytest.raises(ValueError):
        occupancy([], DAY, t1, step)
