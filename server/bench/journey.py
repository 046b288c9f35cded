"""`touchpoints bench journey`: loading attendees' journeys late in a show, beside the index it replaced.

A journey (scores after every visit event, rule rep alerts' summaries, the app's timeline, CRM facts) is
built from an attendee's touchpoints other than sightings, and from their visits. Sightings are nearly all of
an attendee's rows: a badge heard by ``scanners`` scanners every 2 s window piles up ~14,400 of them per
scanner in an 8-hour day. The store answers the journey's query from ``ix_touchpoint_attendee_journey``,
which holds no sightings; the **baseline** is the same ``load_journey`` calls on the same data once that index
is dropped (the bench's database is its own and thrown away), i.e. through ``ix_touchpoint_attendee_occurred``,
which walks every sighting of the attendee: what the store did before migration 0003.
"""

from __future__ import annotations

import random
import statistics
import time
from typing import Any

from rich.progress import Progress
from sqlalchemy import Connection, text
from sqlmodel import Session

EVENT = "bench"
T0 = 1_781_000_000.0
WINDOW_S = 2.0
OTHER_PER_ATTENDEE = 40  # taps, lead scans, app actions, pushes: what a journey is made of
INSERT_CHUNK = 50_000


def run_journey_bench(database_url: str | None, *, attendees: int, hours: float, scanners: int,
                      rounds: int = 3) -> dict[str, Any]:  # fmt: skip
    from server.bench.local import bench_database
    from server.core.config import load_settings
    from server.store.db import make_engine, migrate

    with bench_database(database_url, "journey") as url:
        engine = make_engine(load_settings(database_url=url).sqlalchemy_url)
        try:
            migrate(engine)
            rows = _seed(engine, attendees, hours, scanners)
            ours = _load_all(engine, attendees, rounds)
            with engine.begin() as conn:
                conn.execute(text("DROP INDEX ix_touchpoint_attendee_journey"))
                conn.execute(text("ANALYZE"))
            baseline = _load_all(engine, attendees, rounds)
            return {
                "bench": "journey",
                "journeys_per_s": round(ours["per_s"], 1),
                "baseline_journeys_per_s": round(baseline["per_s"], 1),
                "ratio": round(ours["per_s"] / baseline["per_s"], 2) if baseline["per_s"] else None,
                "p50_ms": round(ours["p50_ms"], 2),
                "baseline_p50_ms": round(baseline["p50_ms"], 2),
                "sightings_per_attendee": rows // attendees,
                "touchpoints": rows + attendees * OTHER_PER_ATTENDEE,
                "attendees": attendees,
                "hours": hours,
                "database": engine.dialect.name,
            }
        finally:
            engine.dispose()


def _seed(engine: Any, attendees: int, hours: float, scanners: int) -> int:
    """The event, its attendees, their sightings (through ingest's own bulk path) and other touchpoints."""
    from server.ingest.writer import insert_touchpoints
    from server.store.models import Attendee, Event

    with Session(engine) as s:
        s.add(Event(id=EVENT, name="Bench", starts_at=T0, ends_at=T0 + hours * 3600))
        s.flush()
        for a in range(attendees):
            s.add(Attendee(id=f"a{a:05d}", event_id=EVENT, name=f"Attendee {a}", consent_tracking=True,
                           registered_at=T0))  # fmt: skip
        s.commit()
    windows = int(hours * 3600 / WINDOW_S)
    total = windows * scanners * attendees
    rng = random.Random(7)
    chunk: list[tuple[Any, ...]] = []
    with Progress(transient=True) as progress:
        task = progress.add_task("storing a show's sightings", total=total)
        for w in range(windows):
            at = T0 + w * WINDOW_S
            for d in range(scanners):
                device = f"scanner-{d}"
                for a in range(attendees):
                    chunk.append((EVENT, "sighting", at, at + 1, f"a{a:05d}", device, None, w, a, f"b{a}",
                                  float(rng.randint(-90, -50)), None, 3, at + 1.5, '{"format":"ibeacon"}'))  # fmt: skip
            if len(chunk) >= INSERT_CHUNK or w == windows - 1:
                with engine.begin() as conn:
                    insert_touchpoints(conn, chunk)
                progress.advance(task, len(chunk))
                chunk = []
    with engine.begin() as conn:
        _other_touchpoints(conn, attendees, hours, rng)
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    return total


def _other_touchpoints(conn: Connection, attendees: int, hours: float, rng: random.Random) -> None:
    kinds = ("tap", "lead_scan", "app_action", "notification_sent")
    conn.execute(
        text("INSERT INTO touchpoint (event_id, type, occurred_at, received_at, attendee_id, idx, data) "
             "VALUES (:event, :type, :at, :at, :attendee, 0, :data)"),
        [
            {"event": EVENT, "type": kinds[n % len(kinds)], "at": T0 + rng.random() * hours * 3600,
             "attendee": f"a{a:05d}", "data": "{}"}
            for a in range(attendees)
            for n in range(OTHER_PER_ATTENDEE)
        ],
    )  # fmt: skip


def _load_all(engine: Any, attendees: int, rounds: int) -> dict[str, float]:
    """Every attendee's journey ``rounds`` times through the real ``load_journey``: loads/s and p50 ms."""
    from server.store.journeys import load_journey
    from server.store.models import Attendee
    from server.store.venue import load_venue

    session = Session(engine)
    venue = load_venue(session, EVENT)
    people = [session.get(Attendee, f"a{a:05d}") for a in range(attendees)]
    now = T0 + 86_400
    times: list[float] = []
    for _ in range(rounds):
        for person in people:
            assert person is not None
            started = time.perf_counter()
            journey = load_journey(session, person, venue, now)
            times.append(time.perf_counter() - started)
            assert len(journey.entries) >= 1
    session.close()
    return {"per_s": len(times) / sum(times), "p50_ms": statistics.median(times) * 1000}
