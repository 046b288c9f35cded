"""The rule engine's memory, as one explicit serializable value the adapter persists and restores.

Why explicit: the engine is pure, so whatever it must remember between events — sends (for caps), which
campaign reached whom on which channel, sequence progress, open visits (for derived dwell), which
dwell/time triggers already fired, networking pairs — lives here, not in hidden globals. ``to_dict`` gives
JSON-safe data; ``EngineState.from_dict(state.to_dict())`` restores an engine that decides exactly as the
original would have. Example::

    blob = json.dumps(engine.state.to_dict())            # adapter: save on shutdown / periodically
    engine = RuleEngine(rules, venue, state=EngineState.from_dict(json.loads(blob)))
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from server.domain.rules.guards import SendHistory
from server.domain.rules.networking import NetworkingHistory


@dataclass(slots=True)
class OpenVisit:
    started_at: float
    dwell_emitted_s: float = 0.0  # highest dwell threshold already derived for this visit


@dataclass(slots=True)
class EngineState:
    history: SendHistory = field(default_factory=SendHistory)
    # rule id -> attendee id -> {step index: start time of the partial match ending at that step}
    sequences: dict[str, dict[str, dict[int, float]]] = field(default_factory=dict)
    open_visits: dict[str, dict[str, OpenVisit]] = field(default_factory=dict)  # attendee -> zone -> visit
    dwell_fired: dict[str, set[tuple[str, str, float]]] = field(default_factory=dict)  # attendee -> (rule, zone, start)
    time_fired: dict[tuple[str, str, str], float] = field(default_factory=dict)  # (rule, attendee, anchor) -> expiry
    networking: NetworkingHistory = field(default_factory=NetworkingHistory)

    def to_dict(self) -> dict[str, Any]:
        return {
            "history": self.history.to_dict(),
            "sequences": {
                r: {a: {str(k): t for k, t in p.items()} for a, p in by.items()} for r, by in self.sequences.items()
            },
            "open_visits": {
                a: {z: [v.started_at, v.dwell_emitted_s] for z, v in zones.items()}
                for a, zones in self.open_visits.items()
            },
            "dwell_fired": {a: sorted([list(k) for k in keys]) for a, keys in self.dwell_fired.items()},
            "time_fired": sorted([[r, a, anchor, exp] for (r, a, anchor), exp in self.time_fired.items()]),
            "networking": self.networking.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EngineState:
        return cls(
            history=SendHistory.from_dict(data.get("history", {})),
            sequences={
                r: {a: {int(k): float(t) for k, t in p.items()} for a, p in by.items()}
                for r, by in data.get("sequences", {}).items()
            },
            open_visits={
                a: {z: OpenVisit(float(v[0]), float(v[1])) for z, v in zones.items()}
                for a, zones in data.get("open_visits", {}).items()
            },
            dwell_fired={
                a: {(str(r), str(z), float(s)) for r, z, s in keys} for a, keys in data.get("dwell_fired", {}).items()
            },
            time_fired={(r, a, anchor): float(exp) for r, a, anchor, exp in data.get("time_fired", [])},
            networking=NetworkingHistory.from_dict(data.get("networking", {})),
        )
