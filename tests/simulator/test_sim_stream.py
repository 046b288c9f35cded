"""The generated message stream: deterministic, time-ordered, valid by the contract, numbered per device."""

from __future__ import annotations

import itertools
from collections import Counter

import pytest

from edge.protocol import MODEL_BY_KIND, DeviceMessage, SightingBatch, Status, Tap, topic_for
from server.simulator.movement import Itinerary
from server.simulator.scenario import Scenario, build_scenario
from server.simulator.stream import HEARTBEAT_S, generate_messages, sim_range

HOUR = 3600.0
# 08:30 to 08:50: the morning rush at the entrances.
MORNING = {"start_offset_s": 0.0, "duration_s": 1200.0}


def _stream(
    scenario: Scenario, itineraries: tuple[Itinerary, ...], **kwargs: float
) -> list[tuple[float, DeviceMessage]]:
    return list(generate_messages(scenario, itineraries=itineraries, **kwargs))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def morning(scenario: Scenario, itineraries: tuple[Itinerary, ...]) -> list[tuple[float, DeviceMessage]]:
    return _stream(scenario, itineraries, **MORNING)


def test_same_seed_gives_a_byte_identical_stream(
    scenario: Scenario, morning: list[tuple[float, DeviceMessage]]
) -> None:
    again = list(generate_messages(build_scenario(seed=7, attendees=len(scenario.attendees)), **MORNING))
    assert [(t, m.to_json()) for t, m in again] == [(t, m.to_json()) for t, m in morning]


def test_different_seed_gives_a_different_stream(scenario: Scenario, itineraries: tuple[Itinerary, ...]) -> None:
    a = [m.to_json() for _, m in generate_messages(scenario, itineraries=itineraries, seed=1, duration_s=120)]
    b = [m.to_json() for _, m in generate_messages(scenario, itineraries=itineraries, seed=2, duration_s=120)]
    c = [m.to_json() for _, m in generate_messages(build_scenario(seed=8, attendees=60), duration_s=120)]
    assert a != b  # radio noise differs
    assert a != c  # the conference differs


def test_every_message_validates_against_the_contract(
    scenario: Scenario, morning: list[tuple[float, DeviceMessage]]
) -> None:
    devices = {d.id for d in scenario.devices}
    for _, message in morning:
        model = MODEL_BY_KIND[message.type]
        assert model.model_validate_json(message.to_json()) == message  # round-trips exactly
        assert message.event_id == scenario.event.id and message.device_id in devices
        assert topic_for(message.type, message.event_id, message.device_id).endswith(f"/{message.type}")


def test_messages_come_in_time_order_within_the_range(
    scenario: Scenario, morning: list[tuple[float, DeviceMessage]]
) -> None:
    begin, end = sim_range(scenario, **MORNING)
    times = [t for t, _ in morning]
    assert times == sorted(times)
    assert begin == times[0] and times[-1] <= end == begin + 1200


def test_each_device_numbers_its_messages_from_zero_without_gaps(
    morning: list[tuple[float, DeviceMessage]],
) -> None:
    seqs: dict[str, list[int]] = {}
    for _, message in morning:
        if not isinstance(message, Status):  # status carries no seq
            seqs.setdefault(message.device_id, []).append(message.seq)
    assert seqs
    for device_id, numbers in seqs.items():
        assert numbers == list(range(len(numbers))), device_id


def test_a_later_seq_base_numbers_on_from_there(scenario: Scenario, itineraries: tuple[Itinerary, ...]) -> None:
    stream = generate_messages(scenario, itineraries=itineraries, duration_s=60, seq_base=1000)
    assert min(m.seq for _, m in stream if not isinstance(m, Status)) == 1000


def test_starts_with_every_device_online_and_beats_every_30_s(
    scenario: Scenario, morning: list[tuple[float, DeviceMessage]]
) -> None:
    head = [m for _, m in morning[: len(scenario.devices)]]
    assert all(isinstance(m, Status) and m.state == "online" for m in head)
    assert {m.device_id for m in head} == {d.id for d in scenario.devices}
    beats = Counter(m.device_id for _, m in morning if m.type == "heartbeat")
    assert set(beats.values()) == {1200 / HEARTBEAT_S}


def test_taps_are_sent_by_the_readers_of_the_ground_truth_with_the_badge(
    scenario: Scenario, itineraries: tuple[Itinerary, ...], morning: list[tuple[float, DeviceMessage]]
) -> None:
    begin, end = sim_range(scenario, **MORNING)
    truth = {(tp.at, tp.device_id): tp for it in itineraries for tp in it.taps if begin <= tp.at < end}
    taps = [m for _, m in morning if isinstance(m, Tap)]
    assert sorted((t.captured_at, t.device_id) for t in taps) == sorted(truth)
    check_ins = [t for t in taps if truth[(t.captured_at, t.device_id)].reason == "check_in"]
    assert len(check_ins) > 10  # the morning rush
    assert all(t.device_id.startswith("dev-entrance") for t in check_ins)
    badges = {a.id: (a.badge_uid, a.badge_id) for a in scenario.attendees}
    for tap in taps:
        assert badges[truth[(tap.captured_at, tap.device_id)].attendee_id] == (tap.uid, tap.badge_id)
        assert tap.ndef[0].value == tap.badge_id


def test_batches_cover_one_aligned_window_and_hear_badges_present(
    scenario: Scenario, itineraries: tuple[Itinerary, ...]
) -> None:
    stream = _stream(scenario, itineraries, start_offset_s=2 * HOUR, duration_s=120)
    batches = [m for _, m in stream if isinstance(m, SightingBatch)]
    present = {
        a.beacon_id
        for a, it in zip(scenario.attendees, itineraries, strict=True)
        if it.at(scenario.event.starts_at + 2 * HOUR + 60)
    }
    heard = {s.beacon_id for b in batches for s in b.sightings}
    assert heard <= {a.beacon_id for a in scenario.attendees}
    assert len(heard & present) > 0.9 * len(present)  # nearly everyone is heard by some scanner in 2 min
    for batch in batches:
        assert batch.window_end - batch.window_start == 2.0 and batch.window_start % 2 == 0
        assert batch.sightings and all(batch.window_start <= s.first_seen < batch.window_end for s in batch.sightings)


def test_stream_is_lazy_so_a_caller_can_stop_early(scenario: Scenario, itineraries: tuple[Itinerary, ...]) -> None:
    first = list(itertools.islice(generate_messages(scenario, itineraries=itineraries), 30))
    assert len(first) == 30
