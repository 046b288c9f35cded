"""Garbage-collector settings for a long-running server process.

Ingest allocates a few objects per sighting (a validated model, a row, a presence reading) and drops them a
moment later; CPython's cyclic collector runs every 700 allocations by default and, each time the older
generations are due, walks every tracked object the process holds: the venue, the badge directory, presence's
state. Measured on `touchpoints bench ingest`'s stream, validation alone ran about 2.5x faster with the
collector's first threshold raised, and reference counting still frees almost everything at once (the
collector is only for cycles).

So, once the server has started: collect, ``gc.freeze()`` what exists (the long-lived start-up objects are then
never walked again), and raise the first threshold.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable

log = logging.getLogger(__name__)

# Allocations between young-generation collections (CPython's default is 700). Cycles are rare on the hot
# path; this bounds how many unreachable cyclic objects can wait for the collector.
GEN0_THRESHOLD = 50_000
GEN1_THRESHOLD = 20
GEN2_THRESHOLD = 100


def tune_for_server() -> Callable[[], None]:
    """Tune; returns what puts the defaults back (at shutdown: an app started and stopped inside a longer
    process, as in the tests, must not leave its objects frozen for ever)."""
    previous = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(GEN0_THRESHOLD, GEN1_THRESHOLD, GEN2_THRESHOLD)
    log.debug("gc: %d start-up objects frozen, thresholds %s", gc.get_freeze_count(), gc.get_threshold())

    def restore() -> None:
        gc.unfreeze()
        gc.set_threshold(*previous)

    return restore
