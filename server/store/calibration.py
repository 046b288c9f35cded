"""The store side of presence calibration: Calibration <-> JSON, and the venue's calibration history.

The domain values (server/domain/survey.py) know nothing of JSON; this adapter does. The JSON keeps a
``version`` so that a later change of the values can still read what an earlier server stored. Zone
fingerprints are a list, not an object keyed by zone: the corridor's zone is ``None``, which JSON keys cannot be.

History: every fit is a row; ``save_calibration`` makes a usable one the event's only active row in the same
transaction, and leaves the previous active one in force when the new one is not usable.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from server.domain.survey import Calibration, ScannerCalibration, ScannerStatus, ZoneFingerprint
from server.store.survey_models import VenueCalibration

FORMAT_VERSION = 1  # bump when the JSON below changes shape; from_json reads every version it knows


class CalibrationFormatError(ValueError):
    """Stored calibration JSON this server cannot read (a newer version, or damaged)."""


def calibration_to_json(calibration: Calibration) -> dict[str, Any]:
    return {
        "version": FORMAT_VERSION,
        "fitted_at": calibration.fitted_at,
        "scanners": [
            {
                "scanner_id": s.scanner_id,
                "gain_db": s.gain_db,
                "exponent": s.exponent,
                "reach_m": s.reach_m,
                "residual_db": s.residual_db,
                "readings": s.readings,
                "status": s.status.value,
                "note": s.note,
            }
            for s in calibration.scanners.values()
        ],
        "fingerprints": [
            {
                "zone_id": f.zone_id,
                "mean_rssi": dict(f.mean_rssi),
                "std_rssi": dict(f.std_rssi),
                "heard_share": dict(f.heard_share),
                "windows": f.windows,
            }
            for f in calibration.fingerprints.values()
        ],
        "problems": list(calibration.problems),
        "wall_loss_db": calibration.wall_loss_db,
    }


def calibration_from_json(data: dict[str, Any]) -> Calibration:
    version = data.get("version")
    if version != FORMAT_VERSION:
        raise CalibrationFormatError(f"calibration format version {version!r} is not one this server reads")
    try:
        scanners = {
            s["scanner_id"]: ScannerCalibration(
                scanner_id=s["scanner_id"],
                gain_db=float(s["gain_db"]),
                exponent=float(s["exponent"]),
                reach_m=float(s["reach_m"]),
                residual_db=float(s["residual_db"]),
                readings=int(s["readings"]),
                status=ScannerStatus(s["status"]),
                note=str(s.get("note", "")),
            )
            for s in data["scanners"]
        }
        fingerprints = {
            f["zone_id"]: ZoneFingerprint(
                zone_id=f["zone_id"],
                mean_rssi={k: float(v) for k, v in f["mean_rssi"].items()},
                std_rssi={k: float(v) for k, v in f["std_rssi"].items()},
                heard_share={k: float(v) for k, v in f["heard_share"].items()},
                windows=int(f["windows"]),
            )
            for f in data["fingerprints"]
        }
        return Calibration(
            fitted_at=float(data["fitted_at"]),
            scanners=scanners,
            fingerprints=fingerprints,
            problems=tuple(str(p) for p in data["problems"]),
            wall_loss_db=None if data.get("wall_loss_db") is None else float(data["wall_loss_db"]),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise CalibrationFormatError(f"stored calibration is damaged: {exc!r}") from exc


@dataclass(frozen=True, slots=True)
class WalkInfo:
    """Who made the walk, with which badge, over which time: stored beside the calibration."""

    badge: str
    started_at: float
    ended_at: float
    created_by: str = ""


def save_calibration(
    session: Session,
    event_id: str,
    calibration: Calibration,
    walk: WalkInfo,
    *,
    usable: bool,
    now: float | None = None,
) -> VenueCalibration:
    """Store a fit; when ``usable`` it becomes the event's active calibration (the previous one is kept, inactive).

    Flushed, not committed: the caller's transaction decides (the API commits and then tells presence).
    """
    if usable:
        session.exec(
            update(VenueCalibration)
            .where(col(VenueCalibration.event_id) == event_id, col(VenueCalibration.active).is_(True))
            .values(active=False)
        )
    row = VenueCalibration(
        event_id=event_id,
        fitted_at=calibration.fitted_at,
        created_at=time.time() if now is None else now,
        created_by=walk.created_by[:200],
        badge=walk.badge,
        walk_started_at=walk.started_at,
        walk_ended_at=walk.ended_at,
        usable=usable,
        active=usable,
        calibration=calibration_to_json(calibration),
    )
    session.add(row)
    session.flush()
    return row


def active_calibration_row(session: Session, event_id: str) -> VenueCalibration | None:
    query = select(VenueCalibration).where(
        col(VenueCalibration.event_id) == event_id, col(VenueCalibration.active).is_(True)
    )
    return session.exec(query.order_by(col(VenueCalibration.id).desc()).limit(1)).first()


def active_calibration(session: Session, event_id: str) -> Calibration | None:
    """The calibration presence should use for the event, None when the venue was never calibrated."""
    row = active_calibration_row(session, event_id)
    return None if row is None else calibration_from_json(row.calibration)


def calibration_history(session: Session, event_id: str, limit: int = 50) -> list[VenueCalibration]:
    """The event's fits, newest first (usable or not)."""
    query = select(VenueCalibration).where(col(VenueCalibration.event_id) == event_id)
    return list(session.exec(query.order_by(col(VenueCalibration.id).desc()).limit(limit)))
