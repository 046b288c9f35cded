"""Your contact is nearby: which connected attendees to tell that the other is in the same zone.

Attendees connect by mutual opt-in (tapping badges, accepting in the app); the adapter passes the
connections as unordered pairs, and ``allows(attendee_id)`` says whether an attendee wants these
notifications at all. When both of a pair allow it and share a zone, each gets one notification — and the
pair is not notified again for ``window_s`` however long they stay or however often they meet. Each attendee
gets at most :data:`MAX_NEARBY_PER_HOUR`; beyond it the decision is suppressed with ``cap_rule`` (the
"rule" is the platform's nearby rule). Example: Anna and Ben, connected, both in lounge ``l1`` at 10:00 ->
two fired decisions (Anna about Ben, Ben about Anna); still both there at 10:05 -> nothing.

Pure: ``history`` is the explicit state (mutated in place, serializable); ``now`` is passed in. The rule
engine's :meth:`~server.domain.rules.engine.RuleEngine.contacts_nearby` wraps this with the central guards
(push consent, tracking consent, quiet hours, in-session, overall push caps), so call that in the adapter.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from server.domain.rules.events import Decision, Outcome
from server.domain.rules.guards import HOUR_S, Channel, SuppressionReason

NEARBY_REPEAT_WINDOW_S = 4 * HOUR_S  # the same pair meeting again the same half-day is not news
MAX_NEARBY_PER_HOUR = 2  # more than two "X is nearby" an hour reads like surveillance, not help
NETWORKING_RULE_ID = "networking.contact_nearby"
NETWORKING_CAMPAIGN_ID = "networking"


def pair_key(a: str, b: str) -> str:
    first, second = sorted((a, b))
    return f"{first}|{second}"


@dataclass(slots=True)
class NetworkingHistory:
    """When each pair was last notified, and each attendee's recent nearby notifications (for the cap)."""

    pairs: dict[str, float] = field(default_factory=dict)
    sent: dict[str, list[float]] = field(default_factory=dict)

    def prune(self, now: float, window_s: float) -> None:
        self.pairs = {k: at for k, at in self.pairs.items() if now - at < window_s}
        self.sent = {a: kept for a, times in self.sent.items() if (kept := [t for t in times if now - t < HOUR_S])}

    def to_dict(self) -> dict[str, Any]:
        return {"pairs": dict(self.pairs), "sent": {a: list(t) for a, t in self.sent.items()}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NetworkingHistory:
        return cls(
            pairs={k: float(v) for k, v in data.get("pairs", {}).items()},
            sent={a: [float(t) for t in times] for a, times in data.get("sent", {}).items()},
        )


def contacts_nearby(
    zone_occupancy_by_attendee: Mapping[str, str | None],
    connections: Iterable[frozenset[str]],
    allows: Callable[[str], bool],
    history: NetworkingHistory,
    now: float,
    window_s: float = NEARBY_REPEAT_WINDOW_S,
    max_per_hour: int = MAX_NEARBY_PER_HOUR,
) -> list[Decision]:
    """Decisions for pairs newly together, ordered by pair then attendee (deterministic).

    ``zone_occupancy_by_attendee``: attendee id -> the zone they are in now (None: unknown). A pair counts
    as notified when decided, even if one side was capped, so a capped side is not retried every tick.
    """
    history.prune(now, window_s)
    decisions: list[Decision] = []
    pairs = sorted(tuple(sorted(p)) for p in connections if len(p) == 2)
    for a, b in pairs:
        zone = zone_occupancy_by_attendee.get(a)
        if zone is None or zone != zone_occupancy_by_attendee.get(b) or pair_key(a, b) in history.pairs:
            continue
        if not (allows(a) and allows(b)):
            continue
        history.pairs[pair_key(a, b)] = now
        for me, contact in ((a, b), (b, a)):
            capped = len(history.sent.get(me, [])) >= max_per_hour
            if not capped:
                history.sent.setdefault(me, []).append(now)
            decisions.append(
                Decision(
                    decision_id=f"{NETWORKING_RULE_ID}:{me}:{contact}:{now:.3f}",
                    rule_id=NETWORKING_RULE_ID,
                    rule_version=1,
                    campaign_id=NETWORKING_CAMPAIGN_ID,
                    attendee_id=me,
                    action_index=0,
                    channel=Channel.PUSH,
                    outcome=Outcome.SUPPRESSED if capped else Outcome.FIRED,
                    reason=SuppressionReason.CAP_RULE if capped else None,
                    at=now,
                    trigger="contact_nearby",
                    payload={"contact_id": contact, "zone_id": zone},
                )
            )
    return decisions
