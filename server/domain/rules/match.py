"""Does a rule apply? Trigger, segment and condition matching, and rendering an action's payload.

Pure predicates used by :mod:`server.domain.rules.engine`. A rule that does not match produces no decision
at all (a segment mismatch is "this rule is not for you", not a suppression). Example: a ``score_crossed``
trigger with threshold 50 matches ``ScoreChanged(old=45, new=52)`` but not ``ScoreChanged(old=52, new=60)``
(already above) nor ``ScoreChanged(old=55, new=45)`` (downwards).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from server.domain.model import AgendaSession
from server.domain.rules.context import AttendeeContext, Exhibitor, VenueContext
from server.domain.rules.events import (
    AppAction,
    DwellReached,
    LeadScanned,
    RuleEvent,
    ScoreChanged,
    SessionLeft,
    StageChanged,
    TapEvent,
    VisitEnded,
    ZoneEntered,
    event_zone,
)
from server.domain.rules.guards import Channel, in_local_window
from server.domain.rules.model import (
    Action,
    AddTagAction,
    AppActionTrigger,
    Conditions,
    CrmUpdateAction,
    DwellReachedTrigger,
    EmailAction,
    LeadAction,
    LeadScannedTrigger,
    PushAction,
    RepAlertAction,
    ScoreCrossedTrigger,
    Segment,
    SessionLeftEarlyTrigger,
    StageChangedTrigger,
    StepTrigger,
    TapTrigger,
    VisitEndedTrigger,
    WebhookAction,
    ZoneEnteredTrigger,
    render,
)

REDACTED_NAME = "an attendee"  # what a rep sees instead of the name of someone who did not consent to share


@dataclass(frozen=True, slots=True)
class Scene:
    """Where and about what a rule fired: the zone, its exhibitor and the session, for conditions and templates."""

    zone_id: str | None = None
    exhibitor: Exhibitor | None = None
    session: AgendaSession | None = None


def scene_of(event: RuleEvent | None, attendee: AttendeeContext, venue: VenueContext) -> Scene:
    zone_id = event_zone(event) if event is not None else None
    zone_id = zone_id if zone_id is not None else attendee.current_zone_id
    exhibitor = venue.exhibitor_of_zone(zone_id)
    if isinstance(event, LeadScanned):
        exhibitor = venue.exhibitors.get(event.exhibitor_id, exhibitor)
    session = venue.sessions.get(event.session_id) if isinstance(event, SessionLeft) else None
    return Scene(zone_id, exhibitor, session)


def step_matches(trigger: StepTrigger, event: RuleEvent, venue: VenueContext, owner: str | None) -> bool:
    """Does one (non-time, non-sequence) trigger match the event? ``owner``: exhibitor id owning the rule."""
    zone_id = event_zone(event)
    zone = venue.zones.get(zone_id) if zone_id is not None else None
    kind = zone.kind if zone is not None else None
    if isinstance(trigger, ZoneEnteredTrigger):
        return isinstance(event, ZoneEntered) and trigger.matches_zone(zone_id, kind)
    if isinstance(trigger, DwellReachedTrigger):
        return (
            isinstance(event, DwellReached) and event.dwell_s >= trigger.dwell_s and trigger.matches_zone(zone_id, kind)
        )
    if isinstance(trigger, VisitEndedTrigger):
        return (
            isinstance(event, VisitEnded)
            and event.dwell_s >= trigger.min_dwell_s
            and trigger.matches_zone(zone_id, kind)
        )
    if isinstance(trigger, TapTrigger):
        return isinstance(event, TapEvent) and trigger.matches_zone(zone_id, kind)
    if isinstance(trigger, SessionLeftEarlyTrigger):
        if not isinstance(event, SessionLeft) or event.share >= trigger.max_share:
            return False
        session = venue.sessions.get(event.session_id)
        during = session is not None and session.starts_at <= event.at < session.ends_at
        return during and (not trigger.session_ids or event.session_id in trigger.session_ids)
    if isinstance(trigger, LeadScannedTrigger):
        if not isinstance(event, LeadScanned) or (owner is not None and event.exhibitor_id != owner):
            return False
        return not trigger.exhibitor_ids or event.exhibitor_id in trigger.exhibitor_ids
    if isinstance(trigger, AppActionTrigger):
        return isinstance(event, AppAction) and event.name == trigger.name
    if isinstance(trigger, ScoreCrossedTrigger):
        if not isinstance(event, ScoreChanged):
            return False
        return (event.old is None or event.old < trigger.threshold) and event.new >= trigger.threshold
    if isinstance(trigger, StageChangedTrigger):
        return isinstance(event, StageChanged) and event.new == trigger.to and event.old != trigger.to
    return False


def segment_matches(segment: Segment, attendee: AttendeeContext) -> bool:
    profile = attendee.profile
    tags, interests = set(profile.tags), set(profile.interests)
    if segment.tags_any and not tags.intersection(segment.tags_any):
        return False
    if not tags.issuperset(segment.tags_all) or tags.intersection(segment.tags_none):
        return False
    if segment.interests_any and not interests.intersection(segment.interests_any):
        return False
    if not interests.issuperset(segment.interests_all) or interests.intersection(segment.interests_none):
        return False
    if segment.roles and profile.role not in segment.roles:
        return False
    if segment.score_min is not None and (attendee.score is None or attendee.score < segment.score_min):
        return False
    if segment.score_max is not None and (attendee.score is None or attendee.score > segment.score_max):
        return False
    if segment.grades and attendee.grade not in segment.grades:
        return False
    if segment.stages and attendee.stage not in segment.stages:
        return False
    if segment.registered_for and not attendee.registered_sessions.intersection(segment.registered_for):
        return False
    return segment.checked_in is None or attendee.checked_in == segment.checked_in


def conditions_match(
    conditions: Conditions, scene: Scene, attendee: AttendeeContext, venue: VenueContext, now: float
) -> bool:
    place = conditions.place
    if place is not None:
        zone = venue.zones.get(scene.zone_id) if scene.zone_id is not None else None
        if not place.matches_zone(scene.zone_id, zone.kind if zone is not None else None):
            return False
    window = conditions.time
    if window is not None:
        if window.not_before is not None and now < window.not_before:
            return False
        if window.not_after is not None and now > window.not_after:
            return False
        if window.between is not None and not in_local_window(now, venue.utc_offset_s, *window.between):
            return False
    wanted = conditions.interest_matches
    if wanted is not None:
        offered: tuple[str, ...] = ()
        if wanted == "exhibitor" and scene.exhibitor is not None:
            offered = scene.exhibitor.interests
        elif wanted == "session" and scene.session is not None:
            offered = scene.session.tags
        return bool(set(attendee.profile.interests).intersection(offered))
    return True


def channel_of(action: Action) -> Channel:
    return Channel(action.type)


def template_values(
    attendee: AttendeeContext, scene: Scene, venue: VenueContext, rule_name: str, campaign_id: str, *, redact: bool
) -> dict[str, str]:
    profile = attendee.profile
    values = {"event.name": venue.event_name, "rule.name": rule_name, "campaign.id": campaign_id}
    if redact:
        values["attendee.name"] = REDACTED_NAME
    else:
        values.update({"attendee.name": attendee.name or "", "attendee.company": profile.company or ""})
        values.update(
            {"attendee.job_title": profile.job_title or "", "journey.summary": attendee.journey_summary or ""}
        )
    if scene.zone_id is not None:
        values.update({"zone.id": scene.zone_id, "zone.name": venue.zone_name(scene.zone_id)})
    if scene.exhibitor is not None:
        ex = scene.exhibitor
        values.update({"exhibitor.id": ex.id, "exhibitor.name": ex.name, "exhibitor.content_url": ex.content_url or ""})
    if scene.session is not None:
        session = scene.session
        local = time.strftime("%H:%M", time.gmtime(session.starts_at + venue.utc_offset_s))
        values.update({"session.id": session.id, "session.title": session.title, "session.starts_at_local": local})
        values["session.room"] = venue.zone_name(session.zone_id)
    return values


def render_payload(
    action: Action, values: dict[str, str], scene: Scene, attendee_id: str, redact: bool
) -> dict[str, object]:
    """The rendered action for the adapter. Redacted payloads hold no name, id or journey of the attendee."""
    if isinstance(action, PushAction):
        url = render(action.url, values) if action.url is not None else None
        return {"title": render(action.title, values), "body": render(action.body, values), "url": url}
    if isinstance(action, EmailAction):
        subject, body = render(action.subject, values), render(action.body, values)
        return {"subject": subject, "body": body, "transactional": action.transactional}
    if isinstance(action, RepAlertAction):
        exhibitor_id = action.exhibitor_id or (scene.exhibitor.id if scene.exhibitor is not None else None)
        payload: dict[str, object] = {"exhibitor_id": exhibitor_id, "zone_id": scene.zone_id}
        payload.update(message=render(action.message, values), opener=render(action.opener, values))
        if not redact:
            payload.update(attendee_id=attendee_id, attendee_name=values.get("attendee.name", ""))
            payload["journey_summary"] = values.get("journey.summary", "")
        return payload
    if isinstance(action, AddTagAction):
        return {"tag": action.tag}
    if isinstance(action, LeadAction):
        exhibitor_id = action.exhibitor_id or (scene.exhibitor.id if scene.exhibitor is not None else None)
        return {"exhibitor_id": exhibitor_id, "rating": action.rating.value}
    if isinstance(action, CrmUpdateAction):
        return {"fields": {k: render(v, values) for k, v in sorted(action.fields.items())}}
    assert isinstance(action, WebhookAction)
    return {"url": action.url, "payload": {k: render(v, values) for k, v in sorted(action.payload.items())}}
