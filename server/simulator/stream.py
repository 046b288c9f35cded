"""The simulated edge fleet as a pure, time-ordered stream of contract messages (no MQTT, no clock).

:func:`generate_messages` yields ``(sim_time, message)`` pairs, where ``message`` is an
:mod:`edge.protocol` model built (and so validated) exactly as an edge agent would send it:

- a ``Status`` online per device at the start (publish it retained);
- per scan window (2 s, the edge default, aligned to the clock like the edge's) one ``SightingBatch`` per
  scanner that heard anything, at the window's end;
- a ``Tap`` when a badge is held to a reader (check-in at an entrance, exhibitor scan at a booth);
- a ``Heartbeat`` per device every ``HEARTBEAT_S``, staggered so that the fleet does not beat in unison.

Each device numbers its messages with one counter shared by taps, batches and heartbeats, starting at
``seq_base`` (0 by default): ``(device_id, seq)`` is the contract's idempotency key. A real edge persists
this counter; a simulator restarted against the same database should pass a larger ``seq_base``, or the
ingest will rightly treat its messages as redeliveries.

Everything is driven by seeds: same scenario, seed and range, byte-identical stream.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence

from edge.protocol import (
    DeviceMessage,
    Heartbeat,
    NdefRecord,
    ReaderState,
    Sighting,
    SightingBatch,
    Status,
    Tap,
)
from server.simulator.movement import Itinerary, TapEvent, plan_itineraries
from server.simulator.radio import ADVERT_INTERVAL_S, BadgeState
from server.simulator.radios import DEFAULT_RADIO, FaultSpec, make_radio
from server.simulator.scenario import Scenario

WINDOW_S = 2.0  # the edge agent's default scan window (BleSettings.window_s)
HEARTBEAT_S = 30.0  # the edge agent's default heartbeat period (DeviceConfig.heartbeat_s)
AGENT_VERSION = "touchpoints-sim/0.1"
GOLDEN = 0.6180339887  # spreads badge advertising phases evenly, without a random draw

_TAP, _HEARTBEAT, _BATCH = 0, 1, 2  # order of messages sharing one instant


def sim_range(scenario: Scenario, start_offset_s: float = 0.0, duration_s: float | None = None) -> tuple[float, float]:
    """The [begin, end) of simulated time, clipped to the event's day."""
    ev = scenario.event
    begin = ev.starts_at + max(0.0, start_offset_s)
    end = ev.ends_at if duration_s is None else min(ev.ends_at, begin + max(0.0, duration_s))
    return begin, max(begin, end)


class _Badges:
    """Walks every itinerary forward in time: where each badge is at an instant, in O(1) amortised."""

    def __init__(self, scenario: Scenario, itineraries: Sequence[Itinerary]):
        by_id = {a.id: a for a in scenario.attendees}
        self._tracks = [
            (
                by_id[it.attendee_id].beacon_id,
                (by_id[it.attendee_id].beacon_minor * GOLDEN) % 1.0,
                it.intervals,
            )
            for it in itineraries
        ]
        self._cursor = [0] * len(self._tracks)

    def at(self, t: float) -> list[BadgeState]:
        out = []
        for i, (beacon_id, phase, intervals) in enumerate(self._tracks):
            k = self._cursor[i]
            while k < len(intervals) and intervals[k].end <= t:
                k += 1
            self._cursor[i] = k
            if k < len(intervals) and intervals[k].start <= t:
                iv = intervals[k]
                x, y = iv.position_at(t)
                out.append(BadgeState(beacon_id, x, y, iv.zone_id, phase * ADVERT_INTERVAL_S))
        return out


def _heartbeat(
    scenario: Scenario, device_index: int, seq: int, at: float, boot: float, rng: random.Random
) -> Heartbeat:
    device = scenario.devices[device_index]
    return Heartbeat(
        device_id=device.id,
        event_id=scenario.event.id,
        seq=seq,
        captured_at=round(at, 3),
        uptime_s=round(at - boot, 1),
        agent_version=AGENT_VERSION,
        cpu_temp_c=round(rng.gauss(52, 4), 1),
        load1=round(abs(rng.gauss(0.4, 0.15)), 2),
        mem_used_pct=round(min(100.0, max(0.0, rng.gauss(38, 3))), 1),
        disk_free_mb=round(rng.uniform(11000, 12000), 0),
        nfc_state=ReaderState.OK if device.nfc else ReaderState.DISABLED,
        ble_state=ReaderState.OK if device.ble else ReaderState.DISABLED,
        clock_offset_ms=round(rng.gauss(0, 3), 1),
        versions={"simulator": "1"},
    )


def _tap(scenario: Scenario, tap: TapEvent, seq: int, badge: tuple[str, str]) -> Tap:
    uid, badge_id = badge
    return Tap(
        device_id=tap.device_id,
        event_id=scenario.event.id,
        seq=seq,
        captured_at=tap.at,
        uid=uid,
        badge_id=badge_id,
        ndef=[NdefRecord(type="text", value=badge_id)],
    )


def generate_messages(
    scenario: Scenario,
    *,
    seed: int = 7,
    start_offset_s: float = 0.0,
    duration_s: float | None = None,
    window_s: float = WINDOW_S,
    itineraries: Sequence[Itinerary] | None = None,
    seq_base: int = 0,
    radio: str = DEFAULT_RADIO,
    faults: FaultSpec | None = None,
) -> Iterator[tuple[float, DeviceMessage]]:
    """``(sim_time, message)`` in non-decreasing time, from ``start_offset_s`` after the event opens.

    ``radio`` names the radio model (:mod:`server.simulator.radios`), ``faults`` the hall's loss, clock skew
    and outages (default: the model's own). A scanner's batches carry its own clock: a skewed scanner's
    window bounds and timestamps are off by its skew, as a real one's are.

    >>> from server.simulator.scenario import build_scenario
    >>> t, first = next(generate_messages(build_scenario(attendees=5)))
    >>> first.type, first.state
    ('status', 'online')
    """
    begin, end = sim_range(scenario, start_offset_s, duration_s)
    event_id = scenario.event.id
    plans = plan_itineraries(scenario) if itineraries is None else itineraries
    hearing = make_radio(radio, scenario, seed=seed, span=(begin, end), faults=faults)
    hb_rng = random.Random(f"{seed}:{scenario.seed}:heartbeat")
    badges = _Badges(scenario, plans)
    badge_of = {a.id: (a.badge_uid, a.badge_id) for a in scenario.attendees}
    seqs = {d.id: seq_base for d in scenario.devices}
    index_of = {d.id: i for i, d in enumerate(scenario.devices)}
    n = len(scenario.devices)
    # Devices booted a little before the simulation, each at its own time (uptimes differ in the fleet).
    boots = [begin - 600.0 - 37.0 * i for i in range(n)]
    next_beat = [begin + HEARTBEAT_S * i / n for i in range(n)]
    taps = sorted((tp for it in plans for tp in it.taps if begin <= tp.at < end), key=lambda tp: (tp.at, tp.device_id))
    tap_i = 0

    def next_seq(device_id: str) -> int:
        seq = seqs[device_id]
        seqs[device_id] = seq + 1
        return seq

    for device in scenario.devices:
        yield (
            begin,
            Status(device_id=device.id, event_id=event_id, state="online", at=begin, agent_version=AGENT_VERSION),
        )

    w0 = begin
    while w0 < end:
        # Windows are aligned to the clock, as on the edge, so that every scanner's windows line up.
        w1 = min(end, (math.floor(w0 / window_s) + 1) * window_s)
        due: list[tuple[float, int, str, object]] = []
        while tap_i < len(taps) and taps[tap_i].at < w1:
            due.append((taps[tap_i].at, _TAP, taps[tap_i].device_id, taps[tap_i]))
            tap_i += 1
        for i in range(n):
            while next_beat[i] < w1:
                due.append((next_beat[i], _HEARTBEAT, scenario.devices[i].id, None))
                next_beat[i] += HEARTBEAT_S
        heard = hearing.window(w0, w1, badges.at((w0 + w1) / 2))
        for device_id in sorted(heard):
            due.append((w1, _BATCH, device_id, heard[device_id]))
        due.sort(key=lambda e: (e[0], e[1], e[2]))
        for at, kind, device_id, payload in due:
            seq = next_seq(device_id)
            message: DeviceMessage
            if kind == _TAP:
                assert isinstance(payload, TapEvent)
                message = _tap(scenario, payload, seq, badge_of[payload.attendee_id])
            elif kind == _HEARTBEAT:
                message = _heartbeat(scenario, index_of[device_id], seq, at, boots[index_of[device_id]], hb_rng)
            else:
                assert isinstance(payload, list)
                sightings: list[Sighting] = payload
                skew = hearing.clock_skew_s(device_id)
                message = SightingBatch(
                    device_id=device_id,
                    event_id=event_id,
                    seq=seq,
                    window_start=round(w0 + skew, 3),
                    window_end=round(w1 + skew, 3),
                    sightings=sightings,
                )
            yield at, message
        w0 = w1
