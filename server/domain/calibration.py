"""Fit a venue's radio calibration from a survey walk: per scanner its gain and path-loss exponent, per zone
its fingerprint. Pure: the sightings, legs and the venue come in, a :class:`Calibration` goes out.

Why a fit at all: presence's radio map predicts what each scanner reports of a badge at each spot. With the
documented defaults (every scanner -59 dBm at 1 m after its offset, exponent 2.5, 8 dB per wall) a hall whose
scanners sit on 3 m poles, in enclosures, or in a room full of people is read several dB off at every
scanner, and the zones' costs no longer say where a badge is. A 15-minute walk with a reference badge through
every zone measures how each scanner really hears.

The method, per scanner: every leg the scanner heard in most of its windows (a leg heard rarely is censored:
only the strongest adverts came through, so its mean reads too strong) gives one point: the mean RSSI and
``log10`` of the radio distance. A leg with a marked spot uses that spot; a leg that only says "somewhere in
this zone" uses the zone's *mean* ``log10`` distance (the model is linear in ``log10 d``, so a walk spread
evenly over the zone reads, on average, what that mean distance reads) and adds the zone's spread of
``10 n log10 d`` to the point's variance, so a large zone close to the scanner weighs little. Weighted least
squares of ``rssi = a - 10 n log10 d`` (gain ``a``, exponent ``n``) with a Gaussian prior toward the
defaults: a scanner heard only at one distance keeps the default exponent and fits only its gain. Readings
through a room wall are left out of the per-scanner fit and then fit one venue-wide wall loss.

Bad input is named, never silently absorbed: a zone the walk barely visited, a scanner never heard, a scanner
that hears best far from where the floor plan puts it, all go to ``Calibration.problems``. Fitting raises
:class:`CalibrationError` only when nothing at all could be fitted; :func:`usable` says whether a fit is good
enough to replace the venue's previous calibration (the caller keeps the old one otherwise).

Example: a walk of 28 legs of 30 s, one per zone plus corridor spots, gives each scanner of a 60 x 40 m hall
~10 legs heard in most windows at 2-30 m: enough to fit gain within ~1 dB and exponent within ~0.2.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from server.domain.model import Scanner, Sighting, Zone, ZoneKind
from server.domain.presence_params import PresenceParams
from server.domain.radio_map import DEFAULT_RSSI_1M
from server.domain.survey import Calibration, ScannerCalibration, ScannerStatus, SurveyLeg, ZoneFingerprint


class CalibrationError(ValueError):
    """Nothing could be fitted (no legs, or no sighting inside any leg): ``problems`` names why."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = tuple(problems)


@dataclass(frozen=True, slots=True)
class CalibrationParams:
    # What presence assumes of the radio (PresenceParams): a scanner keeps its exponent when the walk says too
    # little, its height over a chest-worn badge and a radio's sensitivity (the fitted gain gives the reach),
    # and the wall loss until the walk measured one. One definition, so calibration and presence agree.
    radio: PresenceParams = field(default_factory=PresenceParams)
    # Exponents outside this range are not a hall (1.6: a corridor guiding the wave; 4.0: a dense crowd).
    min_exponent: float = 1.6
    max_exponent: float = 4.0
    # Prior spread around the defaults (a Gaussian prior, i.e. ridge regularisation): the exponent moves freely
    # with readings spread over a decade of distance and stays near 2.5 with readings at one distance only.
    exponent_prior_sd: float = 0.5
    gain_prior_sd_db: float = 10.0
    # Noise of one reading (the edge's median of a few adverts): weights readings against the prior.
    reading_sd_db: float = 3.0
    # A leg whose fitted mean RSSI is within this of the sensitivity is censored (~1.5 advert sigmas: a third
    # of its adverts are lost below the sensitivity, and the rest read ~3 dB strong): refit without it.
    censor_margin_db: float = 6.0
    # A scan window, as on the edge: how many chances a leg had to be heard.
    window_s: float = 2.0
    # Trim each leg's ends: staff are still walking to the spot, and scanner clocks differ by ~0.3 s.
    leg_trim_s: float = 1.0
    # A leg heard in fewer of its windows than this is censored (only strong adverts came through): it reads
    # too strong, so it does not enter the fit (it still enters the fingerprint's heard share).
    min_heard_share: float = 0.6
    # Robust fit (_solve): a leg whose mean is off the fitted line by more than this many sds of one reading
    # there is down-weighted (Huber; 1.345 keeps 95 % efficiency on clean Gaussian data): a body between the
    # reference badge and a scanner reads 8-10 dB low for a whole leg and must not bend the exponent.
    huber_k: float = 1.345
    # Reweighting passes: each moves the fit away from the outliers; a few suffice for a two-parameter line.
    robust_passes: int = 5
    # Fewer fitted readings than this: the scanner keeps the defaults (status DEFAULT).
    min_scanner_readings: int = 10
    # A zone surveyed for fewer windows than this (16 s) has no trustworthy fingerprint.
    min_zone_windows: int = 8
    # A scanner whose strongest leg is this far from where the plan puts it, while the walk passed at least
    # twice as close, is misplaced (path loss grows with distance: the loudest leg is the nearest, give or take
    # a body or a wall, never 15 m further than a leg at half the distance).
    misplaced_m: float = 15.0
    # A fit is usable when at least this share of scanners was fitted (the rest keep the defaults).
    min_fitted_share: float = 0.5


@dataclass(slots=True)
class _Point:
    """One (leg, scanner) pair: mean RSSI, readings, their sum of squares, log10 distance and its variance."""

    rssi: float
    count: int
    sq: float
    log_d: float
    var_log_d: float
    walls: int
    distance_m: float


def fit_calibration(
    zones: Iterable[Zone],
    scanners: Iterable[Scanner],
    legs: Iterable[SurveyLeg],
    sightings: Iterable[Sighting],
    *,
    fitted_at: float,
    params: CalibrationParams = CalibrationParams(),
) -> Calibration:
    """Fit every scanner and fingerprint every surveyed place from the reference badge's ``sightings``
    (the caller passes only that badge's). Raises :class:`CalibrationError` when no sighting falls in any leg."""
    p = params
    zone_by_id = {z.id: z for z in zones}
    scanner_list = list(scanners)
    problems: list[str] = []
    good_legs: list[SurveyLeg] = []
    for leg in sorted(legs, key=lambda g: g.started_at):
        if leg.zone_id is not None and leg.zone_id not in zone_by_id:
            problems.append(f"leg at {leg.started_at:.0f}: unknown zone {leg.zone_id}")
        elif leg.ended_at - leg.started_at <= 2 * p.leg_trim_s:
            problems.append(f"leg at {leg.started_at:.0f} ({leg.zone_id or 'corridor'}): ends before it starts")
        else:
            good_legs.append(leg)
    if not good_legs:
        raise CalibrationError([*problems, "no usable survey legs"])
    by_leg = _match(good_legs, sightings, p)
    if not any(by_leg):
        raise CalibrationError([*problems, "no sighting of the reference badge falls inside any survey leg"])
    points: dict[str, list[_Point]] = {}
    for leg, readings in zip(good_legs, by_leg, strict=True):
        windows = _windows(leg, p)
        for scanner in scanner_list:
            values = readings.get(scanner.id)
            if not values or len(values) < p.min_heard_share * windows or scanner.x is None or scanner.y is None:
                continue
            log_d, var = _leg_distance(leg, scanner, zone_by_id, p)
            walls = _walls(leg.zone_id, scanner.zone_id, zone_by_id)
            mean = sum(values) / len(values)
            sq = sum((v - mean) ** 2 for v in values)
            points.setdefault(scanner.id, []).append(_Point(mean, len(values), sq, log_d, var, walls, 10**log_d))
    heard_any = {k for readings in by_leg for k in readings}
    fitted = {
        s.id: _fit_scanner(s, points.get(s.id, []), s.id in heard_any, _nearest_leg_m(s, good_legs, zone_by_id), p)
        for s in scanner_list
    }
    wall_loss = _fit_wall_loss(fitted, points, p)
    for cal in fitted.values():
        if cal.status != ScannerStatus.OK:
            problems.append(f"scanner {cal.scanner_id}: {cal.status.value}, {cal.note}")
    fingerprints = _fingerprints(good_legs, by_leg, zone_by_id, {s.id: s for s in scanner_list}, fitted, p)
    for zone_id in [*zone_by_id, None]:
        fp = fingerprints.get(zone_id)
        if fp is None or fp.windows < p.min_zone_windows:
            have = fp.windows if fp is not None else 0
            problems.append(f"{zone_id or 'corridor'}: {have} windows surveyed, needs {p.min_zone_windows}")
            fingerprints.pop(zone_id, None)
    return Calibration(fitted_at, fitted, fingerprints, tuple(problems), wall_loss_db=wall_loss)


def usable(cal: Calibration, params: CalibrationParams = CalibrationParams()) -> bool:
    """Whether ``cal`` may replace the venue's previous calibration: at least ``min_fitted_share`` of its
    scanners fitted (the rest keep the defaults). Zones without a fingerprint do not block it: presence then
    judges them from the fitted radio map alone."""
    if not cal.scanners:
        return False
    ok = sum(1 for s in cal.scanners.values() if s.status == ScannerStatus.OK)
    return ok >= params.min_fitted_share * len(cal.scanners)


def _match(
    legs: Sequence[SurveyLeg], sightings: Iterable[Sighting], p: CalibrationParams
) -> list[dict[str, list[float]]]:
    """Per leg, per scanner, the RSSIs of sightings whose window's middle falls inside the trimmed leg."""
    out: list[dict[str, list[float]]] = [{} for _ in legs]
    starts = [leg.started_at + p.leg_trim_s for leg in legs]
    for s in sightings:
        t = (s.first_seen + s.last_seen) / 2
        for i, leg in enumerate(legs):  # legs are few (tens): a scan is simpler than bisection with overlaps
            if starts[i] <= t <= leg.ended_at - p.leg_trim_s:
                out[i].setdefault(s.device_id, []).append(s.rssi)
                break
    return out


def _windows(leg: SurveyLeg, p: CalibrationParams) -> float:
    return max(1.0, (leg.ended_at - leg.started_at - 2 * p.leg_trim_s) / p.window_s)


def _leg_distance(
    leg: SurveyLeg, scanner: Scanner, zones: dict[str, Zone], p: CalibrationParams
) -> tuple[float, float]:
    """log10 of the radio distance from the scanner to the leg, and its variance over the leg's area."""
    assert scanner.x is not None and scanner.y is not None
    if leg.x is not None and leg.y is not None:
        return math.log10(math.hypot(leg.x - scanner.x, leg.y - scanner.y, p.radio.height_diff_m)), 0.0
    if leg.zone_id is None:  # a corridor leg without a spot says nothing about distance
        return math.nan, math.inf
    z = zones[leg.zone_id]
    steps = 6  # a 6 x 6 sample of the zone: the mean of log10 d is smooth, this is within ~1 %
    logs = [
        math.log10(math.hypot(z.x + (i + 0.5) * z.width / steps - scanner.x,
                              z.y + (j + 0.5) * z.height / steps - scanner.y, p.radio.height_diff_m))
        for i in range(steps) for j in range(steps)
    ]  # fmt: skip
    mean = sum(logs) / len(logs)
    return mean, sum((v - mean) ** 2 for v in logs) / len(logs)


def _walls(leg_zone: str | None, scanner_zone: str | None, zones: dict[str, Zone]) -> int:
    if leg_zone == scanner_zone:
        return 0
    return sum(1 for z in (leg_zone, scanner_zone) if z is not None and z in zones and zones[z].kind == ZoneKind.ROOM)


def _nearest_leg_m(s: Scanner, legs: Sequence[SurveyLeg], zones: dict[str, Zone]) -> float:
    """How close the walk came to where the floor plan puts the scanner (a leg's spot, or its zone's centre)."""
    if s.x is None or s.y is None:
        return math.inf
    spots = [(g.x, g.y) if g.x is not None and g.y is not None else _centre(zones.get(g.zone_id or "")) for g in legs]
    return min((math.hypot(x - s.x, y - s.y) for x, y in spots if x is not None and y is not None), default=math.inf)


def _centre(z: Zone | None) -> tuple[float | None, float | None]:
    return (z.x + z.width / 2, z.y + z.height / 2) if z is not None else (None, None)


def _fit_scanner(
    s: Scanner, points: list[_Point], heard: bool, nearest_leg_m: float, p: CalibrationParams
) -> ScannerCalibration:
    """Weighted least squares of ``rssi = a - 10 n log10 d`` with a Gaussian prior toward the defaults."""
    a0, n0 = DEFAULT_RSSI_1M - s.rssi_offset_db, p.radio.path_loss_exponent  # the defaults, in the scanner's own RSSI
    default = ScannerCalibration(s.id, a0, n0, _reach(a0, n0, p), 0.0, 0, ScannerStatus.DEFAULT)
    if s.x is None or s.y is None:
        return _replace(default, note="no position on the floor plan")
    if not heard:
        return _replace(default, status=ScannerStatus.DEAD, note="never heard the reference badge")
    usable_points = [q for q in points if q.walls == 0 and math.isfinite(q.var_log_d)]
    count = sum(q.count for q in usable_points)
    if count < p.min_scanner_readings:
        return _replace(default, readings=count, note=f"{count} readings heard clearly, needs {p.min_scanner_readings}")
    a, n = _solve(usable_points, a0, p)
    # Censoring: near the sensitivity only the strong adverts are heard, so a leg whose fitted mean is within
    # censor_margin_db of it reads too strong. Refit without those legs (when enough readings remain).
    clear = [q for q in usable_points if a - 10 * n * q.log_d >= p.radio.sensitivity_dbm + p.censor_margin_db]
    if len(clear) < len(usable_points) and sum(q.count for q in clear) >= p.min_scanner_readings:
        usable_points = clear
        count = sum(q.count for q in clear)
        a, n = _solve(usable_points, a0, p)
    sq = sum(q.sq + q.count * (q.rssi - a + 10 * n * q.log_d) ** 2 for q in usable_points)
    residual = math.sqrt(sq / count)
    cal = ScannerCalibration(s.id, a, n, _reach(a, n, p), residual, count)
    strongest = max(points, key=lambda q: q.rssi)
    if strongest.distance_m > p.misplaced_m and nearest_leg_m < strongest.distance_m / 2:
        note = f"hears best {strongest.distance_m:.0f} m away although the walk passed {nearest_leg_m:.0f} m from it"
        return _replace(default, status=ScannerStatus.MISPLACED, readings=count, note=note)
    return cal


def _solve(points: Sequence[_Point], a0: float, p: CalibrationParams) -> tuple[float, float]:
    """Gain and exponent, robustly: iteratively reweighted least squares with Huber weights on each leg's
    residual, so legs read 8-10 dB low for their whole length (a body between the reference badge and the
    scanner) count as outliers, not as evidence of a steeper or flatter exponent. Each pass solves the
    weighted normal equations (:func:`_solve_weighted`); a leg whose residual exceeds ``huber_db`` (in sds of
    one reading there) has its weight scaled by ``huber_db / |residual|``."""
    n0 = p.radio.path_loss_exponent
    sds = [math.sqrt(p.reading_sd_db**2 + (10 * n0) ** 2 * q.var_log_d) for q in points]
    scale = [1.0] * len(points)
    a, n = _solve_weighted(points, scale, a0, p)
    for _ in range(p.robust_passes):
        scale = [
            min(1.0, p.huber_k * sd / abs(r)) if r else 1.0
            for q, sd in zip(points, sds, strict=True)
            for r in [q.rssi - a + 10 * n * q.log_d]
        ]
        a, n = _solve_weighted(points, scale, a0, p)
    return a, n


def _solve_weighted(
    points: Sequence[_Point], scale: Sequence[float], a0: float, p: CalibrationParams
) -> tuple[float, float]:
    """Normal equations of theta = (a, n), rows (1, -10 log10 d), with the prior P toward (a0, default
    exponent): (X'WX + P) theta = X'Wy + P theta0. An exponent outside the plausible range is clamped and the
    gain refitted alone."""
    n0 = p.radio.path_loss_exponent
    pa, pn = 1 / p.gain_prior_sd_db**2, 1 / p.exponent_prior_sd**2
    s11, s12, s22, b1, b2 = pa, 0.0, pn, pa * a0, pn * n0
    for q, k in zip(points, scale, strict=True):
        w = k * q.count / (p.reading_sd_db**2 + (10 * n0) ** 2 * q.var_log_d)
        x = -10 * q.log_d
        s11, s12, s22 = s11 + w, s12 + w * x, s22 + w * x * x
        b1, b2 = b1 + w * q.rssi, b2 + w * x * q.rssi
    det = s11 * s22 - s12 * s12
    a, n = (s22 * b1 - s12 * b2) / det, (s11 * b2 - s12 * b1) / det
    if not p.min_exponent <= n <= p.max_exponent:
        n = min(p.max_exponent, max(p.min_exponent, n))
        a = (b1 - s12 * n) / s11
    return a, n


def _replace(cal: ScannerCalibration, **changes: object) -> ScannerCalibration:
    return replace(cal, **changes)  # type: ignore[arg-type]


def _reach(gain: float, exponent: float, p: CalibrationParams) -> float:
    """The distance at which the mean RSSI reaches the sensitivity: beyond it most adverts are lost."""
    return float(10 ** ((gain - p.radio.sensitivity_dbm) / (10 * exponent)))


def _fit_wall_loss(
    fitted: dict[str, ScannerCalibration], points: dict[str, list[_Point]], p: CalibrationParams
) -> float | None:
    """The median, per wall, of how much weaker walled readings are than their scanner's fit predicts."""
    per_wall = sorted(
        (cal.gain_db - 10 * cal.exponent * q.log_d - q.rssi) / q.walls
        for scanner_id, cal in fitted.items()
        if cal.status == ScannerStatus.OK
        for q in points.get(scanner_id, [])
        if q.walls > 0
        and math.isfinite(q.var_log_d)
        # censored: with the default wall the leg reads near the sensitivity, so only strong adverts came through
        and cal.gain_db - 10 * cal.exponent * q.log_d - q.walls * p.radio.wall_loss_db
        >= p.radio.sensitivity_dbm + p.censor_margin_db
    )
    if len(per_wall) < 3:
        return None
    mid = len(per_wall) // 2
    median = per_wall[mid] if len(per_wall) % 2 else (per_wall[mid - 1] + per_wall[mid]) / 2
    return min(25.0, max(0.0, median))


def _fingerprints(
    legs: Sequence[SurveyLeg],
    by_leg: Sequence[dict[str, list[float]]],
    zones: dict[str, Zone],
    scanners: dict[str, Scanner],
    fitted: dict[str, ScannerCalibration],
    p: CalibrationParams,
) -> dict[str | None, ZoneFingerprint]:
    """Per place (zone or corridor): per scanner mean RSSI, spread and share of windows heard, *over the zone*.

    A leg at a marked spot reads what that spot reads; a badge anywhere in the zone reads, on average, what the
    zone's mean log-distance reads. So a marked leg's readings are moved by ``10 n (log10 d_spot - mean log10 d)``
    and the zone's spread of ``10 n log10 d`` is added to the walk's own: one spot at a 6 x 6 booth's middle
    then also stands for its front edge, 6 dB weaker at the scanner on the back wall."""
    windows: dict[str | None, float] = {}
    values: dict[str | None, dict[str, list[float]]] = {}
    area: dict[tuple[str, str], float] = {}  # (zone, scanner) -> spread of 10 n log10 d over the zone
    for leg, readings in zip(legs, by_leg, strict=True):
        windows[leg.zone_id] = windows.get(leg.zone_id, 0.0) + _windows(leg, p)
        place = values.setdefault(leg.zone_id, {})
        for scanner_id, rssis in readings.items():
            shift = 0.0
            scanner = scanners.get(scanner_id)
            if leg.zone_id is not None and scanner is not None and scanner.x is not None and scanner.y is not None:
                n = fitted[scanner_id].exponent if scanner_id in fitted else p.radio.path_loss_exponent
                zone_mean, zone_var = _leg_distance(SurveyLeg(leg.zone_id, 0, 0), scanner, zones, p)
                if leg.x is not None and leg.y is not None:
                    shift = 10 * n * (_leg_distance(leg, scanner, zones, p)[0] - zone_mean)
                area[leg.zone_id, scanner_id] = 10 * n * math.sqrt(zone_var)
            place.setdefault(scanner_id, []).extend(r + shift for r in rssis)
    out: dict[str | None, ZoneFingerprint] = {}
    for zone_id, place in values.items():
        total = windows[zone_id]
        mean = {k: sum(v) / len(v) for k, v in place.items()}
        std = {
            k: math.sqrt(sum((x - mean[k]) ** 2 for x in v) / len(v) + area.get((zone_id or "", k), 0.0) ** 2)
            for k, v in place.items()
        }
        share = {k: min(1.0, len(v) / total) for k, v in place.items()}
        out[zone_id] = ZoneFingerprint(zone_id, mean, std, share, int(total))
    return out
