"""`touchpoints bench presence`: presence accuracy against the simulator's ground truth, ours vs the baseline.

One run builds the default scenario, generates the edge fleet's message stream for a span of the day, turns
``SightingBatch`` and ``Tap`` messages into domain :class:`Sighting` / :class:`Tap` values (beacon id ->
attendee through the scenario; event staff excluded, as the ingest does) and feeds the same values, in the
same order, to :class:`PresenceEngine` and to the :class:`NearestScannerTracker` baseline, calling
``advance(window end)`` after every scan window. Both are then scored against ``plan_itineraries``:

- ``dwell_accuracy``: sample every tracked badge every ``SAMPLE_S`` seconds while it is on site (between its
  arrival and departure, within the span); a sample is right when the zone of the method's visit covering
  that instant equals the true zone (``Interval.zone_id``), where "no visit" and "corridor" are both None
  and None == None counts as right. The share of right samples is the share of on-site seconds assigned to
  the right zone (dwell-minutes, sampled).
- ``visit_precision``: share of the method's visits of at least ``min_visit_s`` that match a true visit;
  ``visit_recall``: share of true visits of at least ``min_visit_s`` that some visit of the method matches.
  A visit *matches* a true visit when the attendee and zone agree and their overlap is at least half of
  the true visit's duration. True visits are maximal runs of the itinerary in one zone, clipped to the
  span. The baseline's visits are filtered by the same minimum dwell (which flatters it).
- ``sightings_per_s``: sightings per CPU second spent inside the engine's ``observe``/``advance``/``tap``
  (the pure engine, no parsing); ``ratio_sightings_per_s_vs_baseline`` compares it with the baseline's.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from typing import Any, Protocol

from server.domain.model import Scanner, Sighting, Tap, Visit, VisitEnded, VisitEvent, Zone, ZoneKind
from server.domain.nearest import NearestScannerTracker
from server.domain.presence import PresenceEngine, PresenceParams
from server.simulator.movement import Itinerary, plan_itineraries
from server.simulator.scenario import Scenario, build_scenario

DAY_START_OFFSET_S = 1800.0  # 09:00, half an hour after doors open: the opening keynote, talks and booths
SAMPLE_S = 5.0  # dwell is sampled every 5 s: finer than any visit we count, cheap for a whole day
MATCH_OVERLAP = 0.5  # a visit matches a true visit when it overlaps at least half of the true one
TARGET_ACCURACY = 0.95
TARGET_LEAD = 0.10  # ten points better than the baseline

Span = tuple[str, str, float, float]  # attendee, zone, start, end


class Tracker(Protocol):
    def observe(self, sightings: Sequence[Sighting]) -> list[VisitEvent]: ...
    def tap(self, tap: Tap) -> list[VisitEvent]: ...
    def advance(self, now: float) -> list[VisitEvent]: ...
    def open_visits(self) -> list[Visit]: ...


def venue(scenario: Scenario) -> tuple[list[Zone], list[Scanner]]:
    """The scenario's floor plan as presence sees it; calibration offset = minus the radio's bias."""
    zones = [
        Zone(z.id, ZoneKind(z.kind), z.rect.x, z.rect.y, z.rect.width, z.rect.height, z.capacity, z.exhibitor_id)
        for z in scenario.zones
    ]
    scanners = [Scanner(d.id, d.zone_id, d.x, d.y, -d.rssi_bias_db) for d in scenario.devices]
    return zones, scanners


def domain_stream(
    scenario: Scenario, itineraries: Sequence[Itinerary], *, seed: int, start_offset_s: float, duration_s: float
) -> Iterator[tuple[float, list[list[Sighting]], list[Tap]]]:
    """``(instant, sighting batches, taps)`` per instant of the message stream, staff badges left out."""
    from server.simulator.stream import generate_messages

    tracked = {a.beacon_id: a.id for a in scenario.attendees if a.role != "staff"}
    by_uid = {a.badge_uid: a.id for a in scenario.attendees if a.role != "staff"}
    at: float | None = None
    batches: list[list[Sighting]] = []
    taps: list[Tap] = []
    for t, message in generate_messages(
        scenario, seed=seed, start_offset_s=start_offset_s, duration_s=duration_s, itineraries=itineraries
    ):
        if message.type not in ("sightings", "tap"):
            continue
        if at is not None and t != at and (batches or taps):
            yield at, batches, taps
            batches, taps = [], []
        at = t
        if message.type == "sightings":
            batches.append(
                [
                    Sighting(attendee, message.device_id, s.rssi, s.first_seen, s.last_seen, s.count, s.distance_m)
                    for s in message.sightings
                    if (attendee := tracked.get(s.beacon_id)) is not None
                ]
            )
        elif (attendee := by_uid.get(message.uid)) is not None:
            taps.append(Tap(attendee, message.device_id, message.captured_at))
    if at is not None and (batches or taps):
        yield at, batches, taps


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


def dwell_accuracy(itineraries: Sequence[Itinerary], spans: Sequence[Span], begin: float, end: float) -> float:
    by_attendee: dict[str, list[Span]] = defaultdict(list)
    for span in spans:
        by_attendee[span[0]].append(span)
    right = total = 0
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
                right += zone == truth.zone_id
                total += 1
            t += SAMPLE_S
    return right / total if total else 0.0


def _matches(span: Span, truth: Span) -> bool:
    overlap = min(span[3], truth[3]) - max(span[2], truth[2])
    return overlap >= MATCH_OVERLAP * (truth[3] - truth[2])


def precision_recall(spans: Sequence[Span], truths: Sequence[Span], min_visit_s: float) -> tuple[float, float]:
    truth_of: dict[tuple[str, str], list[Span]] = defaultdict(list)
    for truth in truths:
        truth_of[(truth[0], truth[1])].append(truth)
    counted = [s for s in spans if s[3] - s[2] >= min_visit_s]
    matched_truths: set[Span] = set()
    correct = 0
    for span in counted:
        hits = [t for t in truth_of.get((span[0], span[1]), ()) if _matches(span, t)]
        correct += bool(hits)
        matched_truths.update(hits)
    wanted = [t for t in truths if t[3] - t[2] >= min_visit_s]
    recall = sum(t in matched_truths for t in wanted) / len(wanted) if wanted else 1.0
    return (correct / len(counted) if counted else 1.0), recall


def run_presence_bench(
    *, seed: int = 7, attendees: int = 200, hours: float = 3.0, start_offset_s: float = DAY_START_OFFSET_S
) -> dict[str, Any]:
    wall0 = time.perf_counter()
    scenario = build_scenario(seed, attendees)
    itineraries = plan_itineraries(scenario)
    zones, scanners = venue(scenario)
    params = PresenceParams()
    trackers: dict[str, Tracker] = {
        "engine": PresenceEngine(zones, scanners, params),
        "baseline": NearestScannerTracker(scanners),
    }
    events: dict[str, list[VisitEvent]] = {name: [] for name in trackers}
    cpu = dict.fromkeys(trackers, 0.0)
    sightings = taps = 0
    begin = end = scenario.event.starts_at + start_offset_s
    for at, batches, tap_list in domain_stream(
        scenario, itineraries, seed=seed, start_offset_s=start_offset_s, duration_s=hours * 3600
    ):
        sightings += sum(len(b) for b in batches)
        taps += len(tap_list)
        for name, tracker in trackers.items():
            out = events[name]
            t0 = time.process_time()
            for tap in tap_list:
                out += tracker.tap(tap)
            for batch in batches:
                out += tracker.observe(batch)
            out += tracker.advance(at)
            cpu[name] += time.process_time() - t0
        end = at
    tracked = [it for it, a in zip(itineraries, scenario.attendees, strict=True) if a.role != "staff"]
    truths = true_visits(tracked, begin, end)
    result: dict[str, Any] = {
        "bench": "presence",
        "seed": seed,
        "attendees": attendees,
        "hours": hours,
        "sightings": sightings,
        "taps": taps,
        "min_visit_s": params.min_visit_s,
        "true_visits": sum(t[3] - t[2] >= params.min_visit_s for t in truths),
    }
    for name, tracker in trackers.items():
        spans = visit_spans(events[name], tracker.open_visits(), end)
        prefix = "" if name == "engine" else "baseline_"
        precision, recall = precision_recall(spans, truths, params.min_visit_s)
        result[f"{prefix}dwell_accuracy"] = round(dwell_accuracy(tracked, spans, begin, end), 4)
        result[f"{prefix}visit_precision"] = round(precision, 4)
        result[f"{prefix}visit_recall"] = round(recall, 4)
        result[f"{prefix}visits"] = sum(s[3] - s[2] >= params.min_visit_s for s in spans)
        result[f"{prefix}sightings_per_s"] = round(sightings / cpu[name]) if cpu[name] else 0
    result["ratio_sightings_per_s_vs_baseline"] = (
        round(result["sightings_per_s"] / result["baseline_sightings_per_s"], 3)
        if result["baseline_sightings_per_s"]
        else 0
    )
    lead = result["dwell_accuracy"] - result["baseline_dwell_accuracy"]
    result["lead_points"] = round(100 * lead, 1)
    result["target_met"] = result["dwell_accuracy"] >= TARGET_ACCURACY and lead >= TARGET_LEAD
    result["wall_s"] = round(time.perf_counter() - wall0, 1)
    return result
