"""Rules bucketed by what can trigger them, so an event looks only at the few rules that can match.

Why: an event has hundreds of rules (every exhibitor writes a few); scanning all of them for each sighting
would make the engine's cost grow with the rule count. Rules are bucketed by trigger type and zone id / zone
kind / app action name (sequence rules under each step); 1,000 rules stay fast (``server.bench.rules``).
"""

from __future__ import annotations

from collections.abc import Iterable

from server.domain.model import ZoneKind
from server.domain.rules.context import VenueContext
from server.domain.rules.events import (
    AppAction,
    DwellReached,
    LeadScanned,
    RuleEvent,
    ScoreChanged,
    SessionLeft,
    StageChanged,
    TapEvent,
    VisitEnded,
    ZoneEntered,
    event_zone,
)
from server.domain.rules.model import (
    AppActionTrigger,
    DwellReachedTrigger,
    Rule,
    SequenceTrigger,
    StepTrigger,
    TimeTrigger,
    ZoneFilter,
)

EVENT_TRIGGER: dict[type[RuleEvent], str] = {
    ZoneEntered: "zone_entered",
    DwellReached: "dwell_reached",
    VisitEnded: "visit_ended",
    SessionLeft: "session_left_early",
    TapEvent: "tap",
    LeadScanned: "lead_scanned",
    AppAction: "app_action",
    ScoreChanged: "score_crossed",
    StageChanged: "stage_changed",
}


def _index_keys(step: StepTrigger) -> list[str]:
    if isinstance(step, AppActionTrigger):
        return [f"{step.type}/name:{step.name}"]
    if isinstance(step, ZoneFilter) and (step.zone_ids or step.zone_kinds):
        return [f"{step.type}/id:{z}" for z in step.zone_ids] + [f"{step.type}/kind:{k}" for k in step.zone_kinds]
    return [f"{step.type}/*"]


class RuleIndex:
    """Rules bucketed by what can trigger them; candidates come back in (id, version) order."""

    def __init__(self, rules: Iterable[Rule]) -> None:
        latest: dict[str, Rule] = {}
        for rule in rules:
            if rule.id not in latest or rule.version > latest[rule.id].version:
                latest[rule.id] = rule
        # The latest version decides: a paused latest version pauses the rule (no fallback to an older one).
        self.rules: list[Rule] = sorted((r for r in latest.values() if r.enabled), key=lambda r: r.key)
        self.buckets: dict[str, list[int]] = {}
        self.time_rules: list[Rule] = []
        for position, rule in enumerate(self.rules):
            trigger = rule.trigger
            if isinstance(trigger, TimeTrigger):
                self.time_rules.append(rule)
                continue
            steps = trigger.steps if isinstance(trigger, SequenceTrigger) else (trigger,)
            for key in {k for step in steps for k in _index_keys(step)}:
                self.buckets.setdefault(key, []).append(position)

    def candidates(self, event: RuleEvent, venue: VenueContext) -> list[Rule]:
        trigger_type = EVENT_TRIGGER.get(type(event))
        if trigger_type is None:
            return []
        keys = [f"{trigger_type}/*"]
        zone_id = event_zone(event)
        if zone_id is not None:
            keys.append(f"{trigger_type}/id:{zone_id}")
            zone = venue.zones.get(zone_id)
            if zone is not None:
                keys.append(f"{trigger_type}/kind:{zone.kind}")
        if isinstance(event, AppAction):
            keys.append(f"{trigger_type}/name:{event.name}")
        positions = sorted({p for key in keys for p in self.buckets.get(key, ())})
        return [self.rules[p] for p in positions]

    def dwell_thresholds(self, zone_id: str, kind: ZoneKind | None) -> list[float]:
        keys = ["dwell_reached/*", f"dwell_reached/id:{zone_id}", f"dwell_reached/kind:{kind}"]
        thresholds: set[float] = set()
        for position in {p for key in keys for p in self.buckets.get(key, ())}:
            trigger = self.rules[position].trigger
            steps = trigger.steps if isinstance(trigger, SequenceTrigger) else (trigger,)
            for step in steps:
                if isinstance(step, DwellReachedTrigger) and step.matches_zone(zone_id, kind):
                    thresholds.add(step.dwell_s)
        return sorted(thresholds)
