"""Analytics: pure aggregations over plain values, for the organizer dashboard and exhibitor reports.

Nothing here reads a database or the clock: the API adapter loads visits, journeys, scores and stages, calls
these, and (for an exhibitor) passes only the exhibitor's own booths and leads.
"""

from __future__ import annotations

import bisect
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from statistics import fmean, median

from server.domain.attendance import SessionReport
from server.domain.journey import StageModel
from server.domain.model import JourneyEntry, JourneyKind, Visit, Zone, ZoneKind
from server.domain.scoring import Score

PRECEDING_WINDOW_S = 2 * 3600  # what happened in the 2 h before a scan is what led to it; the morning keynote
# before an afternoon meeting is background, not the path (and a wider window drowns the signal in lounge visits)
SEQUENCE_LENGTHS = (2, 3)  # pairs and triples ending in the conversion; longer paths are too rare to count
CONVERSION_KINDS = (JourneyKind.LEAD_SCAN, JourneyKind.MEETING)
NOISE_KINDS = (JourneyKind.TAP,)  # a tap repeats a visit or check-in that is already on the timeline
MAX_SERIES_POINTS = 10_000  # a replay slider needs hundreds of steps; more is a mistaken step, not a wish


@dataclass(frozen=True, slots=True)
class RegistrationAttendance:
    registered: int
    checked_in: int
    registered_and_checked_in: int
    walk_ins: int  # checked in without a registration (on-site registration, staff-issued badges)
    rate: float | None  # registered_and_checked_in / registered


@dataclass(frozen=True, slots=True)
class BoothTraffic:
    """Traffic at one booth zone (``key`` = zone id) or one exhibitor's booths together (``key`` = exhibitor)."""

    key: str
    exhibitor_id: str | None
    zone_ids: tuple[str, ...]
    visits: int
    unique_visitors: int
    total_dwell_s: float
    average_dwell_s: float | None
    median_dwell_s: float | None


@dataclass(frozen=True, slots=True)
class EngagedAttendee:
    rank: int
    attendee_id: str
    score: Decimal | float


@dataclass(frozen=True, slots=True)
class FunnelStep:
    stage: str
    label: str
    at_stage: int  # attendees whose furthest stage is this one
    reached: int  # at this stage or beyond
    conversion_from_previous: float | None  # reached / previous step's reached
    conversion_from_start: float | None  # reached / first step's reached


@dataclass(frozen=True, slots=True)
class SequenceCount:
    sequence: tuple[str, ...]
    count: int
    share: float  # of all conversions


@dataclass(frozen=True, slots=True)
class Occupancy:
    times: tuple[float, ...]
    counts: Mapping[str, tuple[int, ...]]  # zone id -> people in it at each time


def checked_in_attendees(journeys: Mapping[str, Sequence[JourneyEntry]]) -> set[str]:
    """Attendees whose journey has a check-in."""
    return {a for a, entries in journeys.items() if any(e.kind is JourneyKind.CHECK_IN for e in entries)}


def registration_attendance(registered: Collection[str], checked_in: Collection[str]) -> RegistrationAttendance:
    """Registered versus checked in for the event.

    Example: registered {a, b, c, d}, checked in {a, b, x} -> 4 registered, 3 checked in, 2 of the registered,
    1 walk-in, rate 0.5.
    """
    both = set(registered) & set(checked_in)
    return RegistrationAttendance(
        registered=len(set(registered)),
        checked_in=len(set(checked_in)),
        registered_and_checked_in=len(both),
        walk_ins=len(set(checked_in) - set(registered)),
        rate=len(both) / len(set(registered)) if registered else None,
    )


def session_fill(reports: Iterable[SessionReport]) -> list[SessionReport]:
    """Session reports, fullest first (rooms without a capacity last, by attendance), for the fill chart."""
    return sorted(
        reports,
        key=lambda r: (r.fill is None, -(r.fill or 0.0), -r.attended, r.session_id),
    )


def booth_traffic(visits: Iterable[Visit], zones: Iterable[Zone], *, now: float | None = None) -> list[BoothTraffic]:
    """Visits, unique visitors and dwell per booth zone, busiest first; booths nobody visited are listed too.

    Open visits count as visits; their dwell runs to ``now``, and without ``now`` they stay out of the dwell
    figures (an unfinished stay would drag the average down).

    Example: booth b1 visited by a (60 s, 180 s) and b (120 s) -> 3 visits, 2 unique, average 120 s, median 120 s.
    """
    booths = {z.id: z for z in zones if z.kind is ZoneKind.BOOTH}
    return _traffic(visits, booths, now, key_of=lambda zone: zone.id)


def exhibitor_traffic(
    visits: Iterable[Visit], zones: Iterable[Zone], *, now: float | None = None
) -> list[BoothTraffic]:
    """Like :func:`booth_traffic`, with an exhibitor's booths counted together (a visitor of two booths is
    one unique visitor)."""
    booths = {z.id: z for z in zones if z.kind is ZoneKind.BOOTH}
    return _traffic(visits, booths, now, key_of=lambda zone: zone.exhibitor_id or zone.id)


def top_engaged(scores: Mapping[str, Score | Decimal | float], n: int = 10) -> list[EngagedAttendee]:
    """The ``n`` highest scores, ties by attendee id so the list is stable between refreshes."""
    values = {a: s.total if isinstance(s, Score) else s for a, s in scores.items()}
    ranked = sorted(values.items(), key=lambda item: (-item[1], item[0]))[:n]
    return [EngagedAttendee(i + 1, attendee, value) for i, (attendee, value) in enumerate(ranked)]


def funnel(stages: Mapping[str, str], model: StageModel) -> list[FunnelStep]:
    """Attendees per journey-map stage and the conversion between stages.

    ``stages`` maps attendee -> furthest stage (:func:`server.domain.journey.stage_of`). "Reached" counts an
    attendee at every stage up to theirs. Stage names the model does not know (stored under an older map) are
    left out; rescoring re-stages them.

    Example: {a: registered, b: arrived, c: lead} -> registered reached 3, arrived 2 (0.667), ..., lead 1.
    """
    position = {name: i for i, name in enumerate(model.names)}
    at_stage = Counter(stages.values())
    furthest = [position[s] for s in stages.values() if s in position]
    steps: list[FunnelStep] = []
    for i, stage in enumerate(model.stages):
        reached = sum(1 for p in furthest if p >= i)
        previous = steps[-1].reached if steps else None
        start = steps[0].reached if steps else reached
        steps.append(
            FunnelStep(
                stage=stage.name,
                label=stage.label,
                at_stage=at_stage.get(stage.name, 0),
                reached=reached,
                conversion_from_previous=reached / previous if previous else None,
                conversion_from_start=reached / start if start else None,
            )
        )
    return steps


def touchpoint_token(entry: JourneyEntry, zone_kinds: Mapping[str, ZoneKind]) -> str:
    """The label of an entry in a sequence: its kind, plus the zone kind where the kind alone says little.

    Example: a zone visit to a lounge -> "zone_visit:lounge"; a booth visit -> "booth_visit".
    """
    zone_kind = zone_kinds.get(entry.zone_id) if entry.zone_id is not None else None
    if entry.kind in (JourneyKind.ZONE_VISIT, JourneyKind.TAP) and zone_kind is not None:
        return f"{entry.kind.value}:{zone_kind.value}"
    return entry.kind.value


def preceding_sequences(
    journeys: Iterable[Sequence[JourneyEntry]],
    zones: Iterable[Zone],
    *,
    targets: Collection[JourneyKind] = CONVERSION_KINDS,
    window_s: float = PRECEDING_WINDOW_S,
    lengths: Iterable[int] = SEQUENCE_LENGTHS,
    ignore: Collection[JourneyKind] = NOISE_KINDS,
    top: int | None = 10,
) -> list[SequenceCount]:
    """What preceded conversion: the most common touchpoint sequences ending in a lead scan or meeting.

    For each conversion, take the journey's entries in the ``window_s`` before it (not ``ignore`` kinds),
    collapse immediate repeats of the same token (presence splits one stay into several visits when a badge
    flickers; "booth_visit, booth_visit" would hide the pattern), and count the last n-1 tokens plus the
    conversion for each n in ``lengths``. Each conversion counts once per length; ``share`` is count / all
    conversions. Ordered by count, then longer first, then alphabetically.

    Example: two journeys "session_attended, booth_visit, lead_scan" -> ("booth_visit", "lead_scan") 2, 1.0 and
    ("session_attended", "booth_visit", "lead_scan") 2, 1.0.
    """
    zone_kinds = {z.id: z.kind for z in zones}
    sizes = sorted(set(lengths))
    counts: Counter[tuple[str, ...]] = Counter()
    conversions = 0
    for journey in journeys:
        entries = [e for e in journey if e.kind not in ignore]
        entries.sort(key=lambda e: e.at)  # stable: callers' tie order (build_journey's) is kept
        for i, conversion in enumerate(entries):
            if conversion.kind not in targets:
                continue
            conversions += 1
            before: list[str] = []
            for entry in entries[:i]:
                if conversion.at - window_s <= entry.at:
                    token = touchpoint_token(entry, zone_kinds)
                    if not before or before[-1] != token:
                        before.append(token)
            final = touchpoint_token(conversion, zone_kinds)
            for n in sizes:
                if n >= 2 and len(before) >= n - 1:
                    counts[(*before[len(before) - (n - 1) :], final)] += 1
    ranked = sorted(counts.items(), key=lambda item: (-item[1], -len(item[0]), item[0]))
    if top is not None:
        ranked = ranked[:top]
    return [SequenceCount(seq, n, n / conversions) for seq, n in ranked]


def occupancy(
    visits: Iterable[Visit],
    t0: float,
    t1: float,
    step_s: float,
    *,
    zone_ids: Iterable[str] | None = None,
    now: float | None = None,
) -> Occupancy:
    """People in each zone at t0, t0 + step, ... up to t1 (inclusive), for the dashboard's replay slider.

    A visit covers [started_at, ended_at): someone leaving at 10:00 is not counted at 10:00, someone arriving
    is. Open visits last until ``now`` (we do not know the future), or indefinitely without ``now``. Zones in
    ``zone_ids`` without visits get a row of zeros; without ``zone_ids`` every visited zone gets a row.

    Example: visits in z1 09:00-09:30 and 09:15-10:00, t0 09:00, t1 10:00, step 15 min -> z1 (1, 2, 1, 1, 0).
    """
    if step_s <= 0 or t1 < t0:
        raise ValueError("occupancy: needs step_s > 0 and t1 >= t0")
    points = int((t1 - t0) // step_s) + 1
    if points > MAX_SERIES_POINTS:
        raise ValueError(f"occupancy: {points} points exceed {MAX_SERIES_POINTS}; use a larger step")
    times = tuple(t0 + i * step_s for i in range(points))
    starts: dict[str, list[float]] = defaultdict(list)
    ends: dict[str, list[float]] = defaultdict(list)
    wanted = set(zone_ids) if zone_ids is not None else None
    for zone_id in wanted or ():
        starts.setdefault(zone_id, [])
    for visit in visits:
        if wanted is not None and visit.zone_id not in wanted:
            continue
        end = visit.ended_at if visit.ended_at is not None else now
        starts[visit.zone_id].append(visit.started_at)
        if end is not None:
            ends[visit.zone_id].append(end)
    counts = {}
    for zone_id in sorted(starts):
        zone_starts, zone_ends = sorted(starts[zone_id]), sorted(ends[zone_id])
        counts[zone_id] = tuple(bisect.bisect_right(zone_starts, t) - bisect.bisect_right(zone_ends, t) for t in times)
    return Occupancy(times, counts)


def _traffic(
    visits: Iterable[Visit], booths: Mapping[str, Zone], now: float | None, key_of: Callable[[Zone], str]
) -> list[BoothTraffic]:
    groups: dict[str, list[Zone]] = defaultdict(list)
    for booth in booths.values():
        groups[key_of(booth)].append(booth)
    counted: Counter[str] = Counter()
    visitors: dict[str, set[str]] = defaultdict(set)
    dwells: dict[str, list[float]] = defaultdict(list)
    for visit in visits:
        zone = booths.get(visit.zone_id)
        if zone is None:
            continue
        key = key_of(zone)
        counted[key] += 1
        visitors[key].add(visit.attendee_id)
        if visit.ended_at is not None or now is not None:
            dwells[key].append(visit.dwell_s(now))
    rows = [
        BoothTraffic(
            key=key,
            exhibitor_id=group[0].exhibitor_id,
            zone_ids=tuple(sorted(z.id for z in group)),
            visits=counted[key],
            unique_visitors=len(visitors[key]),
            total_dwell_s=sum(dwells[key]),
            average_dwell_s=fmean(dwells[key]) if dwells[key] else None,
            median_dwell_s=median(dwells[key]) if dwells[key] else None,
        )
        for key, group in groups.items()
    ]
    return sorted(rows, key=lambda r: (-r.unique_visitors, -r.total_dwell_s, r.key))
