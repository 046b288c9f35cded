"""Rule metrics from the store: decisions, deliveries and goal touchpoints into the pure
:func:`~server.domain.rules.metrics.compute_rule_metrics`, out as JSON-ready dicts.

Deliveries: a notification's ``delivered_at`` / ``opened_at`` (pushes), a sent email outbox row. Goals: the
attendees' touchpoints (lead scans, app actions, opens ...) and their visits as ``booth_visit`` /
``zone_visit`` at the visit's start. Only the attendees with a fired decision in scope are loaded.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlmodel import Session, col, select

from server.domain.model import ZoneKind
from server.domain.rules.events import Decision, Outcome
from server.domain.rules.guards import Channel, SuppressionReason
from server.domain.rules.metrics import Counts, DeliveryRecord, GoalTouchpoint, compute_rule_metrics
from server.domain.rules.model import Goal
from server.rules.store import latest_rows, rule_of
from server.store.models import NOT_A_SIGHTING, Touchpoint, TouchpointType, Visit, Zone
from server.store.rules_models import ActionOutbox, Notification, OutboxStatus, RuleDecision

GOAL_TOUCHPOINT_TYPES = [t.value for t in TouchpointType if t not in (TouchpointType.SIGHTING, TouchpointType.TAP)]


def decision_of(row: RuleDecision) -> Decision:
    return Decision(
        decision_id=row.decision_id, rule_id=row.rule_id, rule_version=row.rule_version,
        campaign_id=row.campaign_id, attendee_id=row.attendee_id, action_index=row.action_index,
        channel=Channel(row.channel), outcome=Outcome(row.outcome),
        reason=SuppressionReason(row.reason) if row.reason else None, at=row.at, trigger=row.trigger,
        payload=row.payload, redacted=row.redacted,
    )  # fmt: skip


def counts_json(counts: Counts) -> dict[str, Any]:
    return {
        "fired": counts.fired,
        "suppressed": {str(reason): n for reason, n in counts.suppressed.items()},
        "suppressed_total": counts.suppressed_total,
        "delivered": counts.delivered,
        "opened": counts.opened,
        "converted": counts.converted,
        "open_rate": counts.open_rate,
        "conversion_rate": counts.conversion_rate,
    }


def rule_metrics(
    session: Session, event_id: str, *, rule_ids: Iterable[str] | None = None, campaign_id: str | None = None,
    utc_offset_s: int = 0,
) -> dict[str, Any]:  # fmt: skip
    query = select(RuleDecision).where(col(RuleDecision.event_id) == event_id)
    if rule_ids is not None:
        query = query.where(col(RuleDecision.rule_id).in_(list(rule_ids)))
    if campaign_id is not None:
        query = query.where(col(RuleDecision.campaign_id) == campaign_id)
    decisions = [decision_of(row) for row in session.exec(query)]
    fired = [d for d in decisions if d.fired]
    ids = [d.decision_id for d in fired]
    attendees = sorted({d.attendee_id for d in fired})
    deliveries: list[DeliveryRecord] = []
    for note in session.exec(select(Notification).where(col(Notification.id).in_(ids))):
        if note.delivered_at is not None:
            deliveries.append(DeliveryRecord(note.id, note.delivered_at, "delivered"))
        if note.opened_at is not None:
            deliveries.append(DeliveryRecord(note.id, note.opened_at, "opened"))
    sent = select(ActionOutbox).where(
        col(ActionOutbox.idempotency_key).in_(ids), col(ActionOutbox.status) == OutboxStatus.SENT.value
    )
    for out in session.exec(sent):
        if out.kind == "email" and out.done_at is not None:
            deliveries.append(DeliveryRecord(out.idempotency_key, out.done_at, "delivered"))
    touchpoints = [
        GoalTouchpoint(t.attendee_id or "", t.type, t.occurred_at, t.zone_id, (t.data or {}).get("ref"))
        for t in session.exec(
            select(Touchpoint).where(
                col(Touchpoint.attendee_id).in_(attendees),
                col(Touchpoint.type).in_(GOAL_TOUCHPOINT_TYPES),
                NOT_A_SIGHTING,
            )
        )
    ]
    booths = set(session.exec(select(Zone.id).where(col(Zone.kind) == ZoneKind.BOOTH.value)))
    for visit in session.exec(select(Visit).where(col(Visit.attendee_id).in_(attendees))):
        kind = "booth_visit" if visit.zone_id in booths else "zone_visit"
        touchpoints.append(GoalTouchpoint(visit.attendee_id, kind, visit.started_at, visit.zone_id))
    goals: dict[str, Goal] = {}
    for row in latest_rows(session, event_id):
        goal = rule_of(row).goal
        if goal is not None:
            goals[row.id] = goal
    result = compute_rule_metrics(decisions, deliveries, touchpoints, goals, utc_offset_s)
    d = result.disturbance
    return {
        "by_rule": {k: counts_json(v) for k, v in result.by_rule.items()},
        "by_campaign": {k: counts_json(v) for k, v in result.by_campaign.items()},
        "disturbance": {
            "attendee_days": d.attendee_days,
            "pushes": d.pushes,
            "mean": d.mean,
            "percentiles": {f"p{p}": v for p, v in d.percentiles.items()},
            "max": d.max,
        },
    }
