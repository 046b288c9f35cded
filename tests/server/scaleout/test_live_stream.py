"""The live stream: ingest workers' commits reach the one live worker, merged in capture order."""

from __future__ import annotations

import socket
import threading

import pytest
import redis
from support import wait_until

from server.domain import model as domain
from server.ingest.writer import WriteResult
from server.live import stream as live_stream
from server.live.stream import LiveForwarder, LiveStreamConsumer, ReorderBuffer, decode_entry, encode_entry


def taps(*times: float, attendee: str = "alice", device: str = "door-1") -> WriteResult:
    return WriteResult(presence_taps=[domain.Tap(attendee, device, at) for at in times])


def sightings(*times: float, attendee: str = "alice", device: str = "s1") -> WriteResult:
    return WriteResult(
        presence_sightings=[domain.Sighting(attendee, device, -60.0, at - 1.5, at, 3, 2.0) for at in times]
    )


def test_an_entry_carries_exactly_what_the_live_listeners_read():
    result = sightings(10.0)
    result.presence_taps.append(domain.Tap("bob", "door-1", 11.0))
    result.stored.update({"sightings": 1, "tap": 1, "heartbeat": 2})
    producer, back = decode_entry(encode_entry("ingest-2", result))
    assert producer == "ingest-2"
    assert (back.presence_sightings, back.presence_taps, back.stored) == (
        result.presence_sightings,
        result.presence_taps,
        result.stored,
    )


def test_the_buffer_releases_in_capture_order_up_to_the_slowest_active_producer():
    buf = ReorderBuffer(producer_idle_s=1.0, max_hold_s=1.0)
    buf.add("A", sightings(100.0, 104.0), arrived=0.0)
    buf.add("B", sightings(98.0, 102.0, device="s2"), arrived=0.1)
    first = buf.release(now=0.1)  # up to B's newest, 102: A's 104 could still be overtaken by B
    assert first is not None and [s.last_seen for s in first.presence_sightings] == [98.0, 100.0, 102.0]
    buf.add("B", sightings(106.0, device="s2"), arrived=0.2)
    second = buf.release(now=0.2)  # B passed A's 104
    assert second is not None and [s.last_seen for s in second.presence_sightings] == [104.0]
    assert buf.held == 1  # B's 106 waits for A ...
    third = buf.release(now=1.2)  # ... at most max_hold_s
    assert third is not None and [s.last_seen for s in third.presence_sightings] == [106.0]
    assert buf.release(now=5.0) is None


def test_a_lagging_producer_holds_the_others_back_at_most_max_hold_s():
    buf = ReorderBuffer(producer_idle_s=10.0, max_hold_s=1.0)
    buf.add("A", sightings(100.0), arrived=0.0)
    buf.add("B", sightings(50.0), arrived=0.0)  # B is 50 s of data behind, and still sending
    assert [s.last_seen for s in buf.release(now=0.5).presence_sightings] == [50.0]
    buf.add("B", sightings(60.0), arrived=0.6)
    assert [s.last_seen for s in buf.release(now=0.7).presence_sightings] == [60.0]
    assert [s.last_seen for s in buf.release(now=1.0).presence_sightings] == [100.0]


def test_entries_without_signals_pass_at_once():
    buf = ReorderBuffer()
    buf.add("A", sightings(100.0), arrived=0.0)
    buf.add("B", sightings(90.0), arrived=0.0)  # holds A back
    heartbeat = WriteResult()
    heartbeat.stored["heartbeat"] = 1
    buf.add("A", heartbeat, arrived=0.0)
    out = buf.release(now=0.0)
    assert out is not None and out.stored["heartbeat"] == 1 and buf.held == 1


def test_two_forwarders_feed_one_consumer_in_capture_order(redis_url: str, topic_prefix: str):
    client = redis.Redis.from_url(redis_url)
    name = live_stream.stream_name(topic_prefix, "demo")
    got: list[WriteResult] = []
    done = threading.Event()

    def dispatch(result: WriteResult) -> None:
        got.append(result)
        if sum(len(r.presence_sightings) + len(r.presence_taps) for r in got) == 6:
            done.set()

    consumer = LiveStreamConsumer(client, name, dispatch)
    consumer.start(consumer.tail())
    first, second = (LiveForwarder(client, name, f"ingest-{n}") for n in (1, 2))
    first.start()
    second.start()
    try:
        first(sightings(100.0, 104.0))
        second(sightings(98.0, 102.0, device="s2"))
        first(WriteResult())  # nothing for the live pipeline: not forwarded
        consumer.submit_local(taps(103.0))  # the live worker's own commit joins the same merge
        second(sightings(106.0, device="s2"))
        assert done.wait(10), got
        first.stop()
        second.stop()
        assert (first.forwarded, second.forwarded) == (1, 2)
    finally:
        consumer.stop()
        client.delete(name)
        client.close()
    times = [s.last_seen for r in got for s in r.presence_sightings]
    assert sorted(times) == [98.0, 100.0, 102.0, 104.0, 106.0]
    assert [t.at for r in got for t in r.presence_taps] == [103.0]
    assert all(
        [s.last_seen for s in r.presence_sightings] == sorted(s.last_seen for s in r.presence_sightings) for r in got
    )


def test_a_consumer_started_from_the_tail_reads_what_was_added_since(redis_url: str, topic_prefix: str):
    client = redis.Redis.from_url(redis_url)
    name = live_stream.stream_name(topic_prefix, "demo")
    got: list[WriteResult] = []
    try:
        client.xadd(name, {"d": encode_entry("ingest-1", taps(1.0))})  # before the restart: in the store already
        consumer = LiveStreamConsumer(client, name, got.append)
        tail = consumer.tail()  # taken before presence's warm start
        client.xadd(name, {"d": encode_entry("ingest-1", taps(2.0))})  # during the warm start
        consumer.start(tail)
        assert wait_until(lambda: [t.at for r in got for t in r.presence_taps] == [2.0], timeout=5), got
        consumer.stop()
    finally:
        client.delete(name)
        client.close()


def test_with_redis_down_the_forwarder_keeps_a_bounded_backlog_and_never_raises(monkeypatch: pytest.MonkeyPatch):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setattr(live_stream, "FORWARD_BACKLOG_MAX", 3)
    forwarder = LiveForwarder(redis.Redis(port=port, socket_connect_timeout=0.5), "x:demo:live", "ingest-1")
    forwarder.start()
    try:
        for at in range(5):
            forwarder(taps(float(at)))
        assert forwarder.pending == 3 and forwarder.dropped == 2
    finally:
        forwarder.stop(drain_timeout=0.2)


def test_phone_reports_forwarded_by_an_api_worker_are_merged_without_holding_the_others_back():
    buf = ReorderBuffer(producer_idle_s=10.0, max_hold_s=10.0)
    buf.add("ingest-1", sightings(100.0), arrived=0.0)
    buf.add(f"{live_stream.UNORDERED}api-7", sightings(40.0, attendee="bob", device="phone-beacon"), arrived=0.0)
    out = buf.release(now=0.0)
    assert out is not None and [s.last_seen for s in out.presence_sightings] == [40.0, 100.0]
    assert buf.watermark(now=0.0) == 100.0  # the API worker is no producer of the watermark


def test_a_second_live_worker_is_named_as_a_rival(redis_url: str, topic_prefix: str):
    client = redis.Redis.from_url(redis_url)
    name = live_stream.stream_name(topic_prefix, "demo")
    first, second = (LiveStreamConsumer(client, name, lambda _r: None) for _ in range(2))
    try:
        first.check_lease()
        second.check_lease()
        first.check_lease()  # renewing its own lease
        assert (first.rival, second.rival) == (None, first.identity)
        first.stop()  # a clean stop hands the lease back
        second.check_lease()
        assert second.rival is None
    finally:
        second.stop()
        client.close()
