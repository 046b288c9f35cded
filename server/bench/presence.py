"""`touchpoints bench presence`: presence accuracy against the simulator's ground truth, ours vs baselines.

One run builds a venue (``default`` or ``hall``), plans everyone's day, and for each radio model asked for
(``engine``, ``lognormal``, ``crowd``; ``all`` = each in turn) generates the edge fleet's stream for a span of
the day, turns ``SightingBatch`` and ``Tap`` messages into domain :class:`Sighting` / :class:`Tap` values
(beacon id -> attendee; event staff excluded, as the ingest does) and feeds the same values, in the same
order, to every method, calling ``advance(window end)`` after every scan window:

- ``ours``: :class:`PresenceEngine` with the documented defaults;
- ``ours_calibrated`` (with a ``fit``): the engine given the calibration fitted from a survey walk of the
  same hall through the same radio model (:mod:`server.simulator.survey`);
- ``nearest``: :class:`NearestScannerTracker` (strongest recent reading);
- ``incumbent``: :class:`IncumbentChallengerTracker` (room-assistant / ESPresense style).

The engine learns what a real venue gives it and nothing more: zones, scanner positions and zones, and each
scanner's ``rssi_offset_db`` from a 1 m calibration per docs/presence.md (``Radio.calibrated_offset_db``:
exact under ``engine``, the true gain error plus ~1.5 dB under the independent models; 0 everywhere with
``calibrated=False``). Scores (see :mod:`server.bench.presence_score`) are per zone kind; ``sightings_per_s``
is sightings per CPU second inside each method's ``observe``/``advance``/``tap``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

from server.bench.presence_score import (
    KINDS,
    SAMPLE_S,
    Span,
    dwell_accuracy,
    precision_recall,
    score_dwell,
    true_visits,
    visit_scores,
    visit_spans,
)
from server.domain.incumbent import IncumbentChallengerTracker
from server.domain.model import Scanner, Sighting, Tap, Visit, VisitEvent, Zone, ZoneKind
from server.domain.nearest import NearestScannerTracker
from server.domain.presence import PresenceEngine, PresenceParams
from server.domain.survey import Calibration, SurveyLeg
from server.simulator.movement import Itinerary, plan_itineraries
from server.simulator.radios import RADIO_NAMES, FaultSpec, default_faults, make_radio
from server.simulator.scenario import Scenario
from server.simulator.stream import sim_range
from server.simulator.venues import build_venue

__all__ = ["domain_stream", "dwell_accuracy", "precision_recall", "run_presence_bench", "true_visits", "venue"]
__all__ += ["SAMPLE_S", "Span", "visit_spans"]

DAY_START_OFFSET_S = 1800.0  # 09:00, half an hour after doors open: the opening keynote, talks and booths
TARGET_ACCURACY = 0.95
TARGET_LEAD = 0.10  # ten points better than the baseline

# fit(zones, scanners, legs, sightings) -> Calibration: what server.domain.calibration.fit_calibration does.
Fit = Callable[[Sequence[Zone], Sequence[Scanner], Sequence[SurveyLeg], Sequence[Sighting]], Calibration]
Progress = Callable[[str, float], None]  # (radio model, share of its simulated span done)


class CalibrationUnavailable(RuntimeError):
    """``--calibrate`` asked for a row this build cannot produce (no fit, or an engine without calibration)."""


def calibration_fit() -> Fit:
    """The survey fit, ``server.domain.calibration.fit_calibration``, with the walk's end as ``fitted_at``.

    Raises :class:`CalibrationUnavailable` naming the missing piece rather than inventing a number.
    """
    import inspect

    try:
        from server.domain.calibration import fit_calibration
    except ImportError as exc:
        raise CalibrationUnavailable(
            "--calibrate needs server.domain.calibration.fit_calibration(zones, scanners, legs, sightings), "
            f"the survey-walk fit, which this build does not have ({exc})"
        ) from None
    if "calibration" not in inspect.signature(PresenceEngine).parameters:
        raise CalibrationUnavailable("--calibrate needs PresenceEngine(..., calibration=...), which this build lacks")

    def fit(
        zones: Sequence[Zone], scanners: Sequence[Scanner], legs: Sequence[SurveyLeg], sightings: Sequence[Sighting]
    ) -> Calibration:
        fitted_at = max((leg.ended_at for leg in legs), default=0.0)
        result: Calibration = fit_calibration(zones, scanners, legs, sightings, fitted_at=fitted_at)
        return result

    return fit


class Tracker(Protocol):
    def observe(self, sightings: Sequence[Sighting]) -> list[VisitEvent]: ...
    def tap(self, tap: Tap) -> list[VisitEvent]: ...
    def advance(self, now: float) -> list[VisitEvent]: ...
    def open_visits(self) -> list[Visit]: ...


def venue(scenario: Scenario, offsets: dict[str, float] | None = None) -> tuple[list[Zone], list[Scanner]]:
    """The scenario's floor plan as presence sees it. Offsets: a 1 m calibration's (default: minus the
    ``engine`` model's bias, i.e. perfect for that model, as this bench always gave)."""
    zones = [
        Zone(z.id, ZoneKind(z.kind), z.rect.x, z.rect.y, z.rect.width, z.rect.height, z.capacity, z.exhibitor_id)
        for z in scenario.zones
    ]
    known = offsets if offsets is not None else {d.id: -d.rssi_bias_db for d in scenario.devices}
    scanners = [Scanner(d.id, d.zone_id, d.x, d.y, known.get(d.id, 0.0)) for d in scenario.devices]
    return zones, scanners


def domain_stream(
    scenario: Scenario,
    itineraries: Sequence[Itinerary],
    *,
    seed: int,
    start_offset_s: float,
    duration_s: float,
    radio: str = "engine",
    faults: FaultSpec | None = None,
) -> Iterator[tuple[float, list[list[Sighting]], list[Tap]]]:
    """``(instant, sighting batches, taps)`` per instant of the message stream, staff badges left out."""
    from server.simulator.stream import generate_messages

    tracked = {a.beacon_id: a.id for a in scenario.attendees if a.role != "staff"}
    by_uid = {a.badge_uid: a.id for a in scenario.attendees if a.role != "staff"}
    at: float | None = None
    batches: list[list[Sighting]] = []
    taps: list[Tap] = []
    for t, message in generate_messages(
        scenario,
        seed=seed,
        start_offset_s=start_offset_s,
        duration_s=duration_s,
        itineraries=itineraries,
        radio=radio,
        faults=faults,
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


def _method_block(
    tracked: Sequence[Itinerary],
    spans: list[Span],
    truths: list[Span],
    begin: float,
    end: float,
    kind_of: dict[str, str],
    min_visit_s: float,
) -> dict[str, Any]:
    dwell = score_dwell(tracked, spans, begin, end, kind_of)
    visits = visit_scores(spans, truths, min_visit_s, kind_of)
    precision, recall, counted, _ = visits[None]
    by_kind = {
        kind: {
            "in_zone_accuracy": round(dwell.in_zone_accuracy(kind), 4),
            "minutes": round(dwell.minutes(kind), 1),
            "visit_precision": round(visits[kind][0], 4),
            "visit_recall": round(visits[kind][1], 4),
        }
        for kind in KINDS
    }
    return {
        "dwell_accuracy": round(dwell.dwell_accuracy(), 4),
        "in_zone_accuracy": round(dwell.in_zone_accuracy(), 4),
        "corridor_in_zone_share": round(dwell.corridor_in_zone_share(), 4),
        "corridor_minutes": round(dwell.corridor[1] * SAMPLE_S / 60.0, 1),
        "visit_precision": round(precision, 4),
        "visit_recall": round(recall, 4),
        "visits": counted,
        "by_kind": by_kind,
    }


def run_radio(
    scenario: Scenario,
    itineraries: Sequence[Itinerary],
    radio: str,
    *,
    seed: int,
    start_offset_s: float,
    duration_s: float,
    faults: FaultSpec | None = None,
    calibrated: bool = True,
    fit: Fit | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Every method on one radio model's stream; one block of scores per method."""
    spec = faults if faults is not None else default_faults(radio, seed)
    begin, end_of_span = sim_range(scenario, start_offset_s, duration_s)
    hearing = make_radio(radio, scenario, seed=seed, span=(begin, end_of_span), faults=spec)
    offsets = {d.id: hearing.calibrated_offset_db(d.id) if calibrated else 0.0 for d in scenario.devices if d.ble}
    zones, scanners = venue(scenario, offsets)
    params = PresenceParams()
    trackers: dict[str, Tracker] = {"ours": PresenceEngine(zones, scanners, params)}
    if fit is not None:
        from server.simulator.survey import survey_walk

        walk = survey_walk(scenario, radio, seed=seed, faults=spec)
        calibration = fit(zones, scanners, walk.legs, walk.sightings)
        trackers["ours_calibrated"] = PresenceEngine(zones, scanners, params, calibration=calibration)
    trackers["nearest"] = NearestScannerTracker(scanners)
    trackers["incumbent"] = IncumbentChallengerTracker(scanners)
    events: dict[str, list[VisitEvent]] = {name: [] for name in trackers}
    cpu = dict.fromkeys(trackers, 0.0)
    sightings = taps = 0
    end = begin
    for at, batches, tap_list in domain_stream(
        scenario, itineraries, seed=seed, start_offset_s=start_offset_s, duration_s=duration_s, radio=radio,
        faults=spec,
    ):  # fmt: skip
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
        if progress is not None:
            progress(radio, (at - begin) / max(1.0, end_of_span - begin))
    tracked = [it for it, a in zip(itineraries, scenario.attendees, strict=True) if a.role != "staff"]
    truths = true_visits(tracked, begin, end)
    kind_of = {z.id: z.kind for z in scenario.zones}
    block: dict[str, Any] = {
        "sightings": sightings,
        "taps": taps,
        "true_visits": sum(t[3] - t[2] >= params.min_visit_s for t in truths),
        "calibrated_offsets": calibrated,
        "faults": {
            "loss": [spec.loss_min, spec.loss_max],
            "skew_ms": spec.skew_ms,
            "outages": spec.outages,
            "outage_s": spec.outage_s,
            "seed": spec.seed,
        },
        "methods": {},
    }
    for name, tracker in trackers.items():
        spans = visit_spans(events[name], tracker.open_visits(), end)
        scores = _method_block(tracked, spans, truths, begin, end, kind_of, params.min_visit_s)
        scores["sightings_per_s"] = round(sightings / cpu[name]) if cpu[name] else 0
        block["methods"][name] = scores
    return block


def run_presence_bench(
    *,
    seed: int = 7,
    attendees: int = 200,
    hours: float = 3.0,
    start_offset_s: float = DAY_START_OFFSET_S,
    radio: str = "engine",
    venue_name: str = "default",
    faults: FaultSpec | None = None,
    calibrated: bool = True,
    fit: Fit | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """One block per radio model (``radio="all"``: every model), plus flat headline keys for the log."""
    models = list(RADIO_NAMES) if radio == "all" else [radio]
    for name in models:
        if name not in RADIO_NAMES:
            raise ValueError(f"unknown radio model {name!r}: choose one of {', '.join(RADIO_NAMES)} or all")
    wall0 = time.perf_counter()
    scenario = build_venue(venue_name, seed, attendees)
    itineraries = plan_itineraries(scenario)
    result: dict[str, Any] = {
        "bench": "presence",
        "seed": seed,
        "attendees": attendees,
        "hours": hours,
        "venue": venue_name,
        "radio": radio,
        "min_visit_s": PresenceParams().min_visit_s,
    }
    blocks = {
        name: run_radio(scenario, itineraries, name, seed=seed, start_offset_s=start_offset_s,
                        duration_s=hours * 3600, faults=faults, calibrated=calibrated, fit=fit, progress=progress)
        for name in models
    }  # fmt: skip
    for name, block in blocks.items():
        for method, scores in block["methods"].items():
            result[f"{name}_{method}_dwell"] = scores["dwell_accuracy"]
            result[f"{name}_{method}_in_zone"] = scores["in_zone_accuracy"]
            result[f"{name}_{method}_booth"] = scores["by_kind"]["booth"]["in_zone_accuracy"]
    first = blocks[models[0]]
    ours, base = first["methods"]["ours"], first["methods"]["nearest"]
    result["sightings"] = first["sightings"]
    # The headline keys this bench always logged (first model: ours vs nearest), so old rows stay comparable.
    for prefix, scores in (("", ours), ("baseline_", base)):
        for key in ("dwell_accuracy", "visit_precision", "visit_recall", "visits"):
            result[f"{prefix}{key}"] = scores[key]
    result["baseline_sightings_per_s"] = base["sightings_per_s"]
    result["sightings_per_s"] = ours["sightings_per_s"]
    result["ratio_sightings_per_s_vs_baseline"] = (
        round(ours["sightings_per_s"] / base["sightings_per_s"], 3) if base["sightings_per_s"] else 0
    )
    lead = ours["dwell_accuracy"] - base["dwell_accuracy"]
    result["lead_points"] = round(100 * lead, 1)
    result["target_met"] = ours["dwell_accuracy"] >= TARGET_ACCURACY and lead >= TARGET_LEAD
    result["models"] = blocks
    result["wall_s"] = round(time.perf_counter() - wall0, 1)
    return result
