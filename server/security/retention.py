"""Retention of raw BLE sightings: the most sensitive, least needed data (where someone stood, every 2 s).

Visits, scores and taps are derived or deliberate and kept for the event's analytics; raw sightings only
feed presence while it happens, so they can go after a few days. `touchpoints privacy purge` runs this.
"""

from __future__ import annotations

import logging
import time

from sqlalchemy import Engine, delete
from sqlmodel import col

from server.store.models import Touchpoint, TouchpointType

log = logging.getLogger(__name__)

SECONDS_PER_DAY = 86400.0


def purge_sightings(engine: Engine, keep_days: float, now: float | None = None) -> int:
    """Delete sightings that occurred more than ``keep_days`` ago; returns how many."""
    cutoff = (time.time() if now is None else now) - keep_days * SECONDS_PER_DAY
    statement = delete(Touchpoint).where(
        col(Touchpoint.type) == TouchpointType.SIGHTING, col(Touchpoint.occurred_at) < cutoff
    )
    with engine.begin() as conn:
        deleted = conn.execute(statement).rowcount or 0
    log.info("privacy purge: deleted %d raw sighting(s) that occurred before %.0f", deleted, cutoff)
    return deleted
