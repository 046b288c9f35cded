"""Zone fingerprints as evidence: how well a badge's readings match what the survey walk read in each place.

Pure. Why: the radio map predicts readings from distances, and a hall is more than distances: a pillar, a
stand's back wall or a metal truss shadows one scanner by 6 dB or more over a whole area, the same every day.
A survey walk that stood in each zone *measured* that (:class:`~server.domain.survey.ZoneFingerprint`), so a
badge whose readings match booth 8's fingerprint is in booth 8 even if a scanner 9 m away reads louder there
than booth 8's own. Presence adds this cost to the radio map's cost of each place (both in squared dB).

Per scanner, the cost of a place is (each term capped, as the radio map's robust cost):

- heard by the badge and in the fingerprint: the squared difference from the fingerprint's mean, beyond the
  spread the walk saw there (a large zone reads differently across it);
- heard by the badge, never heard there during the walk: as if the walk's reading were at the sensitivity
  (a weak reading may just have been missed);
- silent for the badge, heard there in most windows: ``-2 noise^2 ln(1 - share)``, like the radio map's silence.

Example: booth 8's fingerprint says its scanner reads -74 and booth 7's -71; a badge reading -73 and -70 costs
~2 dB^2 there, and ~40 in booth 7 (whose own scanner it would hear at -60).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

from server.domain.survey import ZoneFingerprint


class FingerprintIndex:
    """Per place (zone id or ``corridor`` key) its fingerprint, ready to be scored against readings."""

    def __init__(
        self,
        fingerprints: Mapping[str | None, ZoneFingerprint],
        corridor_key: str,
        *,
        noise_db: float,
        cap_db: float,
        sensitivity_dbm: float,
        min_share: float,
    ) -> None:
        self._places: dict[str, tuple[dict[str, float], dict[str, float], list[tuple[str, float]]]] = {}
        scale = -2 * noise_db**2
        self._cap2 = cap_db**2
        self._noise2 = noise_db**2
        self._sensitivity = sensitivity_dbm
        for zone_id, fp in fingerprints.items():
            key = corridor_key if zone_id is None else zone_id
            silences = [
                (k, min(self._cap2, scale * math.log(max(1e-6, 1 - share))))
                for k, share in fp.heard_share.items()
                if share >= min_share
            ]
            self._places[key] = (dict(fp.mean_rssi), dict(fp.std_rssi), silences)

    def __contains__(self, place: str) -> bool:
        return place in self._places

    def cost(self, place: str, rssi: Mapping[str, float], down: Iterable[str] = ()) -> float:
        """The cost (dB^2) of ``place`` for readings ``rssi`` (scanner id -> reported RSSI, as the walk's)."""
        means, spreads, silences = self._places[place]
        cap2, floor = self._cap2, self._sensitivity
        total = 0.0
        for scanner_id, value in rssi.items():
            mean = means.get(scanner_id)
            if mean is None:
                d = value - floor
                total += min(cap2, d * d) if d > 0 else 0.0
                continue
            d = abs(value - mean) - spreads.get(scanner_id, 0.0)
            total += min(cap2, d * d) if d > 0 else 0.0
        skip = set(down)
        for scanner_id, silence in silences:
            if scanner_id not in rssi and scanner_id not in skip:
                total += silence
        return total
