"""Journeys and scores as read models: load an attendee's signals, let the pure core build and score them.

The organizer API, the rules, the CRM facts and the live score keeper (``server/live/scores.py``) all load a
journey here, so none of them depends on the live pipeline to read one. ``rescore`` writes the
``attendee_score`` read model the keeper and the API keep current.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection
from sqlmodel import Session, col, select

from server.config.load import default_scoring_model, default_stage_model
from server.domain import model as domain
from server.domain.attendance import session_attendance
from server.domain.journey import StageModel, build_journey, stage_of, summarize
from server.domain.scoring import ScoringModel, grade, score
from server.store.db import dialect_insert
from server.store.models import NOT_A_SIGHTING, Attendee, AttendeeScore, Touchpoint, Visit
from server.store.venue import Venue, load_venue

# Touchpoint types that enter the journey as they are (presence derives the rest from taps and sightings).
OTHER_KINDS = {
    "lead_scan": domain.JourneyKind.LEAD_SCAN,
    "meeting": domain.JourneyKind.MEETING,
    "app_action": domain.JourneyKind.APP_ACTION,
    "notification_sent": domain.JourneyKind.NOTIFICATION_SENT,
    "notification_opened": domain.JourneyKind.NOTIFICATION_OPENED,
}


@dataclass(frozen=True)
class Models:
    scoring: ScoringModel
    stages: StageModel

    @classmethod
    def defaults(cls) -> Models:
        return cls(default_scoring_model(), default_stage_model())


@dataclass(frozen=True)
class Journey:
    attendee: Attendee
    entries: list[domain.JourneyEntry]
    visits: list[domain.Visit]
    attendances: list[domain.Attendance]


def journey_signals(
    attendee_id: str, touchpoints: Iterable[Touchpoint]
) -> tuple[list[domain.Tap], list[domain.JourneyEntry]]:
    """An attendee's stored touchpoints as the journey takes them: taps (presence derives check-ins and
    attendance from them) and entries that enter the timeline as they are (lead scans, app actions ...)."""
    taps: list[domain.Tap] = []
    other: list[domain.JourneyEntry] = []
    for t in touchpoints:
        if t.type == "tap" and t.device_id:
            taps.append(domain.Tap(attendee_id, t.device_id, t.occurred_at))
        elif t.type in OTHER_KINDS:
            data = dict(t.data or {})
            ref = data.pop("ref", None)
            other.append(domain.JourneyEntry(t.occurred_at, OTHER_KINDS[t.type], t.zone_id, None, ref, data))
    return taps, other


def journey_touchpoints(attendee_ids: list[str]) -> Any:
    """These attendees' touchpoints other than sightings (a journey is built from visits, not raw sightings),
    by attendee, then in the order of ``ix_touchpoint_attendee_journey`` (which holds no sightings and answers
    it): entries of one instant keep that input order, as build_journey sorts stably."""
    mine = select(Touchpoint).where(col(Touchpoint.attendee_id).in_(attendee_ids), NOT_A_SIGHTING)
    return mine.order_by(col(Touchpoint.attendee_id), col(Touchpoint.occurred_at), col(Touchpoint.id))


# Attendees per query when journeys are loaded together (an IN list well under every database's limit).
LOAD_CHUNK = 500


def load_journey(session: Session, attendee: Attendee, venue: Venue, now: float) -> Journey:
    return load_journeys(session, [attendee], venue, now)[0]


def load_journeys(session: Session, attendees: list[Attendee], venue: Venue, now: float) -> list[Journey]:
    """The journeys of many attendees with two queries per ``LOAD_CHUNK`` of them, not two per attendee: the score
    keeper rescores thousands at once when a hall's visits open together (a warm start, the morning rush)."""
    touchpoints: dict[str, list[Touchpoint]] = {}
    visits: dict[str, list[Visit]] = {}
    ids = [a.id for a in attendees]
    for start in range(0, len(ids), LOAD_CHUNK):
        chunk = ids[start : start + LOAD_CHUNK]
        for t in session.exec(journey_touchpoints(chunk)):
            touchpoints.setdefault(t.attendee_id or "", []).append(t)
        stays = select(Visit).where(col(Visit.attendee_id).in_(chunk))
        for v in session.exec(stays.order_by(col(Visit.attendee_id), col(Visit.started_at))):
            visits.setdefault(v.attendee_id, []).append(v)
    return [_journey(a, touchpoints.get(a.id, []), visits.get(a.id, []), venue, now) for a in attendees]


def _journey(attendee: Attendee, rows: list[Touchpoint], stays: list[Visit], venue: Venue, now: float) -> Journey:
    taps, other = journey_signals(attendee.id, rows)
    visits = [domain.Visit(v.attendee_id, v.zone_id, v.started_at, v.ended_at) for v in stays]
    attendances = session_attendance(visits, venue.sessions, taps, venue.tap_zone, now=now)
    entries = build_journey(
        registered_at=attendee.registered_at, taps=taps, visits=visits, attendances=attendances,
        zones=venue.zones, sessions=venue.sessions, other=other, tap_zone=venue.tap_zone, now=now,
    )  # fmt: skip
    return Journey(attendee, entries, visits, attendances)


def profile_of(attendee: Attendee) -> domain.AttendeeProfile:
    return domain.AttendeeProfile(
        attendee.id, str(attendee.role), attendee.company, tuple(attendee.tags), tuple(attendee.interests),
        attendee.job_title, attendee.country,
    )  # fmt: skip


def evaluate(journey: Journey, venue: Venue, models: Models, now: float) -> dict[str, Any]:
    """Score, grade, stage and summary of one journey: what ``attendee_score`` stores (and the summary)."""
    result = score(journey.entries, models.scoring, now)
    letter = str(grade(profile_of(journey.attendee), models.scoring.fit))
    return {
        "attendee_id": journey.attendee.id,
        "event_id": journey.attendee.event_id,
        "score": float(result),
        "grade": letter,
        "stage": stage_of(journey.entries, result.total, models.stages),
        "breakdown": result.to_dict(),
        "model_version": result.model_version,
        "updated_at": now,
        "_summary": summarize(journey.entries, venue.zones, venue.sessions, venue.exhibitor_names),
    }


@dataclass(frozen=True)
class ScoreChange:
    """One rescored attendee, old and new (old None: first score); listeners (the rules) compare them."""

    attendee_id: str
    at: float
    old_score: float | None
    new_score: float
    old_stage: str | None
    new_stage: str
    summary: str


def rescore(
    conn: Connection, event_id: str, attendee_ids: Iterable[str], models: Models, now: float,
    changes: list[ScoreChange] | None = None,
) -> int:  # fmt: skip
    """Recompute and upsert the scores of ``attendee_ids``; returns how many were written.

    ``changes``, when given, receives each attendee's old and new score and stage (and journey summary).
    """
    session = Session(conn)
    venue = load_venue(session, event_id)
    ids = list(attendee_ids)
    old = {s.attendee_id: s for s in session.exec(select(AttendeeScore).where(col(AttendeeScore.attendee_id).in_(ids)))}
    rows = []
    attendees = list(session.exec(select(Attendee).where(col(Attendee.id).in_(ids))))
    for journey in load_journeys(session, attendees, venue, now):
        attendee = journey.attendee
        values = evaluate(journey, venue, models, now)
        summary = values.pop("_summary")
        rows.append(values)
        if changes is not None:
            was = old.get(attendee.id)
            changes.append(ScoreChange(attendee.id, now, was.score if was else None, values["score"],
                                       was.stage if was else None, values["stage"], summary))  # fmt: skip
    if rows:
        # One upsert statement for all of them (executemany), not one built and compiled per attendee.
        table = AttendeeScore.__table__  # type: ignore[attr-defined]
        insert: Any = dialect_insert(conn, table)
        update = {k: insert.excluded[k] for k in rows[0] if k != "attendee_id"}
        conn.execute(insert.on_conflict_do_update(index_elements=["attendee_id"], set_=update), rows)
    return len(rows)
