"""Per-rule and per-campaign metrics from decisions and delivery records; disturbance per attendee-day."""

from __future__ import annotations

from test_rules_support import DAY, HOUR, MIN, T0

from server.domain.model import JourneyKind
from server.domain.rules.events import Decision, Outcome
from server.domain.rules.guards import Channel, SuppressionReason
from server.domain.rules.metrics import DeliveryRecord, GoalTouchpoint, compute_rule_metrics, disturbance, nearest_rank
from server.domain.rules.model import Goal


def decision(n: int, attendee: str, at: float, rule: str = "nearby", campaign: str = "booths",
             reason: SuppressionReason | None = None, channel: Channel = Channel.PUSH) -> Decision:  # fmt: skip
    outcome = Outcome.SUPPRESSED if reason else Outcome.FIRED
    return Decision(f"d{n}", rule, 1, campaign, attendee, 0, channel, outcome, reason, at, "zone_entered")


def test_fired_suppressed_delivered_opened_and_converted_per_rule_and_campaign() -> None:
    decisions = [
        decision(1, "a1", T0),
        decision(2, "a2", T0),
        decision(3, "a3", T0),
        decision(4, "a4", T0, reason=SuppressionReason.QUIET_HOURS),
        decision(5, "a5", T0, reason=SuppressionReason.CAP_OVERALL),
        decision(6, "a6", T0, rule="thanks", reason=SuppressionReason.QUIET_HOURS),
    ]
    deliveries = [
        DeliveryRecord("d1", T0 + 1, "delivered"),
        DeliveryRecord("d1", T0 + 60, "opened"),
        DeliveryRecord("d2", T0 + 2, "delivered"),
    ]
    touchpoints = [
        GoalTouchpoint("a1", "booth_visit", T0 + 20 * MIN, zone_id="b1"),  # within 30 min of delivery
        GoalTouchpoint("a2", "booth_visit", T0 + 40 * MIN, zone_id="b1"),  # too late
        GoalTouchpoint("a3", "booth_visit", T0 + 5 * MIN, zone_id="b1"),  # never delivered: cannot convert
    ]

    metrics = compute_rule_metrics(
        decisions, deliveries, touchpoints, {"nearby": Goal(kind=JourneyKind.BOOTH_VISIT, within_s=1800)}
    )

    nearby = metrics.by_rule["nearby"]
    assert (nearby.fired, nearby.delivered, nearby.opened, nearby.converted) == (3, 2, 1, 1)
    assert nearby.suppressed == {SuppressionReason.QUIET_HOURS: 1, SuppressionReason.CAP_OVERALL: 1}
    assert (nearby.open_rate, nearby.conversion_rate) == (0.5, 0.5)
    booths = metrics.by_campaign["booths"]
    assert (booths.fired, booths.suppressed_total) == (3, 3)
    assert booths.suppressed == {SuppressionReason.QUIET_HOURS: 2, SuppressionReason.CAP_OVERALL: 1}
    assert metrics.by_rule["thanks"].conversion_rate is None


def test_goal_zone_and_ref_narrow_the_conversion() -> None:
    decisions = [decision(1, "a1", T0), decision(2, "a2", T0)]
    deliveries = [DeliveryRecord("d1", T0, "delivered"), DeliveryRecord("d2", T0, "delivered")]
    touchpoints = [
        GoalTouchpoint("a1", "booth_visit", T0 + MIN, zone_id="b2"),
        GoalTouchpoint("a2", "booth_visit", T0 + MIN, zone_id="b1"),
    ]

    metrics = compute_rule_metrics(
        decisions,
        deliveries,
        touchpoints,
        {"nearby": Goal(kind=JourneyKind.BOOTH_VISIT, within_s=600, zone_ids=("b1",))},
    )

    assert metrics.by_rule["nearby"].converted == 1


def test_disturbance_is_pushes_per_attendee_per_local_day() -> None:
    pushes = [decision(i, "a1", T0 + i * HOUR) for i in range(5)]  # a1: 5 pushes on day 1
    pushes += [decision(10, "a1", T0 + DAY), decision(11, "a2", T0), decision(12, "a2", T0 + MIN)]
    pushes += [decision(13, "a3", T0, reason=SuppressionReason.CAP_RULE), decision(14, "a3", T0, channel=Channel.EMAIL)]

    spread = disturbance(pushes)

    # attendee-days: a1/day1 = 5, a1/day2 = 1, a2/day1 = 2 (a3 got no push)
    assert (spread.attendee_days, spread.pushes, spread.max) == (3, 8, 5)
    assert spread.percentiles == {50: 2, 90: 5, 99: 5}
    assert spread.mean == 8 / 3


def test_local_days_follow_the_venue_offset() -> None:
    late_and_early = [decision(1, "a1", T0 + 14 * HOUR), decision(2, "a1", T0 + 16 * HOUR)]  # 23:00 and 01:00 UTC

    assert disturbance(late_and_early).attendee_days == 2
    assert disturbance(late_and_early, utc_offset_s=-3 * 3600).attendee_days == 1  # 20:00 and 22:00 local


def test_nearest_rank_percentiles() -> None:
    assert [nearest_rank([1, 2, 3, 4], p) for p in (25, 50, 75, 100)] == [1, 2, 3, 4]
    assert nearest_rank([], 50) == 0
