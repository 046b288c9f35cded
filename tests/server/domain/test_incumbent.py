"""Incumbent/challenger: a badge changes room only when another scanner wins by a margin for a while."""

from __future__ import annotations

from server.domain.incumbent import AWAY_AFTER_S, HOLD_S, MARGIN_DB, IncumbentChallengerTracker
from server.domain.model import Scanner, Sighting, Tap, Visit, VisitEnded, VisitStarted

SCANNERS = [
    Scanner("s1", "booth-1", 0, 0),
    Scanner("s2", "booth-2", 10, 0),
    Scanner("s2b", "booth-2", 12, 0),  # a second scanner of booth 2
    Scanner("pole", None, 5, 5),  # an aisle pole: its "room" is no zone
    Scanner("weak", "booth-3", 20, 0, rssi_offset_db=+10.0),  # reads 10 dB low; calibrated
]


def read(tracker: IncumbentChallengerTracker, at: float, **rssi: float) -> list[object]:
    """One scan window ending at ``at``: each scanner's reading of att-1."""
    return list(tracker.observe([Sighting("att-1", d, r, at - 1.5, at) for d, r in rssi.items()]))


def test_the_first_reading_places_the_badge_and_a_challenger_within_the_margin_never_moves_it() -> None:
    t = IncumbentChallengerTracker(SCANNERS)
    assert read(t, 2, s1=-60) == [VisitStarted(Visit("att-1", "booth-1", 0.5))]
    for k in range(2, 20):
        assert read(t, 2 * k, s1=-60, s2=-60 + MARGIN_DB - 0.5) == []
    assert t.zone_of("att-1") == "booth-1"


def test_a_challenger_that_wins_by_the_margin_for_the_hold_time_takes_over_back_dated() -> None:
    t = IncumbentChallengerTracker(SCANNERS)
    read(t, 2, s1=-60)
    assert read(t, 4, s1=-60, s2=-55) == []  # the challenge starts at 4
    assert read(t, 6, s1=-60, s2=-55) == []
    assert read(t, 4 + HOLD_S - 0.5, s1=-60, s2=-55) == []  # not yet held long enough
    assert read(t, 4 + HOLD_S, s1=-60, s2=-55) == [
        VisitEnded(Visit("att-1", "booth-1", 0.5, 4)),
        VisitStarted(Visit("att-1", "booth-2", 4)),
    ]


def test_one_lucky_reading_resets_the_challenge() -> None:
    t = IncumbentChallengerTracker(SCANNERS)
    read(t, 2, s1=-60)
    read(t, 4, s1=-60, s2=-50)
    read(t, 6, s1=-60, s2=-62)  # the challenger falls back: challenge over
    assert read(t, 8, s1=-60, s2=-50) == [] and read(t, 10, s1=-60, s2=-50) == []
    assert t.zone_of("att-1") == "booth-1"


def test_an_incumbent_gone_quiet_loses_at_once_and_a_scanner_of_the_same_zone_keeps_the_visit() -> None:
    t = IncumbentChallengerTracker(SCANNERS)
    read(t, 2, s2=-60)
    assert read(t, 20, s2b=-80) == []  # s2 silent for 18 s: s2b (same zone) takes over, the visit goes on
    assert read(t, 40, s1=-85) == [
        VisitEnded(Visit("att-1", "booth-2", 0.5, 20)),
        VisitStarted(Visit("att-1", "booth-1", 40)),
    ]


def test_an_aisle_scanner_winning_means_the_corridor() -> None:
    t = IncumbentChallengerTracker(SCANNERS)
    read(t, 2, s1=-60)
    read(t, 4, s1=-70, pole=-55)
    out = read(t, 4 + HOLD_S, s1=-70, pole=-55)
    assert out == [VisitEnded(Visit("att-1", "booth-1", 0.5, 4))] and t.open_visits() == []


def test_calibration_offsets_count_and_taps_say_nothing() -> None:
    t = IncumbentChallengerTracker(SCANNERS)
    read(t, 2, s1=-60)
    read(t, 4, s1=-60, weak=-63)  # -63 + 10 = -53: 7 dB stronger once calibrated
    assert read(t, 4 + HOLD_S, s1=-60, weak=-63)[-1] == VisitStarted(Visit("att-1", "booth-3", 4))
    assert t.tap(Tap("att-1", "s1", 11)) == []


def test_a_badge_unseen_for_the_away_time_leaves_at_its_last_reading() -> None:
    t = IncumbentChallengerTracker(SCANNERS)
    read(t, 2, s1=-60)
    read(t, 10, s1=-60)
    assert t.advance(10 + AWAY_AFTER_S) == []
    assert t.advance(10 + AWAY_AFTER_S + 0.1) == [VisitEnded(Visit("att-1", "booth-1", 0.5, 10))]
    assert t.zone_of("att-1") is None
