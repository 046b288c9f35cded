"""The dashboard's confidence signs come from the calibration and the fleet's state, zone by zone."""

from __future__ import annotations

from server.domain.model import Scanner, Zone, ZoneKind
from server.domain.presence_confidence import ScannerSign, UnsureZone, scanner_signs, unsure_zones
from server.domain.survey import Calibration, ScannerCalibration, ScannerStatus, ZoneFingerprint

ZONES = [
    Zone("hall", ZoneKind.ROOM, 0, 0, 20, 20),
    Zone("booth-1", ZoneKind.BOOTH, 20, 0, 5, 5),
    Zone("booth-2", ZoneKind.BOOTH, 25, 0, 5, 5),
    Zone("lounge", ZoneKind.LOUNGE, 30, 0, 5, 5),
]
SCANNERS = [Scanner("h1", "hall", 5, 5), Scanner("h2", "hall", 15, 5), Scanner("b1", "booth-1", 22, 2),
            Scanner("b2", "booth-2", 27, 2)]  # fmt: skip


def fitted(scanner_id: str, status: ScannerStatus = ScannerStatus.OK, note: str = "") -> ScannerCalibration:
    return ScannerCalibration(scanner_id, -60.0, 2.3, 12.0, 3.0, 50, status, note)


def fingerprint(zone_id: str) -> ZoneFingerprint:
    return ZoneFingerprint(zone_id, {"h1": -70.0}, {"h1": 4.0}, {"h1": 0.9}, 12)


CALIBRATION = Calibration(
    fitted_at=1000.0,
    scanners={
        "h1": fitted("h1"),
        "h2": fitted("h2", ScannerStatus.DEAD, "never heard the badge"),
        "b1": fitted("b1", ScannerStatus.MISPLACED),
        "b2": fitted("b2"),
    },
    fingerprints={"hall": fingerprint("hall"), "booth-1": fingerprint("booth-1"), "lounge": fingerprint("lounge")},
)


def test_an_uncalibrated_venue_has_uncalibrated_scanners_and_only_fleet_reasons():
    signs = scanner_signs(SCANNERS, None, offline={"b2"})
    assert [(s.scanner_id, s.sign, s.online) for s in signs] == [
        ("b1", ScannerSign.UNCALIBRATED, True),
        ("b2", ScannerSign.UNCALIBRATED, False),
        ("h1", ScannerSign.UNCALIBRATED, True),
        ("h2", ScannerSign.UNCALIBRATED, True),
    ]
    assert unsure_zones(ZONES, SCANNERS, None, offline={"b2"}) == [
        UnsureZone("booth-2", ("its scanners are offline: b2",)),
        UnsureZone("lounge", ("no scanner of its own",)),
    ]


def test_a_calibrated_venue_names_dead_misplaced_and_unsurveyed_zones():
    signs = {s.scanner_id: (s.sign, s.note) for s in scanner_signs(SCANNERS, CALIBRATION, offline=set())}
    assert signs == {
        "h1": (ScannerSign.CALIBRATED, ""),
        "h2": (ScannerSign.DEAD, "never heard the badge"),
        "b1": (ScannerSign.MISPLACED, ""),
        "b2": (ScannerSign.CALIBRATED, ""),
    }
    assert unsure_zones(ZONES, SCANNERS, CALIBRATION, offline=set()) == [
        UnsureZone("booth-1", ("none of its scanners is calibrated: b1 misplaced",)),
        UnsureZone("booth-2", ("the survey walk took too few readings here",)),
        UnsureZone("lounge", ("no scanner of its own",)),
    ]


def test_a_zone_with_one_calibrated_online_scanner_is_sure():
    # The hall has a dead scanner beside a fitted one: the fitted one carries it.
    zones = unsure_zones(ZONES, SCANNERS, CALIBRATION, offline=set())
    assert "hall" not in {z.zone_id for z in zones}
    assert "hall" in {z.zone_id for z in unsure_zones(ZONES, SCANNERS, CALIBRATION, offline={"h1", "h2"})}


def test_a_scanner_added_after_the_walk_is_uncalibrated():
    later = [*SCANNERS, Scanner("l1", "lounge", 32, 2)]
    assert {s.scanner_id: s.sign for s in scanner_signs(later, CALIBRATION, set())}["l1"] is ScannerSign.UNCALIBRATED
    assert unsure_zones(ZONES, later, CALIBRATION, offline=set())[-1] == UnsureZone(
        "lounge", ("none of its scanners is calibrated: l1 uncalibrated",)
    )
