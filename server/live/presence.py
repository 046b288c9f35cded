"""Live presence: the pure PresenceEngine fed by ingest, its visits persisted, its timeouts kept.

A thin adapter. Ingest hands over each committed batch's new sightings and taps (``feed``, on the ingest
writer thread: it only enqueues). One worker thread then
- feeds them to the engine in capture-time order,
- advances the engine's clock every ``TICK_S`` even when nothing arrives, so that a silent badge's visit
  closes (automatic check-out),
- upserts the visit events into ``visit`` (keyed by attendee, zone and start, so re-deriving is harmless),
- tells subscribers (rules, dashboard) what changed.

After a restart the engine's memory is rebuilt by replaying recent stored touchpoints; because visits are
upserted by their natural key, the replay re-creates nothing twice.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import Connection, Engine, Table, func, update
from sqlmodel import Session, col, select

from server.domain import model as domain
from server.domain.presence import PresenceEngine
from server.ingest.writer import WriteResult
from server.live.calibration_watch import CalibrationWatch
from server.live.clock import DataClock
from server.store.db import dialect_insert
from server.store.models import Attendee, AttendeeRole, Touchpoint, TouchpointType, Visit
from server.store.venue import load_venue

log = logging.getLogger(__name__)

# How often the engine's clock moves without new data: timeouts are tens of seconds, so 1 s is plenty.
TICK_S = 1.0
# How far back a restart replays stored signals to rebuild the engine's memory of who is where.
WARM_START_S = 15 * 60
# Batches waiting for the worker; ingest blocks (back-pressure) rather than lose one when it is full.
QUEUE_MAX = 10_000
MAX_BATCHES_PER_STEP = 100
# Signals are replayed in capture order and the engine advanced at least this often in data time: one edge
# scan window, the grain at which readings from all scanners are complete.
ADVANCE_EVERY_S = 2.0
# A restart replays at most this far back, even to re-derive a visit that was open longer than that.
MAX_REPLAY_S = 2 * 3600

VISIT: Table = Visit.__table__  # type: ignore[attr-defined]
VisitListener = Callable[[list[domain.VisitEvent]], None]


class LivePresence:
    def __init__(self, engine: Engine, event_id: str, clock: DataClock | None = None) -> None:
        self._db = engine
        self.event_id = event_id
        self.clock = clock or DataClock()
        self.listeners: list[VisitListener] = []
        self._queue: queue.Queue[tuple[list[domain.Sighting], list[domain.Tap]]] = queue.Queue(QUEUE_MAX)
        self._stop = threading.Event()
        self._venue_changed = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()  # guards the engine between the worker and readers (occupancy)
        self._calibration = CalibrationWatch(event_id)  # the survey walk's fit in force (issue 14)
        with Session(engine) as session:
            venue = load_venue(session, event_id)
            calibration = self._calibration.load(session)
        self.engine = PresenceEngine(venue.zones, venue.scanners, calibration=calibration)

    # --- lifecycle

    def start(self) -> None:
        self._warm_start()
        self._thread = threading.Thread(target=self._run, name="live-presence", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    # --- inputs

    def feed(self, result: WriteResult) -> None:
        """An ingest commit listener: enqueue what presence needs (blocks only when the worker is far behind)."""
        if result.presence_sightings or result.presence_taps:
            self._queue.put((result.presence_sightings, result.presence_taps))

    def venue_changed(self) -> None:
        """Zones or devices changed (API, import): the worker reloads them before its next step."""
        self._venue_changed.set()

    def forget(self, attendee_id: str, *, erased: bool = False) -> None:
        """Tracking consent withdrawn (or the attendee erased): drop them now, from any thread.

        Done under the lock every worker step holds, so it is ordered with the steps: their open visit closes
        (at its last evidence) and they leave occupancy before this returns. Their signals still queued from
        before the change are dropped too (ingest refuses any later ones). The close is persisted and told to
        listeners like any visit end — except after an erasure, whose visits are already deleted: then nothing
        is written about the person. (The live worker of a scaled deployment hears of it through LivePipeline.forget.)
        """
        with self._queue.mutex:  # batches not yet taken by the worker (copies: ingest's lists are shared)
            waiting = list(self._queue.queue)
            self._queue.queue.clear()
            self._queue.queue.extend(
                (
                    [s for s in sightings if s.attendee_id != attendee_id],
                    [t for t in taps if t.attendee_id != attendee_id],
                )
                for sightings, taps in waiting
            )
        with self._lock:
            events = self.engine.forget(attendee_id, self.clock.now())
        if not erased:
            self._publish(events)

    # --- reads

    @property
    def calibration_id(self) -> int | None:
        """The stored calibration presence uses now (None: the documented defaults)."""
        return self._calibration.active_id

    def occupancy(self) -> dict[str, int]:
        with self._lock:
            return self.engine.occupancy()

    def zone_of(self, attendee_id: str) -> str | None:
        with self._lock:
            return self.engine.zone_of(attendee_id)

    # --- worker

    def _run(self) -> None:
        while not self._stop.is_set():
            batches: list[tuple[list[domain.Sighting], list[domain.Tap]]] = []
            try:
                batches.append(self._queue.get(timeout=TICK_S))
                while len(batches) < MAX_BATCHES_PER_STEP:
                    batches.append(self._queue.get_nowait())
            except queue.Empty:
                pass
            try:
                self._step(batches)
            except Exception:  # the worker outlives any one bad step; the data stays in the store
                log.exception("live presence step failed")

    def _step(self, batches: list[tuple[list[domain.Sighting], list[domain.Tap]]]) -> None:
        changed = self._venue_changed.is_set()
        if changed:
            self._venue_changed.clear()
            with Session(self._db) as session:
                venue = load_venue(session, self.event_id)
            with self._lock:
                self.engine.update_venue(venue.zones, venue.scanners)
        if changed or self._calibration.due(time.monotonic()):  # a new calibration: told, else polled
            with Session(self._db) as session:
                new, calibration = self._calibration.check(session, time.monotonic(), force=True)
            if new:
                with self._lock:
                    self.engine.update_calibration(calibration)
                log.info("live presence: calibration #%s in force", self.calibration_id)
        sightings = [s for batch_sightings, _ in batches for s in batch_sightings]
        taps = [t for _, batch_taps in batches for t in batch_taps]
        with self._lock:
            events = self._apply(sightings, taps)
            events += self.engine.advance(self.clock.now())
        self._publish(events)

    def _publish(self, events: list[domain.VisitEvent]) -> None:
        """Store the visit events, then tell the listeners (rules, scores): stored first, so nothing they act
        on can be missing from the store."""
        if not events:
            return
        with self._db.begin() as conn:
            persist_visit_events(conn, self.event_id, events)
        for listener in self.listeners:
            try:
                listener(events)
            except Exception:
                log.exception("visit listener failed")

    def _apply(self, sightings: list[domain.Sighting], taps: list[domain.Tap]) -> list[domain.VisitEvent]:
        """Replay signals in capture order, advancing the engine as their time passes.

        Ingest commits in batches, so one step may hold minutes of one badge's windows (a backlog after an
        outage, a burst): judged all at once, only the last instant would count. Advancing at every window
        boundary lets hysteresis and timeouts see the stay as it happened.
        """
        timeline: list[tuple[float, int, domain.Sighting | domain.Tap]] = [(s.last_seen, 1, s) for s in sightings]
        timeline += [(t.at, 0, t) for t in taps]
        timeline.sort(key=lambda item: (item[0], item[1]))
        events: list[domain.VisitEvent] = []
        pending: list[domain.Sighting] = []
        window: int | None = None
        latest = float("-inf")
        for at, _, signal in timeline:
            this_window = math.floor(at / ADVANCE_EVERY_S)
            if window is not None and this_window != window:
                events += self.engine.observe(pending) if pending else []
                pending = []
                events += self.engine.advance(latest)
            window, latest = this_window, max(latest, at)
            if isinstance(signal, domain.Tap):
                events += self.engine.observe(pending) if pending else []
                pending = []
                events += self.engine.tap(signal)
            else:
                pending.append(signal)
        if pending:
            events += self.engine.observe(pending)
        if timeline:
            self.clock.observe(latest)  # once per step: it only ever moves forward, to the latest capture
            events += self.engine.advance(latest)
        return events

    def _warm_start(self) -> None:
        """Replay recent stored signals so that the engine knows who is where after a restart.

        The replay reaches back to the oldest visit still open in the store (at most MAX_REPLAY_S), so
        those visits are re-derived with their own start and upserted onto themselves; a stored open
        visit the replay does not re-open is closed at the last signal its zone had from that badge.
        """
        with self._db.connect() as conn:
            newest = conn.execute(
                select(func.max(Touchpoint.occurred_at)).where(col(Touchpoint.event_id) == self.event_id)
            ).scalar_one()
            if newest is None:
                return
            open_visits = list(
                Session(conn).exec(
                    select(Visit).where(col(Visit.event_id) == self.event_id, col(Visit.ended_at).is_(None))
                )
            )
            since = min([newest - WARM_START_S] + [v.started_at for v in open_visits])
            since = max(since, newest - MAX_REPLAY_S)
            sightings, taps = _stored_signals(conn, self.event_id, since)
        with self._lock:
            events = self._apply(sightings, taps)
            still_open = {(v.attendee_id, v.zone_id, v.started_at) for v in self.engine.open_visits()}
        with self._db.begin() as conn:
            persist_visit_events(conn, self.event_id, events)
            closed = 0
            for v in open_visits:
                if (v.attendee_id, v.zone_id, v.started_at) not in still_open:
                    closed += close_at_last_evidence(conn, v)
        log.info("live presence warm start: replayed %d sightings and %d taps; closed %d stale visits",
                 len(sightings), len(taps), closed)  # fmt: skip


def _stored_signals(conn: Connection, event_id: str, since: float) -> tuple[list[domain.Sighting], list[domain.Tap]]:
    staff = select(Attendee.id).where(col(Attendee.role) == AttendeeRole.STAFF.value)
    rows = Session(conn).exec(
        select(Touchpoint)
        .where(
            col(Touchpoint.event_id) == event_id,
            col(Touchpoint.occurred_at) >= since,
            col(Touchpoint.attendee_id).is_not(None),
            col(Touchpoint.attendee_id).not_in(staff),
            col(Touchpoint.type).in_([TouchpointType.SIGHTING.value, TouchpointType.TAP.value]),
        )
        .order_by(col(Touchpoint.occurred_at))
    )
    sightings: list[domain.Sighting] = []
    taps: list[domain.Tap] = []
    for t in rows:
        assert t.attendee_id is not None and t.device_id is not None
        if t.type == TouchpointType.TAP.value:
            taps.append(domain.Tap(t.attendee_id, t.device_id, t.occurred_at))
        else:
            sightings.append(
                domain.Sighting(
                    t.attendee_id,
                    t.device_id,
                    t.rssi or -100.0,
                    t.occurred_at,
                    t.ended_at or t.occurred_at,
                    t.count or 1,
                    t.distance_m,
                )
            )
    return sightings, taps


def persist_visit_events(conn: Connection, event_id: str, events: Iterable[domain.VisitEvent]) -> None:
    """Upsert visits by (attendee, zone, start): a started visit is inserted open, an ended one closed."""
    insert: Any = dialect_insert(conn, VISIT)
    for event in events:
        v = event.visit
        ended = isinstance(event, domain.VisitEnded)
        row = {
            "event_id": event_id,
            "attendee_id": v.attendee_id,
            "zone_id": v.zone_id,
            "started_at": v.started_at,
            "ended_at": v.ended_at if ended else None,
            "dwell_s": v.dwell_s() if ended else None,
        }
        key = ["attendee_id", "zone_id", "started_at"]
        if ended:
            conn.execute(insert.values(row).on_conflict_do_update(index_elements=key, set_=row))
        else:
            conn.execute(insert.values(row).on_conflict_do_nothing(index_elements=key))


def close_at_last_evidence(conn: Connection, visit: Visit) -> int:
    """Close a stored open visit at the last signal its zone's scanners had from the badge (or its start)."""
    last = conn.execute(
        select(func.max(func.coalesce(Touchpoint.ended_at, Touchpoint.occurred_at))).where(
            col(Touchpoint.attendee_id) == visit.attendee_id,
            col(Touchpoint.zone_id) == visit.zone_id,
            col(Touchpoint.occurred_at) >= visit.started_at,
        )
    ).scalar_one()
    ended_at = max(float(last), visit.started_at) if last is not None else visit.started_at
    statement = (
        update(Visit)
        .where(col(Visit.id) == visit.id, col(Visit.ended_at).is_(None))
        .values(ended_at=ended_at, dwell_s=ended_at - visit.started_at)
    )
    return int(conn.execute(statement).rowcount or 0)
