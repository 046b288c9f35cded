"""Per-rule and per-campaign metrics, and how much we disturb each attendee: computed values, no store.

Inputs are the engine's decisions, the delivery records the adapters write (``delivered``/``opened``,
keyed by ``decision_id``) and the attendees' touchpoints that may be goals. Outputs:

* per rule id and per campaign id: ``fired``, ``suppressed`` by reason, ``delivered``, ``opened``,
  ``converted`` (the rule's goal touchpoint followed delivery within the goal's window) and the rates;
* ``disturbance``: pushes per attendee per local day over the attendee-days that had any push —
  percentiles by the nearest-rank method (deterministic, no interpolation).

Why conversions count from *delivery*: a push nobody received cannot convert anyone, and an email opened a
day later should be measured from when it arrived. Each decision converts at most once. Example: a rule
with goal ``{kind: booth_visit, within_s: 1800}``, a push delivered at 10:00 and a booth visit by the same
attendee at 10:20 -> ``converted`` 1; the same visit at 10:40 -> 0.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from server.domain.rules.events import Decision
from server.domain.rules.guards import DAY_S, Channel, SuppressionReason
from server.domain.rules.model import Goal

PERCENTILES = (50, 90, 99)  # median, the unlucky tenth, the worst-off hundredth


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    decision_id: str
    at: float
    kind: Literal["delivered", "opened"]


@dataclass(frozen=True, slots=True)
class GoalTouchpoint:
    """A touchpoint that may be a rule's goal (kind as in ``JourneyKind``: booth_visit, lead_scan ...)."""

    attendee_id: str
    kind: str
    at: float
    zone_id: str | None = None
    ref: str | None = None


@dataclass(frozen=True, slots=True)
class Counts:
    fired: int = 0
    suppressed: Mapping[SuppressionReason, int] = field(default_factory=dict)
    delivered: int = 0
    opened: int = 0
    converted: int = 0

    @property
    def suppressed_total(self) -> int:
        return sum(self.suppressed.values())

    @property
    def open_rate(self) -> float | None:
        return self.opened / self.delivered if self.delivered else None

    @property
    def conversion_rate(self) -> float | None:
        return self.converted / self.delivered if self.delivered else None


@dataclass(frozen=True, slots=True)
class Disturbance:
    attendee_days: int  # attendee-days with at least one push
    pushes: int
    mean: float | None
    percentiles: Mapping[int, int]  # {50: p50, 90: p90, 99: p99}
    max: int


@dataclass(frozen=True, slots=True)
class RuleMetrics:
    by_rule: Mapping[str, Counts]
    by_campaign: Mapping[str, Counts]
    disturbance: Disturbance


@dataclass(slots=True)
class _Tally:
    fired: int = 0
    suppressed: Counter[SuppressionReason] = field(default_factory=Counter)
    delivered: int = 0
    opened: int = 0
    converted: int = 0

    def freeze(self) -> Counts:
        suppressed = {reason: self.suppressed[reason] for reason in SuppressionReason if self.suppressed[reason]}
        return Counts(self.fired, suppressed, self.delivered, self.opened, self.converted)


def nearest_rank(sorted_values: list[int], percentile: int) -> int:
    """The nearest-rank percentile of an ascending list (0 for an empty list)."""
    if not sorted_values:
        return 0
    rank = max(1, math.ceil(percentile / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def _goal_met(goal: Goal, attendee_id: str, since: float, touchpoints: list[GoalTouchpoint]) -> bool:
    for tp in touchpoints:
        if tp.attendee_id != attendee_id or tp.kind != goal.kind or not since < tp.at <= since + goal.within_s:
            continue
        if goal.zone_ids and tp.zone_id not in goal.zone_ids:
            continue
        if goal.ref is None or tp.ref == goal.ref:
            return True
    return False


def disturbance(decisions: Iterable[Decision], utc_offset_s: int = 0) -> Disturbance:
    """Fired pushes per attendee per local day (the venue's ``utc_offset_s`` sets where days break)."""
    per_day: Counter[tuple[str, int]] = Counter(
        (d.attendee_id, int((d.at + utc_offset_s) // DAY_S)) for d in decisions if d.fired and d.channel is Channel.PUSH
    )
    values = sorted(per_day.values())
    total = sum(values)
    return Disturbance(
        attendee_days=len(values),
        pushes=total,
        mean=total / len(values) if values else None,
        percentiles={p: nearest_rank(values, p) for p in PERCENTILES},
        max=values[-1] if values else 0,
    )


def compute_rule_metrics(
    decisions: Iterable[Decision],
    deliveries: Iterable[DeliveryRecord] = (),
    touchpoints: Iterable[GoalTouchpoint] = (),
    goals: Mapping[str, Goal] | None = None,
    utc_offset_s: int = 0,
) -> RuleMetrics:
    """Metrics per rule and campaign. ``goals``: rule id -> goal (e.g. ``{r.id: r.goal for r in rules if r.goal}``)."""
    decisions = list(decisions)
    goals = goals or {}
    delivered_at: dict[str, float] = {}
    opened: set[str] = set()
    for record in deliveries:
        if record.kind == "delivered":
            delivered_at[record.decision_id] = min(record.at, delivered_at.get(record.decision_id, record.at))
        else:
            opened.add(record.decision_id)
    by_attendee: dict[str, list[GoalTouchpoint]] = defaultdict(list)
    for tp in touchpoints:
        by_attendee[tp.attendee_id].append(tp)
    rules: dict[str, _Tally] = defaultdict(_Tally)
    campaigns: dict[str, _Tally] = defaultdict(_Tally)
    for decision in decisions:
        tallies = (rules[decision.rule_id], campaigns[decision.campaign_id])
        if decision.reason is not None:
            for tally in tallies:
                tally.suppressed[decision.reason] += 1
            continue
        since = delivered_at.get(decision.decision_id)
        goal = goals.get(decision.rule_id)
        converted = since is not None and goal is not None and _goal_met(
            goal, decision.attendee_id, since, by_attendee[decision.attendee_id]
        )  # fmt: skip
        for tally in tallies:
            tally.fired += 1
            tally.delivered += since is not None
            tally.opened += decision.decision_id in opened
            tally.converted += converted
    return RuleMetrics(
        by_rule={k: rules[k].freeze() for k in sorted(rules)},
        by_campaign={k: campaigns[k].freeze() for k in sorted(campaigns)},
        disturbance=disturbance(decisions, utc_offset_s),
    )
