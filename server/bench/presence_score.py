"""Scoring presence against the simulator's ground truth: dwell-minutes and visits, overall and per zone kind.

Pure functions of itineraries (the truth) and visit spans (a method's answer); no simulation here, so the
scoring can be checked on hand-made cases.

- **Dwell**: every tracked badge is sampled every ``SAMPLE_S`` seconds while on site. A sample's truth is
  its itinerary's zone (None = corridor); the method's answer is the zone of its visit covering that
  instant (None = no visit). Per zone kind we count *in-zone* samples (truth in a zone of that kind) and how
  many the method put in exactly that zone; corridor samples are counted apart, with how many the method
  put in some zone (time wrongly given to a zone). ``dwell_accuracy`` is right samples over all samples
  (None == None is right), as the bench always reported it; ``in_zone_accuracy`` leaves corridor samples
  out, which is the figure an exhibitor cares about (a method that never enters a zone scores 0 there,
  however much corridor it gets right).
- **Visits**: a method's visit *matches* a true visit when attendee and zone agree and they overlap by at
  least ``MATCH_OVERLAP`` of the true visit. Precision counts the method's visits of at least
  ``min_visit_s`` (per kind: by the kind of the visit's zone); recall the true visits of at least
  ``min_visit_s`` (per kind: by the kind of the true zone).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from server.domain.model import Visit, VisitEnded, VisitEvent
from server.simulator.movement import Itinerary

SAMPLE_S = 5.0  # dwell is sampled every 5 s: finer than any visit we count, cheap for a whole day
MATCH_OVERLAP = 0.5  # a visit matches a true visit when it overlaps at least half of the true one
KINDS = ("booth", "room", "lounge", "entrance")  # the zone kinds reported, in this order

Span = tuple[str, str, float, float]  # attendee, zone, start, end


def true_visits(itineraries: Sequence[Itinerary], begin: float, end: float) -> list[Span]:
    """Maximal runs of one zone per itinerary, clipped to [begin, end)."""
    out: list[Span] = []
    for it in itineraries:
        run: list[Any] | None = None
        for iv in it.intervals:
            if iv.end <= begin or iv.start >= end:
                continue
            s, e = max(iv.start, begin), min(iv.end, end)
            if run is not None and iv.zone_id == run[1] and s <= run[3]:
                run[3] = e
                continue
            if run is not None:
                out.append((run[0], run[1], run[2], run[3]))
            run = [it.attendee_id, iv.zone_id, s, e] if iv.zone_id is not None else None
        if run is not None:
            out.append((run[0], run[1], run[2], run[3]))
    return out


def visit_spans(events: Sequence[VisitEvent], still_open: Sequence[Visit], end: float) -> list[Span]:
    spans = [
        (e.visit.attendee_id, e.visit.zone_id, e.visit.started_at, e.visit.ended_at or end)
        for e in events
        if isinstance(e, VisitEnded)
    ]
    spans += [(v.attendee_id, v.zone_id, v.started_at, end) for v in still_open]
    return spans


@dataclass
class DwellScore:
    """Sample counts: per kind ``[right, total]`` of in-zone samples; corridor ``[put in a zone, total]``."""

    in_zone: dict[str, list[int]] = field(default_factory=lambda: {k: [0, 0] for k in KINDS})
    corridor: list[int] = field(default_factory=lambda: [0, 0])

    @property
    def right(self) -> int:
        return sum(r for r, _ in self.in_zone.values()) + self.corridor[1] - self.corridor[0]

    @property
    def total(self) -> int:
        return sum(t for _, t in self.in_zone.values()) + self.corridor[1]

    def dwell_accuracy(self) -> float:
        return self.right / self.total if self.total else 0.0

    def in_zone_accuracy(self, kind: str | None = None) -> float:
        pairs = list(self.in_zone.values()) if kind is None else [self.in_zone.get(kind, [0, 0])]
        total = sum(t for _, t in pairs)
        return sum(r for r, _ in pairs) / total if total else 0.0

    def corridor_in_zone_share(self) -> float:
        return self.corridor[0] / self.corridor[1] if self.corridor[1] else 0.0

    def minutes(self, kind: str) -> float:
        return self.in_zone.get(kind, [0, 0])[1] * SAMPLE_S / 60.0


def score_dwell(
    itineraries: Sequence[Itinerary], spans: Sequence[Span], begin: float, end: float, kind_of: Mapping[str, str]
) -> DwellScore:
    """Sample every itinerary every ``SAMPLE_S`` within [begin, end) against the method's spans."""
    by_attendee: dict[str, list[Span]] = defaultdict(list)
    for span in spans:
        by_attendee[span[0]].append(span)
    score = DwellScore()
    for it in itineraries:
        mine = sorted(by_attendee.get(it.attendee_id, ()), key=lambda s: s[2])
        k = 0
        t = begin + SAMPLE_S / 2
        while t < end:
            truth = it.at(t)
            if truth is not None:
                while k < len(mine) and mine[k][3] < t:
                    k += 1
                zone = mine[k][1] if k < len(mine) and mine[k][2] <= t else None
                if truth.zone_id is None:
                    score.corridor[0] += zone is not None
                    score.corridor[1] += 1
                else:
                    counts = score.in_zone.setdefault(kind_of[truth.zone_id], [0, 0])
                    counts[0] += zone == truth.zone_id
                    counts[1] += 1
            t += SAMPLE_S
    return score


def dwell_accuracy(itineraries: Sequence[Itinerary], spans: Sequence[Span], begin: float, end: float) -> float:
    """Share of on-site samples in the right zone, corridor included (kinds do not matter here)."""
    zones = {iv.zone_id for it in itineraries for iv in it.intervals if iv.zone_id is not None}
    return score_dwell(itineraries, spans, begin, end, dict.fromkeys(zones, "zone")).dwell_accuracy()


def _matches(span: Span, truth: Span) -> bool:
    overlap = min(span[3], truth[3]) - max(span[2], truth[2])
    return overlap >= MATCH_OVERLAP * (truth[3] - truth[2])


def visit_scores(
    spans: Sequence[Span], truths: Sequence[Span], min_visit_s: float, kind_of: Mapping[str, str]
) -> dict[str | None, tuple[float, float, int, int]]:
    """Per kind (None = all): (precision, recall, visits counted, true visits wanted)."""
    truth_of: dict[tuple[str, str], list[Span]] = defaultdict(list)
    for truth in truths:
        truth_of[(truth[0], truth[1])].append(truth)
    matched: set[Span] = set()
    good: dict[str | None, list[int]] = defaultdict(lambda: [0, 0])
    for span in (s for s in spans if s[3] - s[2] >= min_visit_s):
        hits = [t for t in truth_of.get((span[0], span[1]), ()) if _matches(span, t)]
        matched.update(hits)
        for key in {None, kind_of.get(span[1])}:
            good[key][0] += bool(hits)
            good[key][1] += 1
    found: dict[str | None, list[int]] = defaultdict(lambda: [0, 0])
    for truth in (t for t in truths if t[3] - t[2] >= min_visit_s):
        for key in {None, kind_of.get(truth[1])}:
            found[key][0] += truth in matched
            found[key][1] += 1
    out: dict[str | None, tuple[float, float, int, int]] = {}
    for key in (None, *KINDS):
        (hit, counted), (got, wanted) = good[key], found[key]
        out[key] = (hit / counted if counted else 1.0, got / wanted if wanted else 1.0, counted, wanted)
    return out


def precision_recall(spans: Sequence[Span], truths: Sequence[Span], min_visit_s: float) -> tuple[float, float]:
    """Visit precision and recall over all zones."""
    precision, recall, _, _ = visit_scores(spans, truths, min_visit_s, {})[None]
    return precision, recall
