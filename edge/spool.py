"""Store-and-forward spool on disk (SQLite): nothing the device captured is lost to a broker outage, a
network drop, an agent restart or a power cut.

Every outgoing message enters the spool first, in the same transaction that assigns its per-device ``seq``
(so a seq is never reused, even across a power cut), and leaves it only when the broker acknowledged it
(PUBACK). Messages leave in spool order, which is seq order. The spool is bounded in bytes; when full it drops
by an explicit policy, logs each drop and counts them for the heartbeat's ``spool_dropped``:

    oldest sightings first, then oldest heartbeats, then (only when the spool holds nothing else) oldest taps.

A tap is a person's deliberate action and tiny; a sighting batch is bulky and the next window says almost the
same thing. A new message that could only fit by evicting something more valuable is itself dropped.

Locking: one lock serialises the SQLite connection, and nothing foreign ever runs under it except
``enqueue``'s ``build``, which must be a pure function of the seq (gather readings first; see
``Agent.heartbeat``); a ``build`` that calls back into the spool gets a RuntimeError, not a deadlock.
``close()`` is idempotent; afterwards every call raises ``SpoolClosed`` at once, so a thread that outlives
the agent's shutdown fails loudly instead of blocking it.

Example::

    >>> spool = Spool(":memory:", device_id="door-1")
    >>> spool.enqueue("touchpoints/v1/demo/door-1/tap", "tap", lambda seq: b'{"seq": %d}' % seq).seq
    0
    >>> [entry.payload for entry in spool.pending()]
    [b'{"seq": 0}']
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

# 64 MiB holds ~3 days of 2 s sighting windows at 20 beacons, or a million taps: far longer than any outage
# worth riding out, and a small slice of a 16 GB SD card.
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
# Lower rank is dropped first when the spool is full.
DROP_RANK = {"sightings": 0, "heartbeat": 1, "tap": 2}
DEFAULT_RANK = 1
# close() waits this long for a call in progress (each is one short SQLite transaction); past that it leaves the
# connection to the process's exit rather than hang a shutdown (systemd would SIGKILL us mid-write).
CLOSE_WAIT_S = 10.0

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    rank INTEGER NOT NULL,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_rank ON outbox (rank, id);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


class SpoolClosed(RuntimeError):
    """The spool was closed (the agent is stopping): nothing more goes in or out."""


@dataclass(frozen=True, slots=True)
class SpoolEntry:
    id: int
    seq: int
    kind: str
    topic: str
    payload: bytes


class Spool:
    """Thread-safe: the capture threads enqueue, the publisher reads and acknowledges."""

    def __init__(self, path: str | Path, device_id: str, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.device_id = device_id
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._closed = False
        self._db_open = True
        self._owner: int | None = None  # ident of the thread holding _lock through _open()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        # WAL + synchronous=FULL: a committed message survives a power cut (the WAL is fsynced on commit).
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(SCHEMA)
        self._bytes = self._db.execute("SELECT COALESCE(SUM(LENGTH(payload)), 0) FROM outbox").fetchone()[0]

    @classmethod
    def in_directory(cls, directory: str | Path, device_id: str, max_bytes: int = DEFAULT_MAX_BYTES) -> Spool:
        folder = Path(directory)
        folder.mkdir(parents=True, exist_ok=True)
        return cls(folder / "spool.sqlite3", device_id, max_bytes)

    def close(self) -> None:
        """Refuse new calls at once, let a call in progress finish, close the database; idempotent."""
        self._closed = True  # from now on every call raises SpoolClosed, even one already waiting
        if not self._lock.acquire(timeout=CLOSE_WAIT_S):
            log.error("spool still busy after %.0f s: leaving its database to close at exit", CLOSE_WAIT_S)
            return
        try:
            if self._db_open:
                self._db_open = False
                self._db.close()
        finally:
            self._lock.release()

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def depth(self) -> int:
        with self._open():
            return int(self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])

    @property
    def dropped(self) -> int:
        with self._open():
            return self._counter("dropped")

    def enqueue(self, topic: str, kind: str, build: Callable[[int], bytes]) -> SpoolEntry:
        """Assign the next seq, build the payload with it and commit both; returns the stored entry.

        When the message cannot fit without evicting something more valuable it is dropped instead; the
        returned entry then has id -1 (its seq is still consumed, so gaps in seq reveal drops downstream).

        ``build`` runs under the spool's lock (that is what keeps seq order equal to spool order across the
        capture threads), so it must only format: no I/O, no locks, no calls back into the spool.
        """
        rank = DROP_RANK.get(kind, DEFAULT_RANK)
        with self._open():
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                seq = self._counter(f"seq:{self.device_id}")
                self._set_counter(f"seq:{self.device_id}", seq + 1)
                payload = build(seq)
                if not self._make_room(len(payload), rank):
                    self._set_counter("dropped", self._counter("dropped") + 1)
                    db.execute("COMMIT")
                    log.warning("spool full (%d bytes): dropped new %s seq=%d", self._bytes, kind, seq)
                    return SpoolEntry(-1, seq, kind, topic, payload)
                cursor = db.execute(
                    "INSERT INTO outbox (seq, kind, rank, topic, payload) VALUES (?, ?, ?, ?, ?)",
                    (seq, kind, rank, topic, payload),
                )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            self._bytes += len(payload)
            assert cursor.lastrowid is not None
            return SpoolEntry(cursor.lastrowid, seq, kind, topic, payload)

    def pending(self, after_id: int = 0, limit: int = 100) -> list[SpoolEntry]:
        """The oldest entries not yet acknowledged, in order, starting after ``after_id``."""
        with self._open():
            rows = self._db.execute(
                "SELECT id, seq, kind, topic, payload FROM outbox WHERE id > ? ORDER BY id LIMIT ?",
                (after_id, limit),
            ).fetchall()
        return [SpoolEntry(row[0], row[1], row[2], row[3], bytes(row[4])) for row in rows]

    def acknowledge(self, entry_id: int) -> None:
        """The broker has the message: remove it (a no-op when it was dropped meanwhile)."""
        with self._open():
            row = self._db.execute("DELETE FROM outbox WHERE id = ? RETURNING LENGTH(payload)", (entry_id,))
            deleted = row.fetchone()
            if deleted is not None:
                self._bytes -= deleted[0]

    @contextmanager
    def _open(self) -> Iterator[None]:
        """Hold the lock of an open spool; checked before waiting too, so no caller queues up behind close().

        The lock is not re-entrant on purpose: a ``build`` that calls back into the spool is a bug, and it
        used to be a silent deadlock (a heartbeat reading ``depth`` while its own enqueue held the lock: the
        housekeeping thread, the pump and ``close()`` all waited forever). Now it fails at once, loudly.
        """
        me = threading.get_ident()
        if self._owner == me:  # only this thread ever stores its own ident, so the unlocked read is safe
            raise RuntimeError("Spool re-entered from an enqueue() build callback: build must only format")
        if self._closed:
            raise SpoolClosed(f"the spool of {self.device_id} is closed")
        with self._lock:
            if self._closed:
                raise SpoolClosed(f"the spool of {self.device_id} is closed")
            self._owner = me
            try:
                yield
            finally:
                self._owner = None

    def _make_room(self, size: int, rank: int) -> bool:
        if size > self.max_bytes:
            return False
        while self._bytes + size > self.max_bytes:
            victim = self._db.execute(
                "SELECT id, seq, kind, LENGTH(payload) FROM outbox WHERE rank <= ? ORDER BY rank, id LIMIT 1",
                (rank,),
            ).fetchone()
            if victim is None:
                return False
            victim_id, victim_seq, victim_kind, victim_size = victim
            self._db.execute("DELETE FROM outbox WHERE id = ?", (victim_id,))
            self._bytes -= victim_size
            self._set_counter("dropped", self._counter("dropped") + 1)
            log.warning("spool full: dropped oldest %s seq=%d to make room", victim_kind, victim_seq)
        return True

    def _counter(self, name: str) -> int:
        row = self._db.execute("SELECT value FROM counters WHERE name = ?", (name,)).fetchone()
        return int(row[0]) if row else 0

    def _set_counter(self, name: str, value: int) -> None:
        self._db.execute(
            "INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = ?",
            (name, value, value),
        )
