"""Radio map specifications: range-limited storage that still equals the dense map wherever it is used.

A hall of booths on a 12 m pitch, one scanner in the middle of each (like `touchpoints bench ingest`'s venue),
with a row of rooms so that walls count.
"""

from __future__ import annotations

import math

import pytest

from server.domain.model import Scanner, Zone, ZoneKind
from server.domain.presence import PresenceParams
from server.domain.radio_map import RadioMap, _Shared, expected_reading


def hall(side: int, rooms: int = 0) -> tuple[list[Zone], list[Scanner]]:
    """``side`` x ``side`` 6 x 6 m zones 12 m apart, the first ``rooms`` of them ROOMs, a scanner in each."""
    zones = [
        Zone(f"zone-{d}", ZoneKind.ROOM if d < rooms else ZoneKind.BOOTH, (d % side) * 12.0, (d // side) * 12.0, 6, 6)
        for d in range(side * side)
    ]
    scanners = [Scanner(f"scan-{d}", f"zone-{d}", z.x + 3, z.y + 3) for d, z in enumerate(zones)]
    return zones, scanners


def dense_silence(
    p: PresenceParams, zones: list[Zone], s: Scanner, spot: tuple[float, float], zone: str | None
) -> float:
    """What the dense map stored: the silence cost of a spot, distance capped at map_range_m, walls for rooms."""
    assert s.x is not None and s.y is not None
    rooms = {z.id for z in zones if z.kind == ZoneKind.ROOM}
    walls = 0 if zone == s.zone_id else (s.zone_id in rooms) + (zone in rooms)
    d = min(math.hypot(spot[0] - s.x, spot[1] - s.y), p.map_range_m)
    loss = 10 * p.path_loss_exponent * math.log10(max(math.hypot(d, p.height_diff_m), p.min_distance_m))
    return expected_reading(loss + walls * p.wall_loss_db, s.rssi_offset_db, p)[2]


def test_per_scanner_storage_is_bounded_by_the_spots_in_range() -> None:
    p = PresenceParams(corridor_margin_m=6.0)  # the map this test was sized for (the default is now 0)
    zones, scanners = hall(20)  # 400 scanners over a ~250 m hall: ~16,000 spots
    radio = RadioMap(zones, scanners, p)
    spots = len(radio.spot_zone)
    in_range = (2 * p.map_range_m / p.grid_m + 2) ** 2  # the box around a scanner: 47 x 47 spots
    assert spots > 15_000 and len(radio.coverage) == 400
    for cover in radio.coverage.values():
        assert len(cover.heard) == len(cover.square) == len(cover.silence) == in_range + 3  # + far: 0, 1, 2 walls
        assert all(len(ring[0]) == len(ring[1]) <= in_range for ring in cover.rings)
    assert sum(len(c.heard) for c in radio.coverage.values()) < spots * len(scanners) / 6  # dense: all spots


def test_a_spots_base_cost_is_the_sum_of_every_scanners_silence_near_or_far() -> None:
    p = PresenceParams()
    zones, scanners = hall(8, rooms=8)  # ~100 m across: most scanners are out of range of a given spot
    radio = RadioMap(zones, scanners, p)
    m, g = p.corridor_margin_m, p.grid_m
    cols = int((8 * 12.0 - 6 + 2 * m) / g) + 1
    for i in range(0, len(radio.spot_zone), 97):
        spot = (-m + (i % cols + 0.5) * g, -m + (i // cols + 0.5) * g)
        dense = sum(dense_silence(p, zones, s, spot, radio.spot_zone[i]) for s in scanners)
        assert math.isclose(radio.spot_base[i], dense, rel_tol=1e-9)


def test_a_spots_expected_cost_adds_each_in_range_scanners_chance_of_being_heard_to_the_silences() -> None:
    # A badge truly at a spot pays, per scanner within map_range_m, its cost of hearing plus a reading's noise
    # squared when heard (probability P, the silence cost's inverse) and its silence otherwise; per scanner
    # further away, its far silence (the map takes it as out of range). A down scanner that heard nothing adds
    # nothing, exactly as place_costs leaves its silence out.
    p = PresenceParams()
    zones, scanners = hall(8, rooms=8)
    radio = RadioMap(zones, scanners, p)
    m, g, noise = p.corridor_margin_m, p.grid_m, p.reading_noise_db**2
    cols = int((8 * 12.0 - 6 + 2 * m) / g) + 1
    rooms = {z.id for z in zones if z.kind == ZoneKind.ROOM}

    def expected(s: Scanner, spot: tuple[float, float], zone: str | None) -> float:
        assert s.x is not None and s.y is not None
        d = math.hypot(spot[0] - s.x, spot[1] - s.y)
        if d >= p.map_range_m:
            return dense_silence(p, zones, s, spot, zone)
        walls = 0 if zone == s.zone_id else (s.zone_id in rooms) + (zone in rooms)
        loss = 10 * p.path_loss_exponent * math.log10(math.hypot(d, p.height_diff_m)) + walls * p.wall_loss_db
        _, heard_cost, silence = expected_reading(loss, s.rssi_offset_db, p)
        heard = 1 - math.exp(-silence / (2 * noise))
        return heard * (heard_cost + noise) + (1 - heard) * silence

    down = ["scan-0", "scan-27", "scan-28", "scan-63"]
    spots = list(range(0, len(radio.spot_zone), 89))
    got_up, got_down = radio.expected_costs(spots, {}, []), radio.expected_costs(spots, {"scan-27": 0.0}, down)
    for i, up, some_down in zip(spots, got_up, got_down, strict=True):
        spot, zone = (-m + (i % cols + 0.5) * g, -m + (i // cols + 0.5) * g), radio.spot_zone[i]
        assert math.isclose(up, sum(expected(s, spot, zone) for s in scanners), rel_tol=1e-9)
        alive = [s for s in scanners if s.id not in down or s.id == "scan-27"]  # scan-27 heard the badge
        assert math.isclose(some_down, sum(expected(s, spot, zone) for s in alive), rel_tol=1e-9)


def test_scanners_alike_share_their_arrays_and_keep_their_own_spots() -> None:
    p = PresenceParams()
    zones, scanners = hall(16)  # a regular hall: interior scanners sit alike on the grid, edge ones are clipped
    radio = RadioMap(zones, scanners, p)
    boxes = {id(c.heard) for c in radio.coverage.values()}
    rings = {id(c.rings[0][0]) for c in radio.coverage.values()}
    assert len(boxes) < len(scanners) / 3 and len(rings) < len(scanners) / 3
    middle, neighbour = radio.coverage["scan-119"], radio.coverage["scan-120"]  # both well inside the hall
    assert middle.heard is neighbour.heard and middle.square is neighbour.square
    assert middle.silence is neighbour.silence
    ours, theirs = middle.rings[0], neighbour.rings[0]  # the finest map (coarser ones align with the grid)
    assert ours[0] is theirs[0] and ours[2] is theirs[2]  # losses and reaches: shared
    assert ours[1] != theirs[1]  # spot indices: each scanner's own
    corner = radio.coverage["scan-0"]  # clipped by the map's edge: other values
    assert corner.heard is not middle.heard and len(corner.rings[0][0]) < len(middle.rings[0][0])


def test_sharing_changes_no_cost(monkeypatch: pytest.MonkeyPatch) -> None:
    p = PresenceParams()
    zones, scanners = hall(16, rooms=16)  # the first row: rooms
    shared = RadioMap(zones, scanners, p)
    monkeypatch.setattr(_Shared, "__call__", lambda self, *arrays: arrays)  # every scanner its own arrays
    alone = RadioMap(zones, scanners, p)
    assert alone.coverage["scan-119"].heard is not alone.coverage["scan-120"].heard
    assert shared.coverage["scan-119"].heard is shared.coverage["scan-120"].heard
    for first, loss, others in [
        ("scan-119", 12.0, {"scan-120": 30.0, "scan-103": 33.0}),
        ("scan-17", 25.0, {"scan-1": 31.0}),
    ]:
        readings = {first: (loss, 0.0)} | {k: (v, 0.0) for k, v in others.items()}
        down = ["scan-135", "scan-0"]
        assert shared.place_costs(first, loss, readings, down) == alone.place_costs(first, loss, readings, down)
