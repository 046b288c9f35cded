"""What the store knows about attendees, loaded in bulk for the worker: person facts, journeys, key touchpoints.

One query per table for a whole batch (attendees, scores, touchpoints, visits, leads), then the pure journey
core per attendee — the same functions the journey API uses, so Salesforce shows what the dashboard shows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table
from sqlalchemy import select as sa_select
from sqlmodel import Session, SQLModel, col, select

from server.crm.mapping import Mapping, PersonFacts, TaskFacts
from server.crm.opportunity import OpportunityFacts, qualified
from server.domain import model as domain
from server.domain.attendance import session_attendance
from server.domain.journey import build_journey, summarize
from server.store.journeys import journey_signals
from server.store.models import NOT_A_SIGHTING, Attendee, AttendeeRole, AttendeeScore, Event, Touchpoint, Visit
from server.store.venue import Venue, load_venue

# Entries that prove the attendee came (a push sent to someone who stayed home proves nothing).
PRESENT_KINDS = frozenset(
    {
        domain.JourneyKind.CHECK_IN,
        domain.JourneyKind.TAP,
        domain.JourneyKind.SESSION_ATTENDED,
        domain.JourneyKind.BOOTH_VISIT,
        domain.JourneyKind.ZONE_VISIT,
        domain.JourneyKind.LEAD_SCAN,
        domain.JourneyKind.MEETING,
    }
)
IN_CHUNK = 500  # ids per IN (...) list: well under SQLite's and PostgreSQL's parameter limits


@dataclass(frozen=True)
class EventFacts:
    id: str
    name: str
    starts_at: float
    ends_at: float

    def closed(self, now: float) -> bool:
        return now >= self.ends_at


@dataclass
class AttendeeContext:
    """One attendee's Salesforce footprint, as facts: the person, attendance status and key touchpoints."""

    facts: PersonFacts
    member_status: str  # registered, attended, no_show (keys of the mapping's campaign statuses)
    tasks: list[TaskFacts] = field(default_factory=list)
    opportunities: list[OpportunityFacts] = field(default_factory=list)  # leads a rep qualified


def lead_table() -> Table | None:
    """The lead capture table when that area is installed (server/store/app_models.py)."""
    return SQLModel.metadata.tables.get("lead")


def load_event(session: Session, event_id: str) -> EventFacts | None:
    event = session.get(Event, event_id)
    return EventFacts(event.id, event.name, event.starts_at, event.ends_at) if event else None


def consenting(session: Session, attendee_ids: Iterable[str]) -> dict[str, str]:
    """attendee id -> event id, for those who may reach the CRM (consent_crm, not event staff)."""
    out: dict[str, str] = {}
    for chunk in chunks(list(dict.fromkeys(attendee_ids)), IN_CHUNK):
        query = sa_select(col(Attendee.id), col(Attendee.event_id)).where(
            col(Attendee.id).in_(chunk), col(Attendee.consent_crm).is_(True), col(Attendee.role) != AttendeeRole.STAFF
        )
        out.update({a: e for a, e in session.execute(query)})
    return out


def load_contexts(
    session: Session, event: EventFacts, attendee_ids: list[str], mapping: Mapping, now: float
) -> dict[str, AttendeeContext]:
    """Contexts of the consenting attendees among ``attendee_ids`` (the others are simply absent)."""
    venue = load_venue(session, event.id)
    attendees: dict[str, Attendee] = {}
    scores: dict[str, AttendeeScore] = {}
    touchpoints: dict[str, list[Touchpoint]] = defaultdict(list)
    visits: dict[str, list[Visit]] = defaultdict(list)
    leads: dict[str, list[dict[str, Any]]] = defaultdict(list)
    table = lead_table()
    for chunk in chunks(attendee_ids, IN_CHUNK):
        for a in session.exec(
            select(Attendee).where(
                col(Attendee.id).in_(chunk),
                col(Attendee.consent_crm).is_(True),
                col(Attendee.role) != AttendeeRole.STAFF,
            )
        ):
            attendees[a.id] = a
        for s in session.exec(select(AttendeeScore).where(col(AttendeeScore.attendee_id).in_(chunk))):
            scores[s.attendee_id] = s
        for t in session.exec(select(Touchpoint).where(col(Touchpoint.attendee_id).in_(chunk), NOT_A_SIGHTING)):
            touchpoints[t.attendee_id or ""].append(t)
        for v in session.exec(select(Visit).where(col(Visit.attendee_id).in_(chunk))):
            visits[v.attendee_id].append(v)
        if table is not None:
            for row in session.execute(sa_select(table).where(table.c.attendee_id.in_(chunk))).mappings():
                leads[row["attendee_id"]].append(dict(row))
    out = {}
    for attendee_id, attendee in attendees.items():
        out[attendee_id] = _context(
            attendee,
            scores.get(attendee_id),
            touchpoints[attendee_id],
            visits[attendee_id],
            leads[attendee_id],
            venue,
            event,
            mapping,
            now,
        )
    return out


def _context(
    attendee: Attendee,
    score: AttendeeScore | None,
    touchpoints: list[Touchpoint],
    visits: list[Visit],
    leads: list[dict[str, Any]],
    venue: Venue,
    event: EventFacts,
    mapping: Mapping,
    now: float,
) -> AttendeeContext:
    taps, other = journey_signals(attendee.id, touchpoints)
    domain_visits = [domain.Visit(v.attendee_id, v.zone_id, v.started_at, v.ended_at) for v in visits]
    attendances = session_attendance(domain_visits, venue.sessions, taps, venue.tap_zone, now=now)
    entries = build_journey(
        registered_at=attendee.registered_at,
        taps=taps,
        visits=domain_visits,
        attendances=attendances,
        zones=venue.zones,
        sessions=venue.sessions,
        other=other,
        tap_zone=venue.tap_zone,
        now=now,
    )
    checked_in = any(e.kind in PRESENT_KINDS for e in entries)
    closed = event.closed(now)
    status = "attended" if checked_in else ("no_show" if closed else "registered")
    post = mapping.post_event
    follow_up = (post["attended"] if checked_in else post["missed_you"]) if closed else None
    shared = [lead for lead in leads if lead.get("contact_shared", True)]
    ratings = [int(lead["rating"]) for lead in shared if lead.get("rating") is not None]
    facts = PersonFacts(
        id=attendee.id,
        event_id=attendee.event_id,
        name=attendee.name,
        email=attendee.email,
        company=attendee.company,
        job_title=attendee.job_title,
        country=attendee.country,
        interests=tuple(attendee.interests),
        score=score.score if score else None,
        grade=score.grade if score else None,
        stage=score.stage if score else None,
        journey_summary=summarize(entries, venue.zones, venue.sessions, venue.exhibitor_names) or None,
        follow_up=follow_up,
        lead_rating=max(ratings) if ratings else None,
        **_last_touchpoint(entries, venue),
    )
    tasks = list(_touchpoint_tasks(attendee.id, entries, venue, mapping, now))
    tasks.extend(_lead_tasks(shared, venue, mapping))
    spec = mapping.tasks["follow_up"]
    if closed and checked_in and spec.get("enabled", True):
        score_value = round(score.score, 1) if score else 0.0
        hot = score_value >= float(spec.get("hot_score", 60))
        tasks.append(
            TaskFacts(
                f"followup:{event.id}:{attendee.id}",
                "follow_up",
                event.ends_at + 86400 * float(spec.get("due_days", 2)),
                {"event_name": event.name, "score": score_value, "grade": facts.grade or "-"},
                facts.journey_summary or "",
                completed=False,
                priority="High" if hot else "Normal",
            )
        )
    opportunities = [
        opp
        for lead in shared
        if (opp := qualified(mapping, lead, venue.exhibitor_names.get(lead["exhibitor_id"], lead["exhibitor_id"]),
                             attendee.name)) is not None
    ]  # fmt: skip
    return AttendeeContext(facts, status, tasks, opportunities)


def _last_touchpoint(entries: list[domain.JourneyEntry], venue: Venue) -> dict[str, Any]:
    last = next((e for e in reversed(entries) if e.kind is not domain.JourneyKind.REGISTRATION), None)
    if last is None:
        return {}
    names = {z.id: z.id for z in venue.zones} | {s.id: s.title for s in venue.sessions} | venue.exhibitor_names
    place = names.get(last.ref or "") or names.get(last.zone_id or "") or last.zone_id or ""
    when = datetime.fromtimestamp(last.at, UTC).strftime("%Y-%m-%d %H:%M UTC")
    return {
        "last_touchpoint": f"{last.kind.value.replace('_', ' ')} {place} {when}".replace("  ", " ")[:255],
        "last_touchpoint_at": last.at,
    }


def _touchpoint_tasks(
    attendee_id: str, entries: list[domain.JourneyEntry], venue: Venue, mapping: Mapping, now: float
) -> Iterator[TaskFacts]:
    """Booth visits with dwell and attended sessions, once they are over (an open visit still grows)."""
    booth, talk = mapping.tasks["booth_visit"], mapping.tasks["session"]
    sessions = {s.id: s for s in venue.sessions}
    for e in entries:
        if e.kind is domain.JourneyKind.BOOTH_VISIT and booth.get("enabled", True) and not e.details.get("open"):
            dwell = e.dwell_s or 0.0
            if dwell >= float(booth.get("min_dwell_s", 0)):
                exhibitor = venue.exhibitor_names.get(e.ref or "", e.ref or e.zone_id or "?")
                yield TaskFacts(
                    f"visit:{attendee_id}:{e.zone_id}:{int(e.at)}",
                    "booth_visit",
                    e.at,
                    {"exhibitor": exhibitor, "dwell_min": round(dwell / 60)},
                    f"Booth {e.zone_id}, {round(dwell)} s",
                )
        elif e.kind is domain.JourneyKind.SESSION_ATTENDED and talk.get("enabled", True):
            agenda = sessions.get(e.ref or "")
            if agenda is not None and agenda.ends_at <= now:
                share = float(e.details.get("share", 0.0))  # type: ignore[arg-type]
                yield TaskFacts(
                    f"session:{attendee_id}:{e.ref}",
                    "session",
                    e.at,
                    {"title": agenda.title, "share_pct": round(share * 100)},
                    f"Present {round(e.dwell_s or 0)} s of the session",
                )


def _lead_tasks(leads: list[dict[str, Any]], venue: Venue, mapping: Mapping) -> Iterator[TaskFacts]:
    spec = mapping.tasks["lead"]
    if not spec.get("enabled", True):
        return
    for lead in leads:
        answers = lead.get("answers") or {}
        lines = [f"{k}: {v}" for k, v in sorted(answers.items())]
        if lead.get("notes"):
            lines.append(f"Notes: {lead['notes']}")
        exhibitor = venue.exhibitor_names.get(lead["exhibitor_id"], lead["exhibitor_id"])
        rating = lead.get("rating")
        yield TaskFacts(
            f"lead:{lead['id']}",
            "lead",
            float(lead.get("created_at") or 0.0),
            {"exhibitor": exhibitor, "rating": rating if rating is not None else "-"},
            "\n".join(lines),
        )


def chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
