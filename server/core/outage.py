"""Report a dependency's outage once and its recovery once, instead of a traceback on every retry.

A worker that polls the database every second used to log a full traceback per poll while the database was
away: 88 tracebacks in two 30-second outages, burying whatever else happened. An outage is one fact with a
start and an end, so it is logged as such::

    WARNING  rules outbox: database unavailable (OperationalError: connection refused); retrying quietly
    INFO     rules outbox: database back after 30.2 s

Faults that are not an outage (a bug of ours) still log their traceback every time: those need a fix.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

# Connection-level failures: the database is away or unreachable, not refusing our data.
_OUTAGE_ERRORS = (OperationalError, InterfaceError, DisconnectionError, PoolTimeoutError)
MAX_REASON_CHARS = 300  # one line of the driver's message is the useful part


def is_database_outage(exc: BaseException) -> bool:
    """True when ``exc`` means "the database cannot be reached", as opposed to a bad statement or a bug."""
    if isinstance(exc, _OUTAGE_ERRORS):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


def reason_of(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:MAX_REASON_CHARS]


class OutageLog:
    """``failed(exc)`` on every failed attempt, ``ok()`` on every good one; logs only the transitions."""

    def __init__(
        self, log: logging.Logger, what: str, dependency: str = "database",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:  # fmt: skip
        self.log, self.what, self.dependency, self.clock = log, what, dependency, clock
        self.since: float | None = None
        self.failures = 0

    @property
    def down(self) -> bool:
        return self.since is not None

    def failed(self, exc: BaseException) -> None:
        self.failures += 1
        if self.since is None:
            self.since = self.clock()
            self.log.warning("%s: %s unavailable (%s); retrying quietly", self.what, self.dependency, reason_of(exc))
        else:
            self.log.debug("%s: %s still unavailable (%s)", self.what, self.dependency, reason_of(exc))

    def ok(self) -> None:
        if self.since is None:
            return
        self.log.info(
            "%s: %s back after %.1f s (%d failed attempts)",
            self.what, self.dependency, self.clock() - self.since, self.failures,
        )  # fmt: skip
        self.since, self.failures = None, 0
