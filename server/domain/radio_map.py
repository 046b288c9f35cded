"""The radio map: what every placed scanner reports of a badge at every spot of the floor plan, range-limited.

Pure and precomputed once per floor plan (see :mod:`server.domain.presence` for how it is used).

Spots lie ``grid_m`` apart over the zones plus a corridor margin; each keeps the cost a badge truly there
scores on average (see :meth:`RadioMap.expected_costs`). Beyond ``map_range_m`` the map treats a spot as that
far, so what a scanner reports there no longer depends on the distance, only on the walls in between: none in
the scanner's own zone, else one per ROOM among the scanner's zone and the spot's. Each scanner therefore
keeps values only for a *box* of spots around it (the spots within ``map_range_m`` and the box's corners,
about 47 x 47 at 2 m), and three "far" values (0, 1 or 2 walls) for every other spot. Memory and start-up are
O(scanners x spots in range) plus O(spots), not O(scanners x spots): a 540 m hall with 2,000 scanners is
~76,000 spots but only ~2,200 per scanner.

Example: scanner S at the west end of a 200 m hall, a badge read 3 m from it. Its candidates come from S's
box; a scanner 150 m east that also reported it adds its far value (distance capped at ``map_range_m``) at
every candidate, exactly as a dense map would, without storing 150 m worth of spots.

The decisions equal a dense map's (up to the rounding of sums taken in another order) except where the
strongest reading is so weak (~20 m or further from every scanner) that the dense map's ring also took in
spots beyond ``map_range_m`` from the strongest scanner: those are no longer candidates. A reading weaker
than any spot of the strongest scanner's map (the dense map raised IndexError) takes its farthest spot.
"""

from __future__ import annotations

import hashlib
import math
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Container, Iterable, Mapping, Sequence
from operator import itemgetter
from typing import TYPE_CHECKING, Any, NamedTuple

from server.domain.model import Scanner, Zone, ZoneKind

if TYPE_CHECKING:
    from server.domain.presence_params import PresenceParams

# Calibrated RSSI at 1 m when neither a distance nor a beacon power is known (Apple's iBeacon reference).
DEFAULT_RSSI_1M = -59.0

COARSER_MAPS = (1, 2, 4)  # strides of the radio map's resolutions, finest first

_first = itemgetter(0)
_Cache = dict[tuple[float, int, float, float], tuple[float, float, float, float]]  # (distance, walls, offset, n) ->
_CACHE_MAX = 200_000  # expected_reading results kept while building (regular layouts repeat distances)


def expected_reading(loss: float, offset_db: float, p: PresenceParams) -> tuple[float, float, float]:
    """What a scanner reports of a badge whose mean path loss to it is ``loss``: the loss it reads when
    it hears the badge (censored: only adverts above the sensitivity count), and the costs (dB^2) of
    hearing it and of not hearing it within a reading's age.

    Example: 36 dB from an uncalibrated scanner (-59 dBm at 1 m, -95 dBm at the sensitivity) is heard in
    about half the adverts and then reads ~3 dB too strong."""
    sigma = p.advert_noise_db
    limit = DEFAULT_RSSI_1M - p.sensitivity_dbm - offset_db  # the largest loss the radio still decodes
    a = max((limit - loss) / sigma, -4.0)
    audible = 0.5 * math.erfc(-a / math.sqrt(2))  # Phi(a): share of adverts above the sensitivity
    density = math.exp(-a * a / 2) / math.sqrt(2 * math.pi)
    heard_loss = loss - sigma * density / audible
    per_advert = (1 - p.advert_loss) * audible
    chances = max(1.0, p.reading_max_age_s * p.advert_hz)
    silent = max((1 - per_advert) ** chances, 1e-12)
    scale = -2 * p.reading_noise_db**2
    cap = p.max_silence_db**2
    return heard_loss, min(cap, scale * math.log(max(1 - silent, 1e-12))), min(cap, scale * math.log(silent))


def expected_surplus(heard: float, square: float, silence: float, p: PresenceParams) -> float:
    """What a scanner adds on average, beyond its silence, to the cost of the spot a badge truly stands at
    (dB^2, from the map's own values of that spot: see :class:`Coverage`): it hears the badge with the
    probability its silence cost says, then pays the cost of hearing plus a reading's noise squared.

    Example: 30 m from an uncalibrated scanner a badge is heard within a reading's age ~90 % of the time
    (silence 18.3, hearing 0.9): on average 0.9 * (0.9 + 4) + 0.1 * 18.3 ~ 6.2, i.e. 12 below its silence."""
    noise = p.reading_noise_db**2
    audible = -math.expm1(-silence / (2 * noise))  # the inverse of the silence cost
    return audible * (square - heard * heard + noise)


class _Spots(NamedTuple):
    """The candidates' rows, columns, zones and walls (only looked up when a scanner's box misses some)."""

    rows: Sequence[int]
    cols: Sequence[int]
    zones: Sequence[str | None]
    walled: Sequence[int]
    open_plan: bool  # no candidate in a room: a scanner's far value is the same at all of them


class Coverage:
    """One placed scanner's part of the map: its box of spots (rows from ``r0``, columns from ``c0``, the map's
    uniform box size) with, per spot, the loss it reports when it hears a badge there (``heard``),
    ``heard**2 + cost of hearing - cost of not hearing`` (``square``: a reading's cost is one multiply-add)
    and the cost of not hearing (``silence``), each followed by the same value for spots out of range behind
    0, 1 and 2 walls; and per map resolution its spots on the map sorted by ``heard`` (``rings``: losses,
    spot indices and how many rows or columns each is from the box's centre).

    Arrays equal to another scanner's (a regular layout: same offset from the grid, same walls around, same
    clipping at the map's edge) are that scanner's, shared (see :class:`_Shared`): only the spot indices are
    each scanner's own."""

    __slots__ = ("c0", "heard", "origin", "r0", "rings", "silence", "square", "walled", "x", "y", "zone_id")

    def __init__(self, s: Scanner, r0: int, c0: int, width: int, walled: int) -> None:
        assert s.x is not None and s.y is not None
        self.x, self.y, zone_id = s.x, s.y, s.zone_id
        self.r0, self.c0, self.origin = r0, c0, r0 * width + c0
        self.zone_id, self.walled = zone_id, walled
        self.heard, self.square, self.silence = array("d"), array("d"), array("d")
        self.rings: list[tuple[array[float], array[int], array[int]]] = []


class _Shared:
    """Stores each distinct group of arrays once (by a digest of their contents, confirmed by comparing them).

    Example: 2,000 booths on a 12 m pitch with a scanner in the middle of each have a few dozen distinct
    boxes (the interior ones are all alike; near the map's edge the clipping differs), so the map takes a few
    MB instead of ~200 MB. An irregular layout shares nothing: ~87 KB per scanner (2,000: ~175 MB)."""

    def __init__(self) -> None:
        self._seen: dict[bytes, tuple[array[Any], ...]] = {}

    def __call__(self, *arrays: array[Any]) -> tuple[array[Any], ...]:
        digest = hashlib.blake2b(digest_size=16)
        for values in arrays:
            digest.update(f"{values.typecode}{len(values)};".encode())
            digest.update(values)
        key = digest.digest()
        known = self._seen.setdefault(key, arrays)
        return known if all(a == b for a, b in zip(known, arrays, strict=True)) else arrays


class RadioMap:
    """Spots (zone, base cost) and per placed scanner its :class:`Coverage`; :meth:`place_costs` scores the
    candidate spots of a badge's readings."""

    def __init__(
        self,
        zones: Sequence[Zone],
        placed: Sequence[Scanner],
        params: PresenceParams,
        exponents: Mapping[str, float] | None = None,
        wall_loss_db: float | None = None,
    ) -> None:
        """``exponents`` (scanner id -> path-loss exponent) and ``wall_loss_db`` come from a survey walk's
        calibration (:mod:`server.domain.calibration`); without them every scanner uses the params' values."""
        p = self.params = params
        self._exponents = dict(exponents or {})
        self._wall_loss_db = p.wall_loss_db if wall_loss_db is None else wall_loss_db
        self._walled_zones = {z.id for z in zones if z.kind == ZoneKind.ROOM}
        self.spot_zone: list[str | None] = []
        self.spot_base = array("d")  # the cost of a spot when no scanner hears the badge: all silences
        self.spot_expected = array("d")  # the cost a badge truly at a spot scores on average (see expected_costs)
        self.spot_row, self.spot_col, self.spot_key = array("i"), array("i"), array("q")
        self.spot_walled = array("b")
        self.coverage: dict[str, Coverage] = {}
        self.box = int(2 * p.map_range_m / p.grid_m) + 2  # a box's rows and columns: covers map_range_m around
        self._corner = (0.0, 0.0)  # the map's first spot's corner (x, y)
        if not zones or not placed:
            return
        m, g = p.corridor_margin_m, p.grid_m
        x0, y0 = self._corner = min(z.x for z in zones) - m, min(z.y for z in zones) - m
        x1, y1 = max(z.x + z.width for z in zones) + m, max(z.y + z.height for z in zones) + m
        rows, cols = int((y1 - y0) / g) + 1, int((x1 - x0) / g) + 1
        self._label_spots(zones, x0, y0, rows, cols)
        width = self.box
        self.spot_row = array("i", (i // cols for i in range(rows * cols)))
        self.spot_col = array("i", (i % cols for i in range(rows * cols)))
        self.spot_key = array("q", (r * width + c for r, c in zip(self.spot_row, self.spot_col, strict=True)))
        self.spot_walled = array("b", (1 if z in self._walled_zones else 0 for z in self.spot_zone))
        far_total = [0.0, 0.0]  # per walled class of a spot: every scanner's silence there when out of range
        room_extra: dict[str | None, float] = {}  # ... but a room's own scanners are not behind a wall in it
        cache: _Cache = {}
        shared = _Shared()
        base = array("d", bytes(8 * rows * cols))  # the in-range scanners' silences, minus their far value
        surplus = array("d", bytes(8 * rows * cols))  # ... and their expected surpluses (see expected_costs)
        for s in placed:
            cover = self.coverage[s.id] = self._cover(s, (rows, cols), (base, surplus), cache)
            cover.heard, cover.square, cover.silence = shared(cover.heard, cover.square, cover.silence)
            far_silence = cover.silence[width * width :]
            for w in (0, 1):
                far_total[w] += far_silence[cover.walled + w]
            if cover.walled:
                room_extra[s.zone_id] = room_extra.get(s.zone_id, 0.0) + far_silence[0] - far_silence[2]
        spot_classes = zip(base, self.spot_walled, self.spot_zone, strict=True)
        self.spot_base = array("d", (b + far_total[w] + room_extra.get(z, 0.0) for b, w, z in spot_classes))
        self.spot_expected = array("d", (b + e for b, e in zip(self.spot_base, surplus, strict=True)))
        for cover in self.coverage.values():
            self._add_rings(cover, rows, cols, shared)

    def _cover(
        self, s: Scanner, shape: tuple[int, int], sums: tuple[array[float], array[float]], cache: _Cache
    ) -> Coverage:
        """A scanner's box of values; adds its in-range silences (minus its far value) and its expected
        surpluses within ``map_range_m`` to ``sums`` (base, surplus)."""
        p, g, width = self.params, self.params.grid_m, self.box
        assert s.x is not None and s.y is not None
        (x0, y0), (rows, cols), (base, surplus) = self._corner, shape, sums
        reach = p.map_range_m / g
        u, v = (s.x - x0) / g - 0.5, (s.y - y0) / g - 0.5  # the scanner in column / row units
        cover = Coverage(s, math.floor(v - reach), math.floor(u - reach), width, self._walled(s.zone_id))
        exponent = self._exponents.get(s.id, p.path_loss_exponent)
        far = [self._reading(p.map_range_m, w, s.rssi_offset_db, exponent, cache) for w in range(3)]
        heard, square, silence = cover.heard, cover.square, cover.silence
        for n, values in enumerate((heard, square, silence)):
            values.frombytes(bytes(8 * width * width))
            values.extend(f[n] for f in far)
        for row in range(max(0, cover.r0), min(rows, cover.r0 + width)):
            y = y0 + (row + 0.5) * g
            for col in range(max(0, cover.c0), min(cols, cover.c0 + width)):
                x = x0 + (col + 0.5) * g
                i = row * cols + col
                walls = 0 if self.spot_zone[i] == s.zone_id else cover.walled + self.spot_walled[i]
                d = min(math.hypot(x - s.x, y - s.y), p.map_range_m)
                h, k, q, e = self._reading(d, walls, s.rssi_offset_db, exponent, cache)
                j = (row - cover.r0) * width + col - cover.c0
                heard[j], square[j], silence[j] = h, k, q
                base[i] += q - far[walls][2]
                surplus[i] += e
        return cover

    def _add_rings(self, cover: Coverage, rows: int, cols: int, shared: _Shared) -> None:
        """Per resolution, the box's spots on the map sorted by the loss the scanner reports there (a stable
        sort from row-major order: ties keep the dense map's order), with what the ring search needs."""
        width, half = self.box, self.box // 2
        heard, key = cover.heard, self.spot_key
        for stride in COARSER_MAPS:
            first_row, first_col = (max(0, start + (-start) % stride) for start in (cover.r0, cover.c0))
            spots = [row * cols + col for row in range(first_row, min(rows, cover.r0 + width), stride)
                     for col in range(first_col, min(cols, cover.c0 + width), stride)]  # fmt: skip
            ring = sorted(((heard[key[i] - cover.origin], i) for i in spots), key=_first)
            losses, reaches = shared(
                array("d", (h for h, _ in ring)),
                array("B", (max(abs(i // cols - cover.r0 - half), abs(i % cols - cover.c0 - half)) for _, i in ring)),
            )  # fmt: skip
            cover.rings.append((losses, array("i", (i for _, i in ring)), reaches))

    def _label_spots(self, zones: Sequence[Zone], x0: float, y0: float, rows: int, cols: int) -> None:
        """Each spot's zone: the first zone (in plan order) that contains it, else None (a corridor)."""
        g = self.params.grid_m
        label: list[str | None] = [None] * (rows * cols)
        taken = bytearray(rows * cols)
        for z in zones:  # only the spots around each zone are tested: O(spots + zones), not their product
            c_lo, c_hi = max(0, math.floor((z.x - x0) / g) - 1), min(cols, math.ceil((z.x + z.width - x0) / g) + 1)
            r_lo, r_hi = max(0, math.floor((z.y - y0) / g) - 1), min(rows, math.ceil((z.y + z.height - y0) / g) + 1)
            for row in range(r_lo, r_hi):
                y = y0 + (row + 0.5) * g
                for col in range(c_lo, c_hi):
                    i = row * cols + col
                    if not taken[i] and z.contains(x0 + (col + 0.5) * g, y):
                        label[i], taken[i] = z.id, 1
        self.spot_zone = label

    def _walled(self, zone_id: str | None) -> int:
        return 1 if zone_id in self._walled_zones else 0

    def _reading(
        self, distance_m: float, walls: int, offset_db: float, exponent: float, cache: _Cache
    ) -> tuple[float, float, float, float]:
        """(heard, square, silence) of a spot this far, behind this many walls (see :class:`Coverage`), and its
        expected surplus (none at ``map_range_m``: the map takes every scanner as out of range there)."""
        key = (distance_m, walls, offset_db, exponent)
        hit = cache.get(key)
        if hit is None:
            if len(cache) >= _CACHE_MAX:
                cache.clear()
            p = self.params
            radio_m = max(math.hypot(distance_m, p.height_diff_m), p.min_distance_m)
            loss = 10 * exponent * math.log10(radio_m) + walls * self._wall_loss_db
            heard, heard_cost, silent_cost = expected_reading(loss, offset_db, p)
            square = heard * heard + heard_cost - silent_cost
            surplus = expected_surplus(heard, square, silent_cost, p) if distance_m < p.map_range_m else 0.0
            hit = cache[key] = (heard, square, silent_cost, surplus)
        return hit

    # --- the hot path ------------------------------------------------------------------------------------
    def place_costs(
        self, first_id: str, first_loss: float, readings: dict[str, tuple[float, float]], down: Iterable[str]
    ) -> tuple[tuple[str | None, ...], list[float], float, Sequence[int]] | None:
        """The candidate spots of a badge whose strongest reading is ``first_loss`` from ``first_id``: their
        zones and costs (dB^2, without the sum of the readings' squares, returned apart as the third value),
        and the spots themselves (for :meth:`expected_costs`). None when ``first_id`` is not on the map.

        Candidates are the spots of the finest resolution whose ring (``ring_db`` around the strongest reading)
        holds at most ``max_candidates``; each reading and each silence of a down scanner adds its value at
        every candidate: from its box when the candidate is in it, else its far value."""
        p = self.params
        coverage = self.coverage
        first = coverage.get(first_id)
        if first is None:
            return None
        for ring in first.rings:  # the finest map whose ring is small enough
            losses = ring[0]
            center = max(first_loss, losses[0])  # nearer than any spot: the spots nearest the scanner
            lo = bisect_left(losses, center - p.ring_db)
            hi = bisect_right(losses, center + p.ring_db)
            if hi - lo <= p.max_candidates:
                break
        losses, spots, reaches = ring
        if lo >= hi:  # the reading falls between two spots' losses: the next spot out (or the farthest one)
            lo = min(lo, len(spots) - 1)
            hi = lo + 1
        pick = itemgetter(*spots[lo:hi]) if hi - lo > 1 else (lambda seq, i=spots[lo]: (seq[i],))
        keys = pick(self.spot_key)
        twice, origin, square = 2 * first_loss, first.origin, first.square  # the strongest reading, in ring order
        base_losses = zip(pick(self.spot_base), keys, losses[lo:hi], strict=True)
        costs = [b + square[k - origin] - twice * e for b, k, e in base_losses]
        width, half = self.box, self.box // 2
        reach = max(reaches[lo:hi])  # the candidates lie within this many rows and columns of the box's centre
        top, left = first.r0 + half - reach, first.c0 + half - reach
        bottom, right = top + 2 * reach, left + 2 * reach
        spots_at: _Spots | None = None  # the candidates' rows, columns, zones and walls: only when needed
        far = width * width  # a box array's far values follow its spots: far + number of walls
        constant = first_loss * first_loss  # the strongest reading's square, and what every candidate shares
        cap2 = p.robust_cap_db**2
        for scanner_id, (loss, _) in readings.items():
            cover = coverage.get(scanner_id)
            if cover is None or cover is first:  # no position: its reading cannot be placed on the map
                continue
            twice, l2 = 2 * loss, loss * loss  # robust: a residual costs at most cap2 (see robust_cap_db)
            r0, c0, square, heard = cover.r0, cover.c0, cover.square, cover.heard
            if r0 <= top and bottom < r0 + width and c0 <= left and right < c0 + width:  # all in its box
                o = cover.origin
                costs = [c + square[k - o]
                         + (l2 - twice * h if (d := loss - (h := heard[k - o])) * d < cap2 else cap2 - h * h)
                         for c, k in zip(costs, keys, strict=False)]  # fmt: skip
                continue
            if spots_at is None:
                spots_at = self._spots(pick)
            if not cover.walled and spots_at.open_plan:  # out of its range, every candidate gets one value
                out = square[far] + min(cap2 - heard[far] ** 2, l2 - twice * heard[far])
                r1, c1, o = r0 + width, c0 + width, cover.origin
                if bottom < r0 or top >= r1 or right < c0 or left >= c1:  # out of range of every candidate
                    constant += out
                elif r0 <= top and bottom < r1:  # only some columns are out of range
                    costs = [c + square[k - o]
                             + (l2 - twice * h if (d := loss - (h := heard[k - o])) * d < cap2 else cap2 - h * h)
                             if c0 <= col < c1 else c + out
                             for c, k, col in zip(costs, keys, spots_at.cols, strict=False)]  # fmt: skip
                elif c0 <= left and right < c1:  # only some rows
                    costs = [c + square[k - o]
                             + (l2 - twice * h if (d := loss - (h := heard[k - o])) * d < cap2 else cap2 - h * h)
                             if r0 <= row < r1 else c + out
                             for c, k, row in zip(costs, keys, spots_at.rows, strict=False)]  # fmt: skip
                else:
                    rows_cols = zip(costs, keys, spots_at.rows, spots_at.cols, strict=False)
                    costs = [c + square[k - o]
                             + (l2 - twice * h if (d := loss - (h := heard[k - o])) * d < cap2 else cap2 - h * h)
                             if r0 <= row < r1 and c0 <= col < c1 else c + out
                             for c, k, row, col in rows_cols]  # fmt: skip
                continue
            at = self._indices(cover, keys, spots_at)
            costs = [
                c + square[j] + (l2 - twice * h if (d := loss - (h := heard[j])) * d < cap2 else cap2 - h * h)
                for c, j in zip(costs, at, strict=False)
            ]
        for scanner_id in down:  # a scanner that is down is silent everywhere: no evidence
            cover = coverage.get(scanner_id)
            if cover is None or scanner_id in readings:
                continue
            r0, c0, silence = cover.r0, cover.c0, cover.silence
            if r0 <= top and bottom < r0 + width and c0 <= left and right < c0 + width:  # all in its box
                o = cover.origin
                costs = [c - silence[k - o] for c, k in zip(costs, keys, strict=False)]
                continue
            if spots_at is None:
                spots_at = self._spots(pick)
            if (not cover.walled and spots_at.open_plan
                    and (bottom < r0 or top >= r0 + width or right < c0 or left >= c0 + width)):  # fmt: skip
                constant -= silence[far]  # out of range of every candidate (at first every scanner is down)
                continue
            at = self._indices(cover, keys, spots_at)
            costs = [c - silence[j] for c, j in zip(costs, at, strict=False)]
        return pick(self.spot_zone), costs, constant, spots[lo:hi]

    def expected_costs(self, spots: Sequence[int], readings: Container[str], down: Iterable[str]) -> list[float]:
        """What a badge truly standing at each of ``spots`` scores on average (dB^2, comparable with a cost of
        :meth:`place_costs` plus its third value): every scanner's silence, plus for each scanner within
        ``map_range_m`` its :func:`expected_surplus`; a down scanner that heard nothing adds nothing.

        A cost is a sum over every scanner (-2 * noise^2 * log-likelihood), so even the true spot's grows with
        the scanners around: each one in earshot adds a reading's noise and its odds of being heard or missed,
        each one out of range its far silence. Presence judges a zone by the cost beyond this, alike in small
        and big, sparse and dense halls. Example: in the middle booth of a 9 x 9 hall with a scanner every 12 m
        a badge heard by the 37 scanners likelier to hear it than not scores 211 dB^2 (the simulator's readings
        ~350), 398 expected; in a 21 x 21 hall 1,444 and 1,631 (the far silences); the enter gate is 144."""
        out = [self.spot_expected[i] for i in spots]
        if not down:
            return out
        # At start-up, and in a quiet hall, most scanners are down: as in place_costs, one that is out of range
        # of every spot takes the same far silence off each, summed once (value by value, 2,000 down scanners
        # made each decision ~100 times slower and stalled ingest behind presence in `touchpoints bench memory`).
        rows, cols = [self.spot_row[i] for i in spots], [self.spot_col[i] for i in spots]
        top, bottom, left, right = min(rows), max(rows), min(cols), max(cols)
        open_plan = not any(self.spot_walled[i] for i in spots)
        width, far = self.box, self.box * self.box
        far_silences = 0.0
        for scanner_id in down:
            cover = self.coverage.get(scanner_id)
            if cover is None or scanner_id in readings:
                continue
            r0, c0 = cover.r0, cover.c0
            if (not cover.walled and open_plan
                    and (bottom < r0 or top >= r0 + width or right < c0 or left >= c0 + width)):  # fmt: skip
                far_silences += cover.silence[far]
                continue
            out = [e - self._expected_at(cover, i) for e, i in zip(out, spots, strict=True)]
        return [e - far_silences for e in out] if far_silences else out

    def _expected_at(self, cover: Coverage, i: int) -> float:
        """One scanner's share of ``spot_expected`` at spot ``i``: its silence, plus its surplus in range."""
        p, width, far = self.params, self.box, self.box * self.box
        row, col = self.spot_row[i], self.spot_col[i]
        if not (cover.r0 <= row < cover.r0 + width and cover.c0 <= col < cover.c0 + width):  # its far value
            walls = 0 if self.spot_zone[i] == cover.zone_id else cover.walled + self.spot_walled[i]
            return cover.silence[far + walls]
        j = self.spot_key[i] - cover.origin
        silence = cover.silence[j]
        x, y = (corner + (n + 0.5) * p.grid_m for corner, n in zip(self._corner, (col, row), strict=True))
        if math.hypot(x - cover.x, y - cover.y) >= p.map_range_m:
            return silence
        return silence + expected_surplus(cover.heard[j], cover.square[j], silence, p)

    def _spots(self, pick: Callable[[Sequence[Any]], Any]) -> _Spots:
        walled = pick(self.spot_walled)
        return _Spots(pick(self.spot_row), pick(self.spot_col), pick(self.spot_zone), walled, not any(walled))

    def _indices(self, cover: Coverage, keys: Sequence[int], spots: _Spots) -> list[int]:
        """Where a scanner's values for the candidates are in its arrays: in its box, or its far values."""
        r0, c0, o, width = cover.r0, cover.c0, cover.origin, self.box
        r1, c1, far = r0 + width, c0 + width, width * width
        zone_id, walled = cover.zone_id, cover.walled
        candidates = zip(keys, spots.rows, spots.cols, spots.zones, spots.walled, strict=False)
        return [k - o if r0 <= r < r1 and c0 <= c < c1 else far + (0 if z == zone_id else walled + w)
                for k, r, c, z, w in candidates]  # fmt: skip
