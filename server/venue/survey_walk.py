"""A survey walk made from the phone page: staff tap "I am in zone X now" and "leaving", the server records the
legs with its own clock, and "finish" fits the calibration (server/venue/calibrate.py).

Why the server's clock: the sightings are stamped by the edges (NTP-synced); a phone's clock can be minutes
off, and then every leg would read the wrong sightings. The walk lives in the database (``survey_walk``), so
a reloaded page or another API worker carries on where the last tap left it. One open walk per event: two
people surveying at once with different badges would each see the other's legs.

Example: start(badge "surveyor") -> enter("booth-1") ... 30 s ... enter("booth-2") (closes booth-1's leg)
... leave() ... finish() -> a CalibrationOutcome, stored and in force when usable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, func
from sqlmodel import Session, col, select

from server.domain.survey import SurveyLeg
from server.store.models import Touchpoint, TouchpointType, Zone
from server.store.survey_models import SurveyWalk
from server.venue.calibrate import CalibrationOutcome, SurveyInputError, calibrate, resolve_badge

# A leg shorter than this is a mis-tap (Start then Done at once): it is dropped, not fitted.
MIN_LEG_S = 3.0
RECENT_S = 10.0  # "heard now": the badge's sightings in the last five scan windows
LOOKBACK_S = 120.0  # the page's view of the badge reaches this far back (a stop is ~30 s; see badge_heard)


class WalkConflict(Exception):
    """The walk is finished, or another is open: the message says which."""


@dataclass(frozen=True, slots=True)
class BadgeHeard:
    """How the reference badge is heard now: a dead badge shows at the first stop, not at the fit."""

    heard_now_by: int  # scanners that heard it in the last RECENT_S
    readings_here: int  # its sightings since the current stop began (0 between stops)
    last_heard_at: float | None  # within the last LOOKBACK_S


def open_walk(session: Session, event_id: str) -> SurveyWalk | None:
    query = select(SurveyWalk).where(col(SurveyWalk.event_id) == event_id, col(SurveyWalk.finished_at).is_(None))
    return session.exec(query.order_by(col(SurveyWalk.id).desc()).limit(1)).first()


def start_walk(session: Session, event_id: str, badge: str, *, started_by: str, now: float) -> SurveyWalk:
    current = open_walk(session, event_id)
    if current is not None:
        raise WalkConflict(f"walk #{current.id} is still open: finish or abandon it first")
    walk = SurveyWalk(
        event_id=event_id,
        badge=resolve_badge(session, event_id, badge),
        started_by=started_by[:200],
        started_at=now,
    )
    session.add(walk)
    session.flush()
    return walk


def _close_open_leg(walk: SurveyWalk, now: float) -> None:
    leg = walk.open_leg
    if leg is None:
        return
    if now - float(leg["started_at"]) >= MIN_LEG_S:
        walk.legs = [*walk.legs, {**leg, "ended_at": now}]  # a new list: the JSON column sees the change
    walk.open_leg = None


def _editable(walk: SurveyWalk) -> None:
    if walk.finished_at is not None:
        raise WalkConflict(f"walk #{walk.id} is finished")


def enter_zone(
    session: Session, walk: SurveyWalk, zone_id: str | None, *, now: float, x: float | None = None,
    y: float | None = None,
) -> SurveyWalk:  # fmt: skip
    """Staff stand in ``zone_id`` (None: an aisle spot) from now; the stop they were at ends now."""
    _editable(walk)
    if zone_id is not None:
        zone = session.get(Zone, zone_id)
        if zone is None or zone.event_id != walk.event_id:
            raise SurveyInputError(f"no zone {zone_id!r} in this event")
    _close_open_leg(walk, now)
    walk.open_leg = {"zone_id": zone_id, "started_at": now, "x": x, "y": y}
    session.add(walk)
    session.flush()
    return walk


def leave_zone(session: Session, walk: SurveyWalk, *, now: float) -> SurveyWalk:
    _editable(walk)
    _close_open_leg(walk, now)
    session.add(walk)
    session.flush()
    return walk


def abandon_walk(session: Session, walk: SurveyWalk, *, now: float) -> None:
    _editable(walk)
    walk.open_leg = None
    walk.finished_at = now
    session.add(walk)
    session.flush()


def walk_legs(walk: SurveyWalk) -> list[SurveyLeg]:
    return [
        SurveyLeg(leg["zone_id"], float(leg["started_at"]), float(leg["ended_at"]), leg.get("x"), leg.get("y"))
        for leg in walk.legs
    ]


def finish_walk(session: Session, walk: SurveyWalk, *, created_by: str, now: float) -> CalibrationOutcome:
    """Close the last stop, fit, store (active when usable) and close the walk; the caller commits."""
    _editable(walk)
    _close_open_leg(walk, now)
    legs = walk_legs(walk)
    if not legs:
        raise SurveyInputError("no stop recorded yet: tap a zone, stand there ~30 s, then Done")
    outcome = calibrate(session, walk.event_id, walk.badge, legs, created_by=created_by, now=now)
    walk.finished_at = now
    walk.calibration_id = outcome.row.id if outcome.row is not None else None
    session.add(walk)
    session.flush()
    return outcome


def surveyed_seconds(walk: SurveyWalk, now: float) -> dict[str, float]:
    """Seconds stood in each zone so far (the open stop counted up to now); aisle spots under ``""``."""
    out: dict[str, float] = {}
    legs: list[dict[str, Any]] = list(walk.legs)
    if walk.open_leg is not None:
        legs.append({**walk.open_leg, "ended_at": now})
    for leg in legs:
        key = leg["zone_id"] or ""
        out[key] = out.get(key, 0.0) + max(0.0, float(leg["ended_at"]) - float(leg["started_at"]))
    return out


def badge_heard(session: Session, walk: SurveyWalk, now: float) -> BadgeHeard:
    """What the phone page shows about the badge, in one query over at most the last ``LOOKBACK_S``.

    Bounded on purpose: the page asks every 2 s, and sightings of the whole event are read by time (the badge's
    beacon has no index: one on every sighting would cost ingest). Measured on SQLite with 500 other badges in
    the hall (3 scanners each, every 2 s; 676k rows in 15 minutes): this query 35-42 ms, while reading the
    whole 15 minutes for the fit takes 0.3-0.6 s (once, at Finish).
    """
    since = max(walk.started_at, now - LOOKBACK_S)
    here = float(walk.open_leg["started_at"]) if walk.open_leg is not None else float("inf")
    at = col(Touchpoint.occurred_at)
    count, last, scanners = session.exec(
        select(
            func.count(case((at >= here, 1))),
            func.max(at),
            func.count(func.distinct(case((at >= now - RECENT_S, Touchpoint.device_id)))),
        ).where(
            col(Touchpoint.event_id) == walk.event_id,
            at >= since,
            at <= now,
            col(Touchpoint.type) == TouchpointType.SIGHTING.value,
            col(Touchpoint.beacon_id) == walk.badge,
        )
    ).one()
    return BadgeHeard(int(scanners), int(count), None if last is None else float(last))
