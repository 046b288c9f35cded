"""Record and replay: raw advertisements go to JSON lines and come back through the very same callback."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from edge_support import T0

from edge.ble import AdvertisementHandler, AdvertRecord, AdvertRecorder, ReplayClock, read_records, replay
from edge.windows import ClosedWindow, WindowAggregator

FEAA = "0000feaa-0000-1000-8000-00805f9b34fb"
IBEACON = bytes.fromhex("0215b9407f30f5f8466eaff925556b57fe6d00010002c5")
EDDYSTONE_UID = bytes.fromhex("00e78b0ca750e7a74e14bd990000000000010000")
EDDYSTONE_TLM = bytes.fromhex("20000bb817800000006400000e10")
SURVEY = [
    AdvertRecord(T0 + 0.25, "C3:00:00:0A:0B:0C", -67, manufacturer_data={76: IBEACON}),
    AdvertRecord(T0 + 0.50, "C3:00:00:0A:0B:0D", -71, service_data={FEAA: EDDYSTONE_UID}, service_uuids=[FEAA]),
    AdvertRecord(T0 + 0.75, "C3:00:00:0A:0B:0D", -73, service_data={FEAA: EDDYSTONE_TLM}, service_uuids=[FEAA]),
    AdvertRecord(T0 + 1.00, "5A:11:22:33:44:55", -50, manufacturer_data={6: bytes.fromhex("030080")}),  # a laptop
    AdvertRecord(T0 + 1.25, "C3:00:00:0A:0B:0C", -61, manufacturer_data={76: IBEACON}),
    AdvertRecord(T0 + 1.50, "C3:00:00:0A:0B:0C", -64, manufacturer_data={76: IBEACON[:-1]}),  # truncated
    AdvertRecord(T0 + 2.25, "C3:00:00:0A:0B:0C", -66, manufacturer_data={76: IBEACON}),
]


def write_survey(path: Path, records: list[AdvertRecord]) -> None:
    path.write_bytes(b"".join(record.to_json() + b"\n" for record in records))


def test_record_format_mirrors_bleaks_advertisement_data(tmp_path: Path) -> None:
    path = tmp_path / "survey.jsonl"
    recorder = AdvertRecorder(path)
    handler = AdvertisementHandler(WindowAggregator(2.0), lambda _: None, clock=lambda: T0 + 0.25, recorder=recorder)
    device = BLEDevice("C3:00:00:0A:0B:0C", None, details=None)
    adv = AdvertisementData(None, {76: IBEACON}, {}, [], None, -67, ())
    handler(device, adv)
    recorder.close()
    assert json.loads(path.read_text()) == {
        "t": 1764000000.25,
        "address": "C3:00:00:0A:0B:0C",
        "rssi": -67,
        "tx_power": None,
        "local_name": None,
        "manufacturer_data": {"76": IBEACON.hex()},
        "service_data": {},
        "service_uuids": [],
    }


def test_replay_yields_the_windows_the_live_callback_yields(tmp_path: Path) -> None:
    path = tmp_path / "survey.jsonl"
    write_survey(path, SURVEY)

    live: list[ClosedWindow] = []
    live_clock = ReplayClock()
    live_handler = AdvertisementHandler(WindowAggregator(2.0), live.append, live_clock)
    for record in SURVEY:
        live_clock.now = record.t
        live_handler(*record.to_bleak())
    live_handler.flush()

    replayed: list[ClosedWindow] = []
    clock = ReplayClock()
    count = replay(read_records(path), AdvertisementHandler(WindowAggregator(2.0), replayed.append, clock), clock, 0)

    assert count == 7
    assert replayed == live
    first, second = replayed
    assert (first.window_start, first.window_end, second.window_start) == (T0, T0 + 2.0, T0 + 2.0)
    assert [(s.beacon_id, s.count, s.rssi, s.battery_mv) for s in first.sightings] == [
        ("eddystone:8b0ca750e7a74e14bd99:000000000001", 1, -71.0, 3000),
        ("ibeacon:b9407f30-f5f8-466e-aff9-25556b57fe6d:1:2", 2, -64.0, None),
    ]
    assert [(s.beacon_id, s.count, s.rssi) for s in second.sightings] == [
        ("ibeacon:b9407f30-f5f8-466e-aff9-25556b57fe6d:1:2", 1, -66.0)
    ]


def test_a_recording_replays_into_an_identical_recording(tmp_path: Path) -> None:
    original, copy = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    write_survey(original, SURVEY)
    clock = ReplayClock()
    recorder = AdvertRecorder(copy)
    replay(
        read_records(original),
        AdvertisementHandler(WindowAggregator(2.0), lambda _: None, clock, recorder),
        clock,
        0,
    )
    recorder.close()
    assert copy.read_bytes() == original.read_bytes()


def test_replay_keeps_recorded_pace_scaled_by_speed(tmp_path: Path) -> None:
    path = tmp_path / "survey.jsonl"
    write_survey(path, SURVEY)  # 2.0 recorded seconds from first to last
    clock = ReplayClock()
    handler = AdvertisementHandler(WindowAggregator(2.0), lambda _: None, clock)
    started = time.monotonic()
    replay(read_records(path), handler, clock, speed=10.0)
    assert 0.2 <= time.monotonic() - started < 1.0


def test_replay_stops_when_asked(tmp_path: Path) -> None:
    path = tmp_path / "survey.jsonl"
    write_survey(path, [SURVEY[0], AdvertRecord(T0 + 3600, "C3:00:00:0A:0B:0C", -60, manufacturer_data={76: IBEACON})])
    clock, stop = ReplayClock(), threading.Event()
    handler = AdvertisementHandler(WindowAggregator(2.0), lambda _: None, clock)
    threading.Timer(0.1, stop.set).start()
    started = time.monotonic()
    assert replay(read_records(path), handler, clock, speed=1.0, stop=stop) == 1
    assert time.monotonic() - started < 2.0


def test_unreadable_lines_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "survey.jsonl"
    path.write_bytes(SURVEY[0].to_json() + b"\n{not json\n\n" + b'{"t": 1}\n' + SURVEY[4].to_json()[:30])
    assert [record.t for record in read_records(path)] == [T0 + 0.25]
