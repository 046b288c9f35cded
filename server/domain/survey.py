"""A survey walk and the calibration fitted from it: the values presence calibration works with.

Pure values, no logic. Staff walk a reference badge (or a phone in the event app) through every zone while the
edge agents record as usual; for each stop they note where they stood and when (a :class:`SurveyLeg`). The
reference badge's sightings over the walk, matched to the legs by time, say how each scanner really hears a
badge at known places: that fits each scanner's gain, path-loss exponent and reach
(:class:`ScannerCalibration`) and, per zone, what a badge inside it reads (:class:`ZoneFingerprint`).

Example: a 15-minute walk of a 60 x 40 m hall is ~25 legs of ~30 s, one per booth, room, lounge and entrance,
plus a few corridor spots (``zone_id=None``) so presence also learns what "in the aisle" reads like.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


@dataclass(frozen=True, slots=True)
class SurveyLeg:
    """The reference badge was inside ``zone_id`` (None = a corridor spot) from ``started_at`` to ``ended_at``.

    ``x``/``y`` (metres on the floor plan) are where it stood when staff marked a spot; without them the leg
    says only "somewhere in this zone" (staff walk slowly around inside it).
    """

    zone_id: str | None
    started_at: float
    ended_at: float
    x: float | None = None
    y: float | None = None


class ScannerStatus(StrEnum):
    OK = "ok"  # fitted from enough readings
    DEFAULT = "default"  # too few readings: the documented defaults stay in force for this scanner
    MISPLACED = "misplaced"  # hears best far from where the venue file puts it
    DEAD = "dead"  # never heard the reference badge during the walk


@dataclass(frozen=True, slots=True)
class ScannerCalibration:
    """How one scanner hears: ``rssi = gain_db - 10 * exponent * log10(d)`` at distance ``d`` metres.

    ``gain_db`` is the RSSI it reports at 1 m (with its radio, enclosure and mounting); ``reach_m`` the distance
    beyond which it hears the badge in under half of its scan windows; ``residual_db`` the RMS error of the
    fit, i.e. how much a single reading is worth.
    """

    scanner_id: str
    gain_db: float
    exponent: float
    reach_m: float
    residual_db: float
    readings: int
    status: ScannerStatus = ScannerStatus.OK
    note: str = ""


@dataclass(frozen=True, slots=True)
class ZoneFingerprint:
    """What a badge inside one zone reads: per scanner, mean RSSI, spread and share of windows heard."""

    zone_id: str | None  # None = corridor
    mean_rssi: dict[str, float] = field(default_factory=dict)
    std_rssi: dict[str, float] = field(default_factory=dict)
    heard_share: dict[str, float] = field(default_factory=dict)
    windows: int = 0


@dataclass(frozen=True, slots=True)
class Calibration:
    """The result of one survey walk, stored with the venue and given to presence."""

    fitted_at: float
    scanners: dict[str, ScannerCalibration] = field(default_factory=dict)
    fingerprints: dict[str | None, ZoneFingerprint] = field(default_factory=dict)
    problems: tuple[str, ...] = ()  # named, human-readable: "booth-07: 3 readings, needs 20"
    # What one room wall costs as the walk measured it (None: too few readings through walls, keep the default).
    wall_loss_db: float | None = None
