"""``ScoreKeeper`` keeps ``attendee_score`` current: a stage of the live pipeline (server/pipeline.py).

Presence and ingest mark attendees whose journey changed, and every ``RESCORE_INTERVAL_S`` a worker rescores
just those through the read model (``server/store/journeys.py``); scores also decay with time, so the API
rescores on read when a stored score is older than ``STALE_AFTER_S``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable

from sqlalchemy import Connection, Engine

from server.domain import model as domain
from server.store.journeys import Models, ScoreChange, rescore

log = logging.getLogger(__name__)

# Journeys change when visits open or close; rescoring within seconds is live enough for a dashboard.
RESCORE_INTERVAL_S = 5.0


class ScoreKeeper:
    """Rescores the attendees whose journeys changed, a few seconds after they changed."""

    def __init__(self, engine: Engine, event_id: str, now: Callable[[], float], models: Models | None = None):
        self._db = engine
        self.event_id = event_id
        self._now = now
        self.models = models or Models.defaults()
        self._dirty: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.rescored = 0
        self.listeners: list[Callable[[list[ScoreChange]], None]] = []  # told after each rescore commits
        # Told inside the rescoring transaction: the CRM outbox enqueues there (change and sync commit together).
        self.in_transaction: list[Callable[[Connection, list[ScoreChange]], None]] = []

    def mark(self, attendee_ids: Iterable[str]) -> None:
        with self._lock:
            self._dirty.update(attendee_ids)

    def on_visit_events(self, events: list[domain.VisitEvent]) -> None:
        self.mark(e.visit.attendee_id for e in events)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="score-keeper", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.flush()

    def flush(self) -> int:
        with self._lock:
            batch, self._dirty = self._dirty, set()
        if not batch:
            return 0
        changes: list[ScoreChange] = []
        with self._db.begin() as conn:
            written = rescore(conn, self.event_id, batch, self.models, self._now(), changes)
            for hook in self.in_transaction:
                hook(conn, changes)
        self.rescored += written
        for listener in self.listeners:
            try:
                listener(changes)
            except Exception:
                log.exception("score listener failed")
        return written

    def _run(self) -> None:
        while not self._stop.wait(RESCORE_INTERVAL_S):
            try:
                self.flush()
            except Exception:  # keep scoring alive; the journey data is safe in the store
                log.exception("rescoring failed")
