"""An attendee's journey as the API shows it: the same view for organizers and for the attendee themself."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from sqlmodel import Session

from server.domain.journey import to_json
from server.runtime import Runtime
from server.store.journeys import Models, evaluate, load_journey
from server.store.models import Attendee
from server.store.venue import load_venue


class JourneyOut(BaseModel):
    attendee_id: str
    stage: str
    score: float
    grade: str
    summary: str
    entries: list[dict[str, Any]]
    score_breakdown: dict[str, Any]


def journey_view(session: Session, runtime: Runtime, attendee: Attendee) -> JourneyOut:
    """Timeline, stage, score with its breakdown and a one-line summary, computed now (scores decay)."""
    now = runtime.pipeline.now()
    models = runtime.pipeline.scores.models if runtime.pipeline.scores else Models.defaults()
    venue = load_venue(session, runtime.settings.event_id)
    journey = load_journey(session, attendee, venue, now)
    values = evaluate(journey, venue, models, now)
    return JourneyOut(
        attendee_id=attendee.id, stage=values["stage"], score=values["score"], grade=values["grade"],
        summary=values["_summary"], entries=to_json(journey.entries), score_breakdown=values["breakdown"],
    )  # fmt: skip
