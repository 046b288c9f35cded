"""The presence bench's scoring, on hand-made truths and answers small enough to count by hand."""

from __future__ import annotations

import sys

import pytest

from server.bench.presence import CalibrationUnavailable, calibration_fit
from server.bench.presence_score import SAMPLE_S, score_dwell, true_visits, visit_scores
from server.simulator.movement import Interval, Itinerary

KIND_OF = {"b1": "booth", "b2": "booth", "r1": "room"}


def stay(who: str, zone: str | None, start: float, end: float) -> Interval:
    return Interval(who, zone, start, end, 1.0, 1.0, 1.0, 1.0)


# att-1: booth b1 for 100 s, corridor 50 s, room r1 100 s.  att-2: booth b2 for 100 s.
DAYS = [
    Itinerary("att-1", (stay("att-1", "b1", 0, 100), stay("att-1", None, 100, 150), stay("att-1", "r1", 150, 250)), ()),
    Itinerary("att-2", (stay("att-2", "b2", 0, 100),), ()),
]


def test_dwell_is_scored_per_kind_with_corridor_time_apart() -> None:
    # The method: att-1 in b1 0-60 then "b2" 60-120 (40 s wrong in the booth, 20 s of corridor put in b2),
    # r1 150-250 right; att-2 never placed.
    spans = [("att-1", "b1", 0.0, 60.0), ("att-1", "b2", 60.0, 120.0), ("att-1", "r1", 150.0, 250.0)]
    score = score_dwell(DAYS, spans, 0.0, 250.0, KIND_OF)
    per = 1 / SAMPLE_S  # samples per second
    assert score.in_zone["booth"] == [60 * per, 200 * per]  # b1 0-60 right; b1 60-100 and all of att-2's b2 wrong
    assert score.in_zone["room"] == [100 * per, 100 * per]
    assert score.corridor == [20 * per, 50 * per]  # 100-120 wrongly in b2; 120-150 right (no visit)
    assert score.in_zone_accuracy("booth") == pytest.approx(0.3)
    assert score.in_zone_accuracy() == pytest.approx(160 / 300)
    assert score.corridor_in_zone_share() == pytest.approx(0.4)
    assert score.dwell_accuracy() == pytest.approx((60 + 100 + 30) / 350)
    assert score.minutes("booth") == pytest.approx(200 / 60)


def test_visits_are_matched_per_kind_by_half_the_true_visit() -> None:
    truths = true_visits(DAYS, 0.0, 250.0)
    assert sorted(truths) == [("att-1", "b1", 0, 100), ("att-1", "r1", 150, 250), ("att-2", "b2", 0, 100)]
    spans = [
        ("att-1", "b1", 0.0, 60.0),  # matches (60 of 100 s)
        ("att-1", "b2", 60.0, 120.0),  # no true visit of att-1 to b2
        ("att-1", "r1", 210.0, 250.0),  # 40 of 100 s: no match
        ("att-2", "b2", 10.0, 30.0),  # shorter than the 45 s minimum: not counted
    ]
    scores = visit_scores(spans, truths, 45.0, KIND_OF)
    assert scores["booth"] == (0.5, 0.5, 2, 2)  # b1 right, b2 wrong; b1 found, att-2's b2 missed
    assert scores["room"] == (1.0, 0.0, 0, 1)  # no room visit counted (40 s < 45 s), the true one missed
    assert scores[None] == (0.5, 1 / 3, 2, 3)
    assert scores["lounge"] == (1.0, 1.0, 0, 0)  # nothing to count: neither right nor wrong


def test_calibrate_without_the_fit_is_a_clear_error_not_a_number(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "server.domain.calibration", None)  # as on a build without the fit
    with pytest.raises(CalibrationUnavailable, match="fit_calibration"):
        calibration_fit()
