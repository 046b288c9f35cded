"""The advertisement parsers, on real advertisement bytes of every supported format and on junk."""

from __future__ import annotations

import random

import pytest

from edge.beacons import (
    APPLE_COMPANY_ID,
    EDDYSTONE_SERVICE_UUID,
    BeaconFrame,
    TelemetryFrame,
    normalise_filter,
    parse_advertisement,
    parse_altbeacon,
    parse_eddystone,
    parse_ibeacon,
    passes_filter,
)
from edge.protocol import BeaconFormat

# Estimote's default proximity UUID, major 1, minor 2, measured power -59 dBm (0xC5).
IBEACON = bytes.fromhex("0215b9407f30f5f8466eaff925556b57fe6d00010002c5")
# The AltBeacon specification's example, as advertised by Radius Networks (company 0x0118).
ALTBEACON = bytes.fromhex("beac2f234454cf6d4a0fadf2f4911ba9ffa600010002c500")
RADIUS_NETWORKS = 0x0118
# Eddystone-UID: tx@0m -25 dBm (0xE7), namespace 8b0ca750e7a74e14bd99, instance 000000000001, 2 rfu bytes.
EDDYSTONE_UID = bytes.fromhex("00e78b0ca750e7a74e14bd990000000000010000")
# Eddystone-URL: tx@0m -21 dBm (0xEB), scheme 03 "https://", "google", 07 ".com".
EDDYSTONE_URL = bytes.fromhex("10eb03676f6f676c6507")
# Eddystone-TLM: version 0, 3000 mV, 23.5 degC (8.8 fixed point 0x1780), 100 adverts, uptime 3600 x 0.1 s.
EDDYSTONE_TLM = bytes.fromhex("20000bb817800000006400000e10")


def test_ibeacon_yields_uuid_major_minor_and_measured_power() -> None:
    assert parse_ibeacon(IBEACON) == BeaconFrame(
        beacon_id="ibeacon:b9407f30-f5f8-466e-aff9-25556b57fe6d:1:2",
        format=BeaconFormat.IBEACON,
        rssi_1m=-59,
        filter_key="b9407f30-f5f8-466e-aff9-25556b57fe6d",
    )


def test_ibeacon_major_and_minor_are_big_endian_unsigned() -> None:
    frame = parse_ibeacon(IBEACON[:18] + bytes.fromhex("fffe0100b0"))
    assert frame is not None
    assert frame.beacon_id.endswith(":65534:256")
    assert frame.rssi_1m == -80


def test_altbeacon_yields_its_twenty_byte_id_and_reference_rssi() -> None:
    assert parse_altbeacon(ALTBEACON) == BeaconFrame(
        beacon_id="altbeacon:2f234454cf6d4a0fadf2f4911ba9ffa600010002",
        format=BeaconFormat.ALTBEACON,
        rssi_1m=-59,
        filter_key="2f234454-cf6d-4a0f-adf2-f4911ba9ffa6",
    )


def test_eddystone_uid_converts_power_at_0m_to_rssi_at_1m() -> None:
    assert parse_eddystone(EDDYSTONE_UID) == BeaconFrame(
        beacon_id="eddystone:8b0ca750e7a74e14bd99:000000000001",
        format=BeaconFormat.EDDYSTONE_UID,
        rssi_1m=-25 - 41,
        filter_key="8b0ca750e7a74e14bd99",
    )


def test_eddystone_uid_without_its_reserved_bytes_is_accepted() -> None:
    frame = parse_eddystone(EDDYSTONE_UID[:18])
    assert frame is not None and frame.beacon_id == "eddystone:8b0ca750e7a74e14bd99:000000000001"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("encoded", "url"),
    [
        (EDDYSTONE_URL, "https://google.com"),
        (bytes.fromhex("10 00 00") + b"example" + bytes.fromhex("00"), "http://www.example.com/"),
        (
            bytes.fromhex("10 00 01") + b"ev" + bytes.fromhex("08") + b"x" + bytes.fromhex("0d"),
            "https://www.ev.orgx.gov",
        ),
        (bytes.fromhex("10 00 02") + b"a.b/c?d=1", "http://a.b/c?d=1"),
    ],
)
def test_eddystone_url_expands_scheme_and_suffix_codes(encoded: bytes, url: str) -> None:
    frame = parse_eddystone(encoded)
    assert isinstance(frame, BeaconFrame)
    assert (frame.beacon_id, frame.format) == (f"url:{url}", BeaconFormat.EDDYSTONE_URL)


def test_eddystone_tlm_reports_battery_temperature_count_and_uptime() -> None:
    assert parse_eddystone(EDDYSTONE_TLM) == TelemetryFrame(
        battery_mv=3000, temperature_c=23.5, adv_count=100, uptime_s=360.0
    )


def test_eddystone_tlm_unknown_values_are_none() -> None:
    tlm = bytes.fromhex("20 00 0000 8000 00000001 00000001")
    assert parse_eddystone(tlm) == TelemetryFrame(battery_mv=None, temperature_c=None, adv_count=1, uptime_s=0.1)


def test_eddystone_tlm_negative_temperature() -> None:
    frame = parse_eddystone(bytes.fromhex("20 00 0bb8 fe80 00000000 00000000"))
    assert isinstance(frame, TelemetryFrame) and frame.temperature_c == -1.5


@pytest.mark.parametrize(
    "payload",
    [
        IBEACON[:-1],  # truncated
        IBEACON + b"\x00",  # too long
        b"\x02\x16" + IBEACON[2:],  # wrong length byte
        b"\x10\x05\x01\x18\x44\x1a\x2b",  # Apple "nearby info": an iPhone, not a beacon
        b"",
    ],
)
def test_ibeacon_rejects_malformed_and_foreign_apple_data(payload: bytes) -> None:
    assert parse_ibeacon(payload) is None


@pytest.mark.parametrize("payload", [ALTBEACON[:-1], ALTBEACON + b"\x00", b"\xac\xbe" + ALTBEACON[2:], b"\xbe"])
def test_altbeacon_rejects_malformed_data(payload: bytes) -> None:
    assert parse_altbeacon(payload) is None


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x00",
        EDDYSTONE_UID[:17],  # truncated UID
        EDDYSTONE_UID + b"\x00",  # UID of 21 bytes
        bytes.fromhex("10 eb 04") + b"google",  # URL scheme 4 does not exist
        bytes.fromhex("10 eb 03"),  # URL without a URL
        bytes.fromhex("10 eb 03") + b"goo gle",  # 0x20 is reserved
        bytes.fromhex("10 eb 03 ff"),  # 0xff is reserved
        bytes.fromhex("10 eb 03") + b"a" * 18,  # longer than the 17 bytes an advert can hold
        EDDYSTONE_TLM[:-1],  # truncated TLM
        bytes.fromhex("20 01") + bytes(16),  # encrypted TLM (eTLM)
        bytes.fromhex("30 e7") + bytes(8),  # Eddystone-EID: rotating, not an id we can use
        bytes.fromhex("40 00 00"),  # unknown frame type
    ],
)
def test_eddystone_rejects_malformed_truncated_and_unsupported_frames(data: bytes) -> None:
    assert parse_eddystone(data) is None


def test_advertisement_with_several_sources_yields_every_beacon_frame() -> None:
    frames = parse_advertisement(
        {APPLE_COMPANY_ID: IBEACON, RADIUS_NETWORKS: ALTBEACON},
        {EDDYSTONE_SERVICE_UUID: EDDYSTONE_UID, "0000fe9f-0000-1000-8000-00805f9b34fb": b"\x00" * 20},
    )
    assert [frame.beacon_id for frame in frames if isinstance(frame, BeaconFrame)] == [
        "ibeacon:b9407f30-f5f8-466e-aff9-25556b57fe6d:1:2",
        "altbeacon:2f234454cf6d4a0fadf2f4911ba9ffa600010002",
        "eddystone:8b0ca750e7a74e14bd99:000000000001",
    ]


def test_foreign_advertisements_yield_nothing() -> None:
    microsoft_swift_pair = {0x0006: bytes.fromhex("030080d3c1a1c0ffee")}
    google_fast_pair = {"0000fe2c-0000-1000-8000-00805f9b34fb": bytes.fromhex("00000a")}
    assert parse_advertisement(microsoft_swift_pair, google_fast_pair) == []
    assert parse_advertisement({}, {}) == []


def test_random_bytes_never_raise() -> None:
    rng = random.Random(42)
    for _ in range(3000):
        payload = bytes(rng.randrange(256) for _ in range(rng.randrange(30)))
        prefix = rng.choice([b"", b"\x02\x15", b"\xbe\xac", b"\x00", b"\x10", b"\x20\x00"])
        parse_advertisement({APPLE_COMPANY_ID: prefix + payload}, {EDDYSTONE_SERVICE_UUID: prefix + payload})


def test_allow_list_entries_are_normalised_as_staff_type_them() -> None:
    assert normalise_filter("B9407F30F5F8466EAFF925556B57FE6D") == "b9407f30-f5f8-466e-aff9-25556b57fe6d"
    assert normalise_filter(" b9407f30-F5F8-466e-aff9-25556b57fe6d ") == "b9407f30-f5f8-466e-aff9-25556b57fe6d"
    assert normalise_filter("8B0CA750E7A74E14BD99") == "8b0ca750e7a74e14bd99"


def test_empty_allow_list_passes_everything_and_urls_only_pass_without_one() -> None:
    ibeacon, url = parse_ibeacon(IBEACON), parse_eddystone(EDDYSTONE_URL)
    assert isinstance(ibeacon, BeaconFrame) and isinstance(url, BeaconFrame)
    assert passes_filter(ibeacon, frozenset()) and passes_filter(url, frozenset())
    allowed = frozenset({"b9407f30-f5f8-466e-aff9-25556b57fe6d"})
    assert passes_filter(ibeacon, allowed)
    assert not passes_filter(url, allowed)
    assert not passes_filter(ibeacon, frozenset({"8b0ca750e7a74e14bd99"}))
