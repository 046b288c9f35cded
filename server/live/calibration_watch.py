"""Which calibration live presence should use, noticed without a restart (issue 14).

A new calibration is stored by the organizer API (which then announces a venue change: presence reloads at
once) or by `touchpoints venue calibrate` in another process (which cannot announce anything): so presence
also asks the store every ``CALIBRATION_POLL_S`` which calibration is active. The question is one indexed
read of a tiny table; the JSON is only read again when the active row changed.
"""

from __future__ import annotations

import logging

from sqlmodel import Session, col, select

from server.domain.survey import Calibration
from server.store.calibration import CalibrationFormatError, calibration_from_json
from server.store.survey_models import VenueCalibration

log = logging.getLogger(__name__)

# A calibration stored from the CLI is in force within this long; staff re-run a walk at most a few times a day.
CALIBRATION_POLL_S = 30.0


class CalibrationWatch:
    """Remembers the active calibration's id; ``check`` says whether it changed and returns the new one."""

    def __init__(self, event_id: str) -> None:
        self.event_id = event_id
        self.active_id: int | None = None
        self.next_check_at = float("-inf")

    def load(self, session: Session) -> Calibration | None:
        """The active calibration now (None: never calibrated, or unreadable: defaults), remembered."""
        row = session.exec(
            select(VenueCalibration)
            .where(col(VenueCalibration.event_id) == self.event_id, col(VenueCalibration.active).is_(True))
            .order_by(col(VenueCalibration.id).desc())
            .limit(1)
        ).first()
        self.active_id = row.id if row is not None else None
        if row is None:
            return None
        try:
            return calibration_from_json(row.calibration)
        except CalibrationFormatError:  # stored by a newer server: presence runs on the defaults, loudly
            log.exception("calibration #%s cannot be read; presence uses the documented defaults", row.id)
            return None

    def due(self, now: float) -> bool:
        """Time to ask the store again (``now``: a monotonic clock)."""
        return now >= self.next_check_at

    def check(self, session: Session, now: float, *, force: bool = False) -> tuple[bool, Calibration | None]:
        """(changed, calibration): at most once per ``CALIBRATION_POLL_S`` of ``now`` (monotonic), or when forced."""
        if not force and now < self.next_check_at:
            return False, None
        self.next_check_at = now + CALIBRATION_POLL_S
        active = session.exec(
            select(VenueCalibration.id)
            .where(col(VenueCalibration.event_id) == self.event_id, col(VenueCalibration.active).is_(True))
            .order_by(col(VenueCalibration.id).desc())
            .limit(1)
        ).first()
        if active == self.active_id:
            return False, None
        return True, self.load(session)
