"""What the rule engine consumes (events) and produces (decisions): plain frozen dataclasses.

Events are one attendee's touchpoints as the engine needs them; the adapter translates presence, journey,
scoring and app signals into these (see :func:`from_visit_event` for presence's visit events). Every event
has ``attendee_id`` and ``at`` (Unix seconds, when it happened); ``handle`` also takes ``now`` (when it is
evaluated), which the guards use.

A :class:`Decision` is one action of one rule for one attendee: ``fired`` (the adapter executes it: sends
the push, queues the email, writes the lead ...) or ``suppressed`` with a :class:`SuppressionReason`. Why
suppressed decisions are returned at all: organizers must see "your rule would have fired 40 times but 31
were night-time" — the metrics and the audit trail are built from them. ``decision_id`` is deterministic
(rule, version, attendee, trigger instant or anchor, action index), so the adapter can use it as an
idempotency key and as the notification id that delivery/open records refer to. Example::

    Decision(decision_id="welcome:1:a1:1717000000.000:0", rule_id="welcome", rule_version=1,
             campaign_id="welcome", attendee_id="a1", action_index=0, channel=Channel.PUSH,
             outcome=Outcome.FIRED, reason=None, at=1717000000.0, trigger="tap",
             payload={"title": "Welcome, Anna!", "body": "...", "url": None})
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from server.domain.model import VisitEnded as PresenceVisitEnded
from server.domain.model import VisitEvent, VisitStarted
from server.domain.rules.guards import Channel, SuppressionReason


@dataclass(frozen=True, slots=True)
class RuleEvent:
    attendee_id: str
    at: float


@dataclass(frozen=True, slots=True)
class ZoneEntered(RuleEvent):
    zone_id: str


@dataclass(frozen=True, slots=True)
class DwellReached(RuleEvent):
    """Dwell of ``dwell_s`` reached in the visit that started at ``started_at``.

    The engine derives these itself on ``tick`` from ``ZoneEntered``/``VisitEnded`` (so presence need not
    know rule thresholds); an adapter may also send them. Either way a dwell rule fires at most once per visit.
    """

    zone_id: str
    started_at: float
    dwell_s: float


@dataclass(frozen=True, slots=True)
class VisitEnded(RuleEvent):
    zone_id: str
    started_at: float

    @property
    def dwell_s(self) -> float:
        return max(0.0, self.at - self.started_at)


@dataclass(frozen=True, slots=True)
class SessionLeft(RuleEvent):
    """Left a session's room at ``at`` having attended ``share`` (0..1) of it."""

    session_id: str
    share: float


@dataclass(frozen=True, slots=True)
class TapEvent(RuleEvent):
    zone_id: str | None
    device_id: str = ""


@dataclass(frozen=True, slots=True)
class LeadScanned(RuleEvent):
    exhibitor_id: str
    zone_id: str | None = None


@dataclass(frozen=True, slots=True)
class AppAction(RuleEvent):
    name: str
    ref: str | None = None
    zone_id: str | None = None


@dataclass(frozen=True, slots=True)
class ScoreChanged(RuleEvent):
    old: float | None
    new: float


@dataclass(frozen=True, slots=True)
class StageChanged(RuleEvent):
    old: str | None
    new: str


@dataclass(frozen=True, slots=True)
class NotificationDelivered(RuleEvent):
    """Delivery of a fired decision. Accepted by ``handle`` (no rule reacts to it); metrics count it."""

    decision_id: str


@dataclass(frozen=True, slots=True)
class NotificationOpened(RuleEvent):
    decision_id: str


def event_zone(event: RuleEvent) -> str | None:
    return getattr(event, "zone_id", None)


def from_visit_event(event: VisitEvent) -> ZoneEntered | VisitEnded:
    """Presence's ``VisitStarted``/``VisitEnded`` as rule events."""
    visit = event.visit
    if isinstance(event, VisitStarted):
        return ZoneEntered(visit.attendee_id, visit.started_at, visit.zone_id)
    assert isinstance(event, PresenceVisitEnded) and visit.ended_at is not None
    return VisitEnded(visit.attendee_id, visit.ended_at, visit.zone_id, visit.started_at)


class Outcome(StrEnum):
    FIRED = "fired"
    SUPPRESSED = "suppressed"


@dataclass(frozen=True, slots=True)
class Decision:
    decision_id: str
    rule_id: str
    rule_version: int
    campaign_id: str
    attendee_id: str
    action_index: int
    channel: Channel
    outcome: Outcome
    reason: SuppressionReason | None
    at: float  # when decided (``now``)
    trigger: str  # trigger type, e.g. "zone_entered", "time", "sequence"
    payload: Mapping[str, object] = field(default_factory=dict)
    redacted: bool = False  # personal data left out (no share consent)

    @property
    def fired(self) -> bool:
        return self.outcome is Outcome.FIRED
