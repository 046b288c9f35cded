"""Session attendance: visits and check-in taps become attendances; registrations become no-shows and walk-ins."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from server.domain.attendance import (
    CHECK_IN_GRACE_S,
    MIN_ATTENDED_SHARE,
    SessionReport,
    session_attendance,
    session_report,
)
from server.domain.model import AgendaSession, Attendance, Tap, Visit, Zone, ZoneKind

DAY = datetime(2026, 5, 12, tzinfo=UTC).timestamp()


def t(hhmm: str) -> float:
    hours, minutes = hhmm.split(":")
    return DAY + int(hours) * 3600 + int(minutes) * 60


ROOM = Zone("r1", ZoneKind.ROOM, 0, 0, 10, 10, capacity=4)
TALK = AgendaSession("s1", "r1", "AI in Retail", t("10:00"), t("11:00"), tags=("ai", "retail"))
NEXT_TALK = AgendaSession("s2", "r1", "Edge IoT", t("11:00"), t("11:30"))
READERS = {"door-r1": "r1", "door-r2": "r2"}


def test_a_visit_covering_the_whole_session_is_full_attendance() -> None:
    visits = [Visit("a", "r1", t("09:50"), t("11:05"))]

    assert session_attendance(visits, [TALK]) == [Attendance("a", "s1", 3600.0, 1.0)]


def test_several_visits_are_summed_and_overlaps_are_not_counted_twice() -> None:
    visits = [
        Visit("a", "r1", t("10:00"), t("10:20")),
        Visit("a", "r1", t("10:10"), t("10:20")),  # overlaps the first: counts once
        Visit("a", "r1", t("10:40"), t("11:10")),  # only 20 min inside the session
    ]

    [attendance] = session_attendance(visits, [TALK])

    assert attendance.present_s == 2400.0
    assert attendance.share == pytest.approx(2 / 3)


def test_a_visit_spanning_two_sessions_counts_for_each_its_own_part() -> None:
    visits = [Visit("a", "r1", t("10:45"), t("11:15"))]

    result = session_attendance(visits, [TALK, NEXT_TALK], min_share=0)

    assert result == [Attendance("a", "s1", 900.0, 0.25), Attendance("a", "s2", 900.0, 0.5)]


def test_a_short_look_in_is_not_attendance_unless_asked_for() -> None:
    visits = [Visit("a", "r1", t("10:00"), t("10:10"))]  # 1/6 of the session
    assert MIN_ATTENDED_SHARE > 1 / 6

    assert session_attendance(visits, [TALK]) == []
    assert session_attendance(visits, [TALK], min_share=0) == [Attendance("a", "s1", 600.0, 1 / 6)]


def test_visits_in_other_rooms_or_outside_the_session_do_not_count() -> None:
    visits = [Visit("a", "r2", t("10:00"), t("11:00")), Visit("a", "r1", t("08:00"), t("10:00"))]

    assert session_attendance(visits, [TALK], min_share=0) == []


def test_an_open_visit_counts_up_to_now() -> None:
    visits = [Visit("a", "r1", t("10:00"))]

    assert session_attendance(visits, [TALK], now=t("10:30")) == [Attendance("a", "s1", 1800.0, 0.5)]
    assert session_attendance(visits, [TALK]) == [Attendance("a", "s1", 3600.0, 1.0)]


def test_a_tap_alone_is_presence_from_the_tap_to_the_end() -> None:
    taps = [Tap("a", "door-r1", t("10:20"))]

    [attendance] = session_attendance([], [TALK], taps, READERS)

    assert attendance == Attendance("a", "s1", 2400.0, 2400 / 3600, checked_in_by_tap=True)


def test_a_tap_holds_until_the_next_visit_takes_over() -> None:
    taps = [Tap("a", "door-r1", t("10:05"))]
    visits = [Visit("a", "r1", t("10:10"), t("10:30"))]  # BLE saw them leave at 10:30

    [attendance] = session_attendance(visits, [TALK], taps, READERS)

    assert attendance.present_s == 25 * 60  # 10:05-10:10 by the tap, 10:10-10:30 by the visit
    assert attendance.checked_in_by_tap


def test_a_tap_during_a_visit_adds_nothing_but_marks_the_check_in() -> None:
    taps = [Tap("a", "door-r1", t("10:15"))]
    visits = [Visit("a", "r1", t("10:00"), t("10:30"))]

    assert session_attendance(visits, [TALK], taps, READERS) == [
        Attendance("a", "s1", 1800.0, 0.5, checked_in_by_tap=True)
    ]


def test_a_tap_counts_even_under_the_minimum_share() -> None:
    taps = [Tap("a", "door-r1", t("10:55"))]

    assert session_attendance([], [TALK], taps, READERS) == [
        Attendance("a", "s1", 300.0, 300 / 3600, checked_in_by_tap=True)
    ]


def test_a_tap_in_the_grace_period_checks_in_from_the_start() -> None:
    taps = [Tap("a", "door-r1", t("09:50"))]
    assert CHECK_IN_GRACE_S >= 10 * 60

    assert session_attendance([], [TALK], taps, READERS) == [Attendance("a", "s1", 3600.0, 1.0, checked_in_by_tap=True)]


def test_a_tap_before_the_grace_period_or_at_another_reader_is_ignored() -> None:
    taps = [Tap("a", "door-r1", t("09:30")), Tap("b", "door-r2", t("10:10")), Tap("c", "unknown", t("10:10"))]

    assert session_attendance([], [TALK], taps, READERS) == []


def test_a_tap_at_the_end_of_one_talk_checks_in_to_the_next() -> None:
    taps = [Tap("a", "door-r1", t("10:55"))]  # within the next talk's grace period

    assert session_attendance([], [TALK, NEXT_TALK], taps, READERS) == [
        Attendance("a", "s2", 1800.0, 1.0, checked_in_by_tap=True)
    ]


def test_the_same_tap_twice_is_one_check_in() -> None:
    taps = [Tap("a", "door-r1", t("10:20")), Tap("a", "door-r1", t("10:20"))]

    assert session_attendance([], [TALK], taps, READERS) == [
        Attendance("a", "s1", 2400.0, 2400 / 3600, checked_in_by_tap=True)
    ]


def test_results_are_ordered_by_session_then_attendee() -> None:
    visits = [Visit(a, "r1", t("10:00"), t("11:30")) for a in ("c", "a", "b")]

    result = session_attendance(visits, [NEXT_TALK, TALK])

    assert [(x.session_id, x.attendee_id) for x in result] == [
        ("s1", "a"),
        ("s1", "b"),
        ("s1", "c"),
        ("s2", "a"),
        ("s2", "b"),
        ("s2", "c"),
    ]


def test_session_report_counts_no_shows_walk_ins_fill_and_averages() -> None:
    attendances = [Attendance("a", "s1", 3600.0, 1.0), Attendance("d", "s1", 1800.0, 0.5)]
    registrations = {"s1": {"a", "b", "c"}, "s2": {"a"}}

    reports = session_report([NEXT_TALK, TALK], registrations, attendances, zones=[ROOM])

    assert reports == [
        SessionReport(
            session_id="s1",
            title="AI in Retail",
            registered=3,
            attended=2,
            registered_and_attended=1,
            no_shows=("b", "c"),
            walk_ins=("d",),
            capacity=4,
            fill=0.5,
            show_rate=1 / 3,
            average_share=0.75,
            average_dwell_s=2700.0,
        ),
        SessionReport(
            session_id="s2",
            title="Edge IoT",
            registered=1,
            attended=0,
            registered_and_attended=0,
            no_shows=("a",),
            walk_ins=(),
            capacity=4,
            fill=0.0,
            show_rate=0.0,
            average_share=None,
            average_dwell_s=None,
        ),
    ]


def test_session_report_without_capacity_or_registrations_has_no_rates() -> None:
    [report] = session_report([TALK], {}, [Attendance("a", "s1", 3600.0, 1.0)])

    assert (report.fill, report.show_rate, report.walk_ins) == (None, None, ("a",))
