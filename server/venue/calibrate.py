"""The "calibrate the venue" use case: a survey walk's legs + the reference badge's stored sightings -> a fit,
stored with the venue when usable (issue 14). The CLI and the organizer API both call :func:`calibrate`.

Where the sightings come from: ingest stores every sighting of a badge it does not know (``attendee_id`` empty,
``beacon_id`` kept) and of a known badge with tracking consent, staff included; it only keeps staff out of
presence. So the reference badge is either a spare beacon registered to nobody, or a staff attendee with
tracking consent; both leave their sightings in ``touchpoint`` by ``beacon_id``, which is what is read here.
A badge without tracking consent is dropped at ingest and cannot be used (:func:`resolve_badge` says so).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, col, or_, select

from server.domain import model as domain
from server.domain.survey import Calibration, SurveyLeg
from server.store.calibration import WalkInfo, save_calibration
from server.store.models import Attendee, Touchpoint, TouchpointType
from server.store.survey_models import VenueCalibration
from server.store.venue import load_venue

# Sightings are stored at their first advert of a scan window; one that began just before a leg still tells
# about the leg's first seconds. One edge scan window (2 s) plus slack is enough.
SIGHTING_MARGIN_S = 5.0
MAX_LEGS = 2_000  # a 15-minute walk is ~30 legs; a file with thousands is not a walk


class SurveyInputError(ValueError):
    """A legs file or badge the fit cannot use: the message says what to fix."""


@dataclass(frozen=True, slots=True)
class CalibrationOutcome:
    """What a fit gave, whether it is now in force, and the stored row (None when nothing could be fitted)."""

    calibration: Calibration | None
    usable: bool
    row: VenueCalibration | None
    problems: tuple[str, ...]
    sightings: int


def parse_time(value: Any, what: str) -> float:
    """Unix seconds from a number or an ISO 8601 string (no zone or a trailing Z means UTC)."""
    if isinstance(value, bool):
        raise SurveyInputError(f"{what}: not a time: {value!r}")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise SurveyInputError(f"{what}: not an ISO 8601 time: {value!r}") from None
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()
    raise SurveyInputError(f"{what}: not a time: {value!r}")


def _optional_float(value: Any, what: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SurveyInputError(f"{what}: not a number: {value!r}")
    return float(value)


def parse_legs(text: str, known_zones: set[str]) -> tuple[str | None, list[SurveyLeg]]:
    """The legs file ``{"badge": ..., "legs": [{"zone_id", "started_at", "ended_at", "x", "y"}]}``.

    Every problem is collected and reported at once (a staff member fixing a file by hand wants them all).
    """
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise SurveyInputError(f"not valid JSON: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("legs"), list):
        raise SurveyInputError('expected an object {"badge": ..., "legs": [...]}')
    badge = data.get("badge")
    if badge is not None and not isinstance(badge, str):
        raise SurveyInputError(f"badge: not a string: {badge!r}")
    if len(data["legs"]) > MAX_LEGS:
        raise SurveyInputError(f"{len(data['legs'])} legs: at most {MAX_LEGS}")
    legs: list[SurveyLeg] = []
    errors: list[str] = []
    for n, raw in enumerate(data["legs"]):
        where = f"legs[{n}]"
        try:
            if not isinstance(raw, dict):
                raise SurveyInputError(f"{where}: not an object")
            zone_id = raw.get("zone_id")
            if zone_id is not None and zone_id not in known_zones:
                raise SurveyInputError(f"{where}.zone_id: no zone {zone_id!r} in this event")
            started = parse_time(raw.get("started_at"), f"{where}.started_at")
            ended = parse_time(raw.get("ended_at"), f"{where}.ended_at")
            if ended <= started:
                raise SurveyInputError(f"{where}: ended_at is not after started_at")
            x, y = _optional_float(raw.get("x"), f"{where}.x"), _optional_float(raw.get("y"), f"{where}.y")
            legs.append(SurveyLeg(zone_id, started, ended, x, y))
        except SurveyInputError as exc:
            errors.append(str(exc))
    if errors:
        raise SurveyInputError("; ".join(errors))
    if not legs:
        raise SurveyInputError("no legs: the walk recorded no stop")
    return badge, legs


def resolve_badge(session: Session, event_id: str, badge: str) -> str:
    """The reference badge's beacon id, from an attendee id, a printed badge id or the beacon id itself."""
    attendee = session.exec(
        select(Attendee).where(
            col(Attendee.event_id) == event_id,
            or_(col(Attendee.id) == badge, col(Attendee.badge_id) == badge, col(Attendee.beacon_id) == badge),
        )
    ).first()
    if attendee is None:
        return badge  # a spare beacon registered to nobody: ingest keeps its sightings by beacon id
    if not attendee.beacon_id:
        raise SurveyInputError(f"{attendee.id!r} has no beacon_id: give the reference badge's beacon")
    if not attendee.consent_tracking:
        raise SurveyInputError(
            f"{attendee.id!r} has no tracking consent, so ingest drops its sightings: set consent_tracking "
            "on the staff record of the reference badge (docs/presence.md, Survey walk)"
        )
    return attendee.beacon_id


def load_badge_sightings(
    session: Session, event_id: str, beacon_id: str, start: float, end: float
) -> list[domain.Sighting]:
    """The badge's stored sightings between ``start`` and ``end``, as the domain's sightings (who = the beacon)."""
    rows = session.exec(
        select(Touchpoint)
        .where(
            col(Touchpoint.event_id) == event_id,
            col(Touchpoint.occurred_at) >= start - SIGHTING_MARGIN_S,
            col(Touchpoint.occurred_at) <= end,
            col(Touchpoint.type) == TouchpointType.SIGHTING.value,
            col(Touchpoint.beacon_id) == beacon_id,
        )
        .order_by(col(Touchpoint.occurred_at))
    )
    return [
        domain.Sighting(
            beacon_id,
            t.device_id or "",
            t.rssi if t.rssi is not None else -100.0,
            t.occurred_at,
            t.ended_at or t.occurred_at,
            t.count or 1,
            t.distance_m,
        )
        for t in rows
        if t.device_id
    ]


def calibrate(
    session: Session,
    event_id: str,
    beacon_id: str,
    legs: Sequence[SurveyLeg],
    *,
    created_by: str,
    window: tuple[float, float] | None = None,
    now: float | None = None,
) -> CalibrationOutcome:
    """Fit from the walk and store the result (active only when usable); the caller commits.

    ``window`` narrows the sightings read (default: from the first leg's start to the last leg's end).
    """
    from server.domain.calibration import CalibrationError, fit_calibration, usable

    fitted_at = time.time() if now is None else now
    start = min(leg.started_at for leg in legs)
    end = max(leg.ended_at for leg in legs)
    if window is not None:
        start, end = max(start, window[0]), min(end, window[1])
    venue = load_venue(session, event_id)
    sightings = load_badge_sightings(session, event_id, beacon_id, start, end)
    try:
        calibration = fit_calibration(venue.zones, venue.scanners, legs, sightings, fitted_at=fitted_at)
    except CalibrationError as exc:
        return CalibrationOutcome(None, False, None, exc.problems, len(sightings))
    good = usable(calibration)
    walk = WalkInfo(badge=beacon_id, started_at=start, ended_at=end, created_by=created_by)
    row = save_calibration(session, event_id, calibration, walk, usable=good, now=fitted_at)
    return CalibrationOutcome(calibration, good, row, calibration.problems, len(sightings))
