"""How far to trust presence, zone by zone: the signs the dashboard shows beside occupancy (issue 14).

Pure, and built only from facts the server has, never from a made-up score: the venue's calibration (which
scanners the survey walk fitted, which it found dead or misplaced, which zones it fingerprinted) and which
scanners are offline now. A zone is *unsure* when one of those facts says presence there rests on little:

- every scanner placed in it is offline (it is judged from neighbours' readings only, through walls);
- it has no scanner of its own (the same, always);
- the venue is calibrated but none of its own scanners was fitted (dead, misplaced or too few readings:
  documented defaults, or a wrong position, stand in for how they really hear);
- the venue is calibrated but the walk took too few readings inside it (no fingerprint).

Example: booth-07's only scanner went offline -> ``UnsureZone("booth-07", ("its scanners are offline: b07",))``.
"""

from __future__ import annotations

from collections.abc import Iterable, Set
from dataclasses import dataclass
from enum import StrEnum

from server.domain.model import Scanner, Zone
from server.domain.survey import Calibration, ScannerStatus


class ScannerSign(StrEnum):
    CALIBRATED = "calibrated"  # fitted from the walk
    DEFAULT = "default"  # too few readings: the documented defaults stand in
    DEAD = "dead"  # never heard the reference badge
    MISPLACED = "misplaced"  # hears best far from where the venue file puts it
    UNCALIBRATED = "uncalibrated"  # the venue has no calibration, or the scanner was added after the walk


_SIGN_OF_STATUS = {
    ScannerStatus.OK: ScannerSign.CALIBRATED,
    ScannerStatus.DEFAULT: ScannerSign.DEFAULT,
    ScannerStatus.DEAD: ScannerSign.DEAD,
    ScannerStatus.MISPLACED: ScannerSign.MISPLACED,
}


@dataclass(frozen=True, slots=True)
class ScannerConfidence:
    scanner_id: str
    zone_id: str | None
    sign: ScannerSign
    online: bool
    note: str = ""


@dataclass(frozen=True, slots=True)
class UnsureZone:
    zone_id: str
    reasons: tuple[str, ...]


def scanner_signs(
    scanners: Iterable[Scanner], calibration: Calibration | None, offline: Set[str]
) -> list[ScannerConfidence]:
    """Per scanner of the venue, its calibration sign and whether it is online, by scanner id."""
    fitted = calibration.scanners if calibration is not None else {}
    out = []
    for s in sorted(scanners, key=lambda s: s.id):
        cal = fitted.get(s.id)
        sign = _SIGN_OF_STATUS[cal.status] if cal is not None else ScannerSign.UNCALIBRATED
        out.append(ScannerConfidence(s.id, s.zone_id, sign, s.id not in offline, cal.note if cal else ""))
    return out


def unsure_zones(
    zones: Iterable[Zone], scanners: Iterable[Scanner], calibration: Calibration | None, offline: Set[str]
) -> list[UnsureZone]:
    """The zones where presence is unsure, each with its reasons, by zone id."""
    signs = scanner_signs(scanners, calibration, offline)
    by_zone: dict[str, list[ScannerConfidence]] = {}
    for s in signs:
        if s.zone_id is not None:
            by_zone.setdefault(s.zone_id, []).append(s)
    out = []
    for zone in sorted(zones, key=lambda z: z.id):
        own = by_zone.get(zone.id, [])
        reasons: list[str] = []
        if not own:
            reasons.append("no scanner of its own")
        elif all(not s.online for s in own):
            reasons.append("its scanners are offline: " + ", ".join(s.scanner_id for s in own))
        if calibration is not None:
            if own and all(s.sign is not ScannerSign.CALIBRATED for s in own):
                named = ", ".join(f"{s.scanner_id} {s.sign}" for s in own)
                reasons.append(f"none of its scanners is calibrated: {named}")
            if zone.id not in calibration.fingerprints:
                reasons.append("the survey walk took too few readings here")
        if reasons:
            out.append(UnsureZone(zone.id, tuple(reasons)))
    return out
