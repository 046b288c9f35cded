"""The store-and-forward spool: order, seq, acknowledgement, restart survival and the drop policy."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from edge.spool import Spool, SpoolClosed

TAP, SIGHTINGS, HEARTBEAT = "tap", "sightings", "heartbeat"


def payload(size: int) -> object:
    return lambda seq: b"%d:" % seq + b"x" * (size - len(b"%d:" % seq))


def kinds_and_seqs(spool: Spool) -> list[tuple[str, int]]:
    return [(entry.kind, entry.seq) for entry in spool.pending(limit=1000)]


def test_messages_leave_in_order_with_consecutive_seqs(tmp_path: Path) -> None:
    spool = Spool.in_directory(tmp_path, "door-1")
    for kind in (TAP, SIGHTINGS, HEARTBEAT, TAP):
        spool.enqueue(f"t/{kind}", kind, payload(10))  # type: ignore[arg-type]
    assert kinds_and_seqs(spool) == [(TAP, 0), (SIGHTINGS, 1), (HEARTBEAT, 2), (TAP, 3)]
    assert [entry.payload[:2] for entry in spool.pending(limit=1000)] == [b"0:", b"1:", b"2:", b"3:"]


def test_acknowledged_messages_leave_the_spool(tmp_path: Path) -> None:
    spool = Spool.in_directory(tmp_path, "door-1")
    first = spool.enqueue("t", TAP, payload(10))  # type: ignore[arg-type]
    spool.enqueue("t", TAP, payload(10))  # type: ignore[arg-type]
    spool.acknowledge(first.id)
    spool.acknowledge(first.id)  # a duplicate PUBACK changes nothing
    assert kinds_and_seqs(spool) == [(TAP, 1)]
    assert spool.depth == 1


def test_pending_after_an_id_skips_what_is_already_in_flight(tmp_path: Path) -> None:
    spool = Spool.in_directory(tmp_path, "door-1")
    entries = [spool.enqueue("t", TAP, payload(10)) for _ in range(5)]  # type: ignore[arg-type]
    assert [e.seq for e in spool.pending(after_id=entries[1].id, limit=2)] == [2, 3]


def test_unacknowledged_messages_and_the_seq_survive_a_restart(tmp_path: Path) -> None:
    spool = Spool.in_directory(tmp_path, "door-1")
    for _ in range(3):
        spool.enqueue("t", TAP, payload(10))  # type: ignore[arg-type]
    spool.acknowledge(spool.pending()[0].id)
    spool.close()  # power cut: nothing else runs

    reopened = Spool.in_directory(tmp_path, "door-1")
    assert kinds_and_seqs(reopened) == [(TAP, 1), (TAP, 2)]
    assert reopened.enqueue("t", TAP, payload(10)).seq == 3  # type: ignore[arg-type]


def test_seq_is_per_device(tmp_path: Path) -> None:
    Spool.in_directory(tmp_path, "door-1").enqueue("t", TAP, payload(10))  # type: ignore[arg-type]
    assert Spool.in_directory(tmp_path, "door-2").enqueue("t", TAP, payload(10)).seq == 0  # type: ignore[arg-type]


def test_durable_mode_is_wal_with_full_sync(tmp_path: Path) -> None:
    spool = Spool.in_directory(tmp_path, "door-1")
    assert spool._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert spool._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_full_spool_drops_oldest_sightings_first(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    spool = Spool.in_directory(tmp_path, "door-1", max_bytes=400)
    for kind in (SIGHTINGS, TAP, SIGHTINGS, HEARTBEAT):
        spool.enqueue("t", kind, payload(100))  # type: ignore[arg-type]
    with caplog.at_level(logging.WARNING, logger="edge.spool"):
        spool.enqueue("t", TAP, payload(100))  # type: ignore[arg-type]
    assert kinds_and_seqs(spool) == [(TAP, 1), (SIGHTINGS, 2), (HEARTBEAT, 3), (TAP, 4)]
    assert spool.dropped == 1
    assert "dropped oldest sightings seq=0" in caplog.text


def test_then_heartbeats_then_taps_and_never_a_tap_for_a_sighting(tmp_path: Path) -> None:
    spool = Spool.in_directory(tmp_path, "door-1", max_bytes=300)
    for kind in (TAP, HEARTBEAT, SIGHTINGS):
        spool.enqueue("t", kind, payload(100))  # type: ignore[arg-type]
    spool.enqueue("t", TAP, payload(100))  # type: ignore[arg-type]  # evicts the sighting
    spool.enqueue("t", TAP, payload(100))  # type: ignore[arg-type]  # evicts the heartbeat
    assert kinds_and_seqs(spool) == [(TAP, 0), (TAP, 3), (TAP, 4)]
    dropped = spool.enqueue("t", SIGHTINGS, payload(100))  # type: ignore[arg-type]  # only taps left: itself
    assert dropped.id == -1 and dropped.seq == 5
    assert kinds_and_seqs(spool) == [(TAP, 0), (TAP, 3), (TAP, 4)]
    spool.enqueue("t", TAP, payload(100))  # type: ignore[arg-type]  # only taps left: the oldest tap goes
    assert kinds_and_seqs(spool) == [(TAP, 3), (TAP, 4), (TAP, 6)]
    assert spool.dropped == 4


def test_drop_count_survives_a_restart(tmp_path: Path) -> None:
    spool = Spool.in_directory(tmp_path, "door-1", max_bytes=100)
    spool.enqueue("t", SIGHTINGS, payload(100))  # type: ignore[arg-type]
    spool.enqueue("t", SIGHTINGS, payload(100))  # type: ignore[arg-type]
    spool.close()
    assert Spool.in_directory(tmp_path, "door-1", max_bytes=100).dropped == 1


def test_close_is_idempotent_and_every_later_call_fails_at_once(tmp_path: Path) -> None:
    spool = Spool.in_directory(tmp_path, "door-1")
    spool.enqueue("t", TAP, payload(10))  # type: ignore[arg-type]
    spool.close()
    spool.close()  # a second close (say SIGTERM during shutdown) changes nothing
    calls = {
        "enqueue": lambda: spool.enqueue("t", TAP, payload(10)),  # type: ignore[arg-type]
        "pending": lambda: spool.pending(),
        "acknowledge": lambda: spool.acknowledge(1),
        "depth": lambda: spool.depth,
        "dropped": lambda: spool.dropped,
    }
    for name, call in calls.items():
        with pytest.raises(SpoolClosed):
            call()
            pytest.fail(f"{name} after close() did not raise")
    assert Spool.in_directory(tmp_path, "door-1").depth == 1  # what was spooled is on disk


def test_a_build_that_calls_back_into_the_spool_fails_instead_of_deadlocking(tmp_path: Path) -> None:
    spool = Spool.in_directory(tmp_path, "door-1")
    outcome: list[BaseException] = []

    def reentrant_build(seq: int) -> bytes:
        return b'{"seq": %d, "depth": %d}' % (seq, spool.depth)  # the old heartbeat's mistake

    def enqueue() -> None:
        try:
            spool.enqueue("t", HEARTBEAT, reentrant_build)
        except BaseException as exc:
            outcome.append(exc)

    worker = threading.Thread(target=enqueue, daemon=True)
    worker.start()
    worker.join(timeout=5)
    assert not worker.is_alive(), "enqueue() deadlocked on its own lock"
    [error] = outcome
    assert isinstance(error, RuntimeError) and "build" in str(error)
    assert spool.enqueue("t", TAP, payload(10)).seq == 0  # type: ignore[arg-type]  # rolled back: seq unused
    assert spool.depth == 1


def test_close_waits_for_a_call_in_progress_and_later_callers_get_spool_closed(tmp_path: Path) -> None:
    spool = Spool.in_directory(tmp_path, "door-1")
    building, release = threading.Event(), threading.Event()
    results: dict[str, object] = {}

    def slow_build(seq: int) -> bytes:
        building.set()
        release.wait(5)
        return b"%d" % seq

    def run(name: str, call: Callable[[], object]) -> threading.Thread:
        def target() -> None:
            try:
                results[name] = call()
            except SpoolClosed as exc:
                results[name] = exc

        thread = threading.Thread(target=target, daemon=True)
        thread.start()
        return thread

    producer = run("enqueue", lambda: spool.enqueue("t", TAP, slow_build))
    assert building.wait(5)
    closer = run("close", spool.close)
    time.sleep(0.2)
    assert spool.closed and closer.is_alive()  # newcomers are refused, the commit in progress goes on
    pump = run("pending", spool.pending)
    release.set()
    for thread in (producer, closer, pump):
        thread.join(timeout=5)
        assert not thread.is_alive()
    assert results["enqueue"].seq == 0  # type: ignore[attr-defined]
    assert isinstance(results["pending"], SpoolClosed)
    assert Spool.in_directory(tmp_path, "door-1").depth == 1  # the commit made it to disk
