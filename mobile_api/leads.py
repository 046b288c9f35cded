"""How the booth app shows leads: an exhibitor sees an attendee's contact only with their consent.

Capturing a lead is a use case (server/usecases/leads.py); this module is the attendee app's view of one:
its JSON, its CSV export, and the live "hot lead" alert to the exhibitor's connected clients.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session

from server.domain.scoring import lead_score
from server.live.hub import Hub
from server.store.app_models import LEAD_HOT_RATING, LEAD_PERSONAL, Lead, LeadQuestion
from server.store.journeys import Models, load_journeys
from server.store.models import Attendee, Exhibitor
from server.store.venue import load_venue

HOT_RATING, PERSONAL = LEAD_HOT_RATING, LEAD_PERSONAL


def lead_json(lead: Lead) -> dict[str, Any]:
    """What an exhibitor sees: without consent, no personal data and no attendee id (only the lead id)."""
    data: dict[str, Any] = {
        "id": lead.id, "exhibitor_id": lead.exhibitor_id, "source": lead.source, "captured_by": lead.captured_by,
        "assigned_to": lead.assigned_to, "rating": lead.rating, "notes": lead.notes, "answers": lead.answers,
        "contact_shared": lead.contact_shared, "created_at": lead.created_at, "updated_at": lead.updated_at,
        "hot": lead.rating is not None and lead.rating >= HOT_RATING,
    }  # fmt: skip
    data["attendee_id"] = lead.attendee_id if lead.contact_shared else None
    for name in PERSONAL:
        data[name] = getattr(lead, name) if lead.contact_shared else None
    if not lead.contact_shared:
        data["name"] = f"Visitor #{lead.id}"
    return data


def lead_score_of(session: Session, lead: Lead, models: Models, now: float) -> float:
    """How engaged the lead's attendee is with this exhibitor (docs/scoring.md, "Lead score"), as of ``now``.

    Built from the attendee's journey: visits and taps at the exhibitor's booths and its lead scans count in
    full, sessions and content on the exhibitor's interests at ``lead.interest_weight``; what the attendee did
    at other booths counts nothing. The store has no session-to-exhibitor link yet, so "its sessions" is empty.
    """
    attendee = session.get(Attendee, lead.attendee_id)
    if attendee is None:  # erased since the capture: nothing left to score
        return 0.0
    venue = load_venue(session, lead.event_id)
    [journey] = load_journeys(session, [attendee], venue, now)
    exhibitor = session.get(Exhibitor, lead.exhibitor_id)
    booths = [z.id for z in venue.zones if z.exhibitor_id == lead.exhibitor_id]
    interests = exhibitor.interests if exhibitor is not None else []
    result = lead_score(journey.entries, lead.exhibitor_id, booths, (), interests, models.scoring, now)
    return float(result.total)


def alert_if_hot(session: Session, hub: Hub | None, lead: Lead, now: float) -> bool:
    """Tell the exhibitor's live clients (topic ``exhibitor:<id>``) once, the first time a lead is hot."""
    if lead.rating is None or lead.rating < HOT_RATING or lead.hot_alerted_at is not None:
        return False
    lead.hot_alerted_at = now
    session.add(lead)
    session.commit()
    if hub is not None:
        hub.publish(f"exhibitor:{lead.exhibitor_id}",
                    {"type": "hot_lead", "rep": lead.assigned_to, "lead": lead_json(lead), "at": now})  # fmt: skip
    return True


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    # A cell starting with = + - @ is a formula to spreadsheet programs: neutralise it (CSV injection).
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def leads_csv(leads: list[Lead], questions: list[LeadQuestion]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    keys = [q.key for q in questions]
    writer.writerow(["lead_id", "captured_at", "source", "rating", "contact_shared", *PERSONAL, "notes", *keys])
    for lead in leads:
        shown = lead_json(lead)
        captured = datetime.fromtimestamp(lead.created_at, UTC).isoformat(timespec="seconds")
        row = [lead.id, captured, lead.source, lead.rating, lead.contact_shared, *(shown[p] for p in PERSONAL),
               lead.notes, *(lead.answers.get(k) for k in keys)]  # fmt: skip
        writer.writerow([_cell(v) for v in row])
    return out.getvalue()
