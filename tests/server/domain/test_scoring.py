"""Scoring: points per kind, dwell weighting, daily caps, decay, an exact breakdown, lead scores and fit grades.

The worked example is the one published in docs/scoring.md; if these numbers change, the doc must change too.
"""

from __future__ import annotations

import json
import random
import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from server.config.load import default_scoring_model, default_stage_model, load_scoring_model
from server.domain.journey import stage_of
from server.domain.model import AttendeeProfile, JourneyEntry, JourneyKind
from server.domain.scoring import (
    Score,
    decay_factor,
    grade,
    lead_score,
    parse_scoring_model,
    score,
)

K = JourneyKind
DAY = datetime(2026, 5, 12, tzinfo=UTC).timestamp()
MODEL = default_scoring_model()


def t(hhmm: str, day: int = 0) -> float:
    hours, minutes = hhmm.split(":")
    return DAY + day * 86400 + int(hours) * 3600 + int(minutes) * 60


def booth(at: float, minutes: float, exhibitor: str = "acme", zone: str = "b1") -> JourneyEntry:
    return JourneyEntry(at, K.BOOTH_VISIT, zone_id=zone, dwell_s=minutes * 60, ref=exhibitor)


NO_DECAY = parse_scoring_model(
    {
        "version": "test-no-decay",
        "half_life_days": None,
        "rules": {
            "check_in": {"points": 10, "cap_per_day": 10},
            "session_attended": {"points": 10, "scale_by_share": True, "cap_per_day": 40},
            "booth_visit": {"points": 2, "per_minute": 1, "max_minutes": 10, "cap_per_day": 36},
            "lead_scan": {"points": 15},
        },
    }
)

# The worked example of docs/scoring.md: one attendee, scored a week after the show's first day.
WORKED_EXAMPLE = [
    JourneyEntry(t("09:00", day=-7), K.REGISTRATION),
    JourneyEntry(t("09:00"), K.CHECK_IN, zone_id="gate"),
    JourneyEntry(t("10:00"), K.SESSION_ATTENDED, "r1", 3240.0, "s1", {"share": 0.9, "tags": ["ai", "retail"]}),
    booth(t("11:00"), 12),
    JourneyEntry(t("11:12"), K.LEAD_SCAN, zone_id="b1", ref="acme"),
    booth(t("11:30"), 3, "globex", "b2"),
    booth(t("12:00"), 15, "initech", "b3"),
    booth(t("13:00"), 20, "hooli", "b4"),
    booth(t("09:00", day=1), 8),
]
WORKED_NOW = t("09:00", day=7)


def test_the_worked_example_of_the_published_formula() -> None:
    result = score(WORKED_EXAMPLE, MODEL, WORKED_NOW)

    assert [
        (line.kind.value, str(line.raw), str(line.capped), line.decay, str(line.points)) for line in result.lines
    ] == [
        ("registration", "5.00", "5.00", 0.25, "1.25"),
        ("check_in", "10.00", "10.00", 0.5, "5.00"),
        ("session_attended", "9.00", "9.00", 0.502067, "4.52"),
        ("booth_visit", "12.00", "12.00", 0.504143, "6.05"),
        ("lead_scan", "15.00", "15.00", 0.504559, "7.57"),
        ("booth_visit", "5.00", "5.00", 0.505184, "2.53"),
        ("booth_visit", "12.00", "12.00", 0.506227, "6.07"),
        ("booth_visit", "12.00", "7.00", 0.50832, "3.56"),  # the day's booth cap of 36 leaves 7
        ("booth_visit", "10.00", "10.00", 0.552045, "5.52"),  # a new day, a new cap
    ]
    assert result.total == Decimal("42.07")
    assert result.model_version == MODEL.version == "2026.1"
    assert result.lines[7].reason == (
        "booth_visit 2 + 1/min x 10 min (of 20, max 10); daily cap 36 leaves 7.00; decay x0.50832 (6.8 d old)"
    )


def test_the_worked_example_without_decay_is_the_capped_raw_sum() -> None:
    assert sum(line.capped for line in score(WORKED_EXAMPLE, MODEL, WORKED_NOW).lines) == Decimal("85.00")
    assert score(WORKED_EXAMPLE, MODEL, WORKED_EXAMPLE[-1].at + 1).total < Decimal("85.00")


def test_the_published_table_matches_the_code() -> None:
    doc = (Path(__file__).parents[3] / "docs/scoring.md").read_text(encoding="utf-8")
    rows = [line.split("|")[4:8] for line in doc.splitlines() if re.match(r"^\| \d+ \| \d\d-\d\d", line)]
    result = score(WORKED_EXAMPLE, MODEL, WORKED_NOW)
    lead = lead_score(WORKED_EXAMPLE, "acme", {"b1"}, set(), {"ai"}, MODEL, WORKED_NOW)

    assert [[cell.strip() for cell in row] for row in rows] == [
        [str(line.raw), str(line.capped), f"{line.decay:g}", str(line.points)] for line in result.lines
    ]
    assert f"**{result.total}**" in doc
    assert f"**{lead.total}**" in doc
    assert f"stage **{stage_of(WORKED_EXAMPLE, result.total, default_stage_model())}**" in doc


def test_booth_visits_are_dwell_weighted_up_to_a_cap_on_minutes() -> None:
    now = t("18:00")
    assert score([booth(t("10:00"), 3)], NO_DECAY, now).total == Decimal("5.00")
    assert score([booth(t("10:00"), 10)], NO_DECAY, now).total == Decimal("12.00")
    assert score([booth(t("10:00"), 45)], NO_DECAY, now).total == Decimal("12.00")
    assert score([booth(t("10:00"), 0.5)], NO_DECAY, now).total == Decimal("2.50")


def test_session_points_scale_with_the_share_attended() -> None:
    half = JourneyEntry(t("10:00"), K.SESSION_ATTENDED, ref="s1", details={"share": 0.5})

    assert score([half], NO_DECAY, t("18:00")).total == Decimal("5.00")


def test_caps_are_per_kind_per_day() -> None:
    entries = [booth(t(f"{10 + i}:00"), 10) for i in range(4)] + [booth(t("10:00", day=1), 10)]
    entries.append(JourneyEntry(t("15:00"), K.LEAD_SCAN, ref="acme"))  # another kind: its own budget

    result = score(entries, NO_DECAY, t("18:00", day=1))

    assert [str(line.points) for line in result.lines] == ["12.00", "12.00", "12.00", "0.00", "15.00", "12.00"]
    assert result.lines[3].reason.endswith("daily cap 36 leaves 0.00")
    assert result.total == Decimal("63.00")


def test_a_day_is_a_day_in_the_models_time_zone() -> None:
    # 23:30 UTC on the 12th is 01:30 on the 13th in Berlin: a new day there, the same day in UTC.
    entries = [JourneyEntry(t("09:00"), K.CHECK_IN), JourneyEntry(t("23:30"), K.CHECK_IN)]
    berlin = parse_scoring_model(
        {"version": "b", "timezone": "Europe/Berlin", "rules": {"check_in": {"points": 10, "cap_per_day": 10}}}
    )
    utc = parse_scoring_model({"version": "u", "rules": {"check_in": {"points": 10, "cap_per_day": 10}}})

    assert score(entries, utc, t("23:59")).total == Decimal("10.00")
    assert score(entries, berlin, t("23:59")).total == Decimal("20.00")


@pytest.mark.parametrize(
    ("age_days", "factor"), [(0, 1.0), (7, 0.5), (14, 0.25), (3.5, 0.707107), (-1, 1.0), (70, 0.000977)]
)
def test_decay_halves_points_every_half_life(age_days: float, factor: float) -> None:
    assert decay_factor(age_days * 86400, 7) == factor


def test_decay_is_relative_to_now_and_future_entries_are_ignored() -> None:
    entries = [JourneyEntry(t("09:00"), K.CHECK_IN), JourneyEntry(t("09:00", day=1), K.LEAD_SCAN, ref="acme")]

    assert score(entries, MODEL, t("09:00")).total == Decimal("10.00")
    assert score(entries, MODEL, t("09:00", day=7)).total == Decimal("5.00") + Decimal("8.28")
    assert [line.decay for line in score(entries, MODEL, t("09:00", day=7)).lines] == [0.5, 0.552045]


def test_the_breakdown_sums_exactly_to_the_score() -> None:
    rng = random.Random(4)
    kinds = list(K)
    entries = [
        JourneyEntry(
            DAY + rng.uniform(-3, 3) * 86400,
            rng.choice(kinds),
            zone_id=f"z{rng.randrange(5)}",
            dwell_s=rng.uniform(0, 3000),
            ref=f"r{rng.randrange(5)}",
            details={"share": rng.random()},
        )
        for _ in range(2000)
    ]

    for now in (DAY, DAY + 3.3 * 86400, DAY + 100 * 86400):
        result = score(entries, MODEL, now)
        assert sum((line.points for line in result.lines), Decimal(0)) == result.total
        stored = result.to_dict()
        assert sum(Decimal(line["points"]) for line in stored["lines"]) == Decimal(stored["total"])
        assert float(result) == float(stored["total"])


def test_the_same_entries_in_any_order_give_the_same_score() -> None:
    shuffled = WORKED_EXAMPLE[:]
    random.Random(1).shuffle(shuffled)

    assert score(shuffled, MODEL, WORKED_NOW) == score(WORKED_EXAMPLE, MODEL, WORKED_NOW)


def test_changing_the_model_rescores_consistently(tmp_path: Path) -> None:
    data = {
        "version": "2026.2-booths-matter",
        "half_life_days": None,
        "rules": {"booth_visit": {"points": 5, "per_minute": 2, "max_minutes": 5}, "lead_scan": {"points": 30}},
    }
    path = tmp_path / "scoring.json"
    path.write_text(json.dumps(data))
    new_model = load_scoring_model(path)

    before = score(WORKED_EXAMPLE, MODEL, WORKED_NOW)
    after = score(WORKED_EXAMPLE, new_model, WORKED_NOW)

    # five booth visits of 5 + 2 x min(dwell, 5) = 15, 11, 15, 15, 15 and one lead scan of 30; no caps, no decay
    assert after.total == Decimal("101.00")
    assert after.model_version == "2026.2-booths-matter" != before.model_version
    assert after == score(WORKED_EXAMPLE, load_scoring_model(json.dumps(data)), WORKED_NOW)
    assert score(WORKED_EXAMPLE, MODEL, WORKED_NOW) == before


def test_kinds_without_a_rule_score_nothing_and_give_no_line() -> None:
    entries = [JourneyEntry(t("10:00"), K.NOTIFICATION_SENT), JourneyEntry(t("10:00"), K.ZONE_VISIT, dwell_s=0)]

    assert score(entries, MODEL, t("11:00")) == Score(Decimal("0.00"), (), "2026.1", t("11:00"))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"rules": {}}, "needs a 'version'"),
        ({"version": "1", "rules": {"hug": {"points": 1}}}, "unknown journey kind 'hug'"),
        ({"version": "1", "rules": {"tap": {"pts": 1}}}, "unknown keys"),
        ({"version": "1", "half_life_days": 0}, "must be positive"),
        ({"version": "1", "fit": {"criteria": [], "grades": {"A": 10}}}, "minimum 0"),
        ({"version": "1", "fit": {"criteria": [{"name": "x", "age_over": 30}], "grades": {"D": 0}}}, "exactly one"),
    ],
)
def test_a_broken_model_fails_at_load_naming_the_problem(data: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_scoring_model(data)


# --- lead score -----------------------------------------------------------------------------------------------


def test_the_lead_score_counts_the_exhibitors_booth_sessions_and_content() -> None:
    result = lead_score(WORKED_EXAMPLE, "acme", {"b1"}, set(), {"AI"}, MODEL, WORKED_NOW)

    assert [(line.kind.value, str(line.points)) for line in result.lines] == [
        ("session_attended", "2.26"),  # on the exhibitor's topic: half weight
        ("booth_visit", "6.05"),
        ("lead_scan", "7.57"),
        ("booth_visit", "5.52"),
    ]
    assert result.lines[0].reason.startswith("on ai (acme's topics): session_attended 10 x share 0.9 x weight 0.5")
    assert result.total == Decimal("21.40")


def test_an_exhibitors_own_session_and_content_count_in_full() -> None:
    now = t("18:00")
    entries = [
        JourneyEntry(t("10:00"), K.SESSION_ATTENDED, ref="s9", details={"share": 1.0}),
        JourneyEntry(t("11:00"), K.APP_ACTION, ref="brochure", details={"exhibitor_id": "acme"}),
        JourneyEntry(t("11:05"), K.NOTIFICATION_OPENED, ref="acme"),
        JourneyEntry(t("11:10"), K.TAP, zone_id="b1", ref="b1-nfc"),
        JourneyEntry(t("11:20"), K.LEAD_SCAN, ref="globex"),  # someone else's lead
        JourneyEntry(t("11:30"), K.BOOTH_VISIT, zone_id="b2", dwell_s=600, ref="globex"),
        JourneyEntry(t("09:00"), K.CHECK_IN),
    ]
    no_decay_model = parse_scoring_model({**_default_data(), "half_life_days": None})

    result = lead_score(entries, "acme", {"b1"}, {"s9"}, set(), no_decay_model, now)

    assert [(line.kind.value, str(line.points)) for line in result.lines] == [
        ("session_attended", "10.00"),
        ("app_action", "1.00"),
        ("notification_opened", "2.00"),
        ("tap", "1.00"),
    ]


def _default_data() -> dict[str, object]:
    import yaml

    return dict(yaml.safe_load((Path(__file__).parents[3] / "server/config/defaults/scoring.yaml").read_text()))


# --- fit grade ------------------------------------------------------------------------------------------------


def test_a_decision_maker_in_the_target_market_with_the_events_interests_is_an_a() -> None:
    profile = AttendeeProfile("a", job_title="VP Sales", country="DE", interests=("AI", "retail", "golf"))

    result = grade(profile, MODEL.fit)

    assert (result.letter, result.points, str(result)) == ("A", 80.0, "A")
    assert result.reasons == (
        "decision maker: job_title vp (+40)",
        "target market: country DE (+20)",
        "target segment: tags no match (+0)",
        "shares the event's focus: interests AI, retail (+20)",
        "fit 80 points -> grade A",
    )


@pytest.mark.parametrize(
    ("profile", "letter"),
    [
        (AttendeeProfile("a", job_title="Head of IT", country="BR", tags=("enterprise",)), "B"),  # 40 + 20
        (AttendeeProfile("a", job_title="Headset Engineer", country="US"), "C"),  # "head" is not a word here: 20
        (AttendeeProfile("a", interests=("ai", "iot", "data", "security")), "C"),  # capped at 30
        (AttendeeProfile("a"), "D"),
    ],
)
def test_grades_follow_the_fit_points(profile: AttendeeProfile, letter: str) -> None:
    assert grade(profile, MODEL.fit).letter == letter
