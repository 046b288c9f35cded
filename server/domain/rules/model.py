"""Trigger rules as data: the pydantic models of a rule and their validation.

A rule says *when* (trigger), *for whom* (segment), *where and at what time* (conditions), *what* (actions),
*what success looks like* (goal) and how it respects people (guard options). Rules are stored, versioned and
edited over the organizer API as JSON; the seed templates ship as YAML (loading, paths of errors:
:mod:`server.domain.rules.parse`). Nothing here evaluates a rule — that is :mod:`server.domain.rules.engine`.

Why data and not code: organizers and exhibitors write rules without a deploy, and one engine can then
guarantee consent, quiet hours and caps for all of them. Example (YAML)::

    id: booth-nearby
    campaign_id: booth-nearby
    name: A booth matching your interests
    trigger: {type: zone_entered, zone_kinds: [lounge]}
    segment: {interests_any: [ai, robotics]}
    conditions: {time: {between: ["09:00", "18:00"]}}
    actions:
      - {type: push, title: "Hi {attendee.name}", body: "Drop by {exhibitor.name}!"}
    goal: {kind: booth_visit, within_s: 3600}

Owners: ``"organizer"`` or ``"exhibitor:<exhibitor id>"``. An exhibitor may own rules only about their
booth: every trigger names zone ids (checked against the venue by
:func:`server.domain.rules.parse.venue_problems`) or is a lead scan,
and rep alerts / leads go to that exhibitor only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from server.domain.model import JourneyKind, ZoneKind

DEFAULT_TIME_TRIGGER_GRACE_S = 30 * 60  # a tick this late still fires "10 min before"; later it is stale
ORGANIZER = "organizer"
_RULE_ID = r"^[a-z0-9][a-z0-9._-]{0,63}$"
_LOCAL_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
PLACEHOLDER = re.compile(r"\{([a-z_]+\.[a-z_]+)\}")
# Every value a template may use. Contact details (email, phone) are deliberately absent.
ALLOWED_PLACEHOLDERS = frozenset(
    {
        "attendee.name", "attendee.company", "attendee.job_title",
        "zone.id", "zone.name", "exhibitor.id", "exhibitor.name", "exhibitor.content_url",
        "session.id", "session.title", "session.starts_at_local", "session.room",
        "event.name", "rule.name", "campaign.id", "journey.summary",
    }
)  # fmt: skip


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ZoneFilter(_Strict):
    """Zone ids or zone kinds; both empty means any zone."""

    zone_ids: tuple[str, ...] = ()
    zone_kinds: tuple[ZoneKind, ...] = ()

    def matches_zone(self, zone_id: str | None, kind: ZoneKind | None) -> bool:
        if not self.zone_ids and not self.zone_kinds:
            return zone_id is not None
        return (zone_id is not None and zone_id in self.zone_ids) or (kind is not None and kind in self.zone_kinds)


# ---- triggers ---------------------------------------------------------------------------------------------
class ZoneEnteredTrigger(ZoneFilter):
    type: Literal["zone_entered"]


class DwellReachedTrigger(ZoneFilter):
    type: Literal["dwell_reached"]
    dwell_s: float = Field(gt=0)


class VisitEndedTrigger(ZoneFilter):
    type: Literal["visit_ended"]
    min_dwell_s: float = Field(default=0.0, ge=0)


class SessionLeftEarlyTrigger(_Strict):
    type: Literal["session_left_early"]
    max_share: float = Field(gt=0, le=1)  # left while the session ran, having seen less than this share
    session_ids: tuple[str, ...] = ()


class TapTrigger(ZoneFilter):
    type: Literal["tap"]


class LeadScannedTrigger(_Strict):
    type: Literal["lead_scanned"]
    exhibitor_ids: tuple[str, ...] = ()


class AppActionTrigger(_Strict):
    type: Literal["app_action"]
    name: str = Field(min_length=1)


class ScoreCrossedTrigger(_Strict):
    type: Literal["score_crossed"]
    threshold: float  # fires when the score goes from below to at-or-above (upwards only)


class StageChangedTrigger(_Strict):
    type: Literal["stage_changed"]
    to: str = Field(min_length=1)


class TimeAnchor(StrEnum):
    EVENT_START = "event_start"
    EVENT_END = "event_end"
    SESSION_START = "session_start"
    SESSION_END = "session_end"


class TimeTrigger(_Strict):
    """A moment relative to the event or each session; ``offset_s`` < 0 is before. Evaluated by ``tick``.

    ``audience`` (session anchors only): ``all`` attendees, those ``registered`` for the session, or those
    currently ``nearby`` its room (presence: needs tracking consent).
    """

    type: Literal["time"]
    anchor: TimeAnchor
    offset_s: float = 0.0
    session_ids: tuple[str, ...] = ()
    audience: Literal["all", "registered", "nearby"] = "all"
    grace_s: float = Field(default=DEFAULT_TIME_TRIGGER_GRACE_S, gt=0)

    @model_validator(mode="after")
    def _session_options_need_session_anchor(self) -> TimeTrigger:
        on_session = self.anchor in (TimeAnchor.SESSION_START, TimeAnchor.SESSION_END)
        if not on_session and (self.session_ids or self.audience != "all"):
            raise ValueError("session_ids and audience apply only to session_start/session_end anchors")
        return self


StepTrigger = Annotated[
    ZoneEnteredTrigger | DwellReachedTrigger | VisitEndedTrigger | SessionLeftEarlyTrigger | TapTrigger
    | LeadScannedTrigger | AppActionTrigger | ScoreCrossedTrigger | StageChangedTrigger,
    Field(discriminator="type"),
]  # fmt: skip


class SequenceTrigger(_Strict):
    """Steps in this order, the last within ``within_s`` of the first (e.g. booth A, then booth B in 1 h)."""

    type: Literal["sequence"]
    steps: tuple[StepTrigger, ...] = Field(min_length=2)
    within_s: float = Field(gt=0)


Trigger = Annotated[StepTrigger | TimeTrigger | SequenceTrigger, Field(discriminator="type")]
TRACKING_TRIGGERS = frozenset({"zone_entered", "dwell_reached", "visit_ended", "session_left_early"})


# ---- segment and conditions -------------------------------------------------------------------------------
class Segment(_Strict):
    """Who the rule is for; every field given must hold (empty = no constraint)."""

    tags_any: tuple[str, ...] = ()
    tags_all: tuple[str, ...] = ()
    tags_none: tuple[str, ...] = ()
    interests_any: tuple[str, ...] = ()
    interests_all: tuple[str, ...] = ()
    interests_none: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    score_min: float | None = None
    score_max: float | None = None
    grades: tuple[str, ...] = ()
    stages: tuple[str, ...] = ()
    registered_for: tuple[str, ...] = ()  # registered for any of these session ids
    checked_in: bool | None = None  # False: registered no-shows


class TimeWindow(_Strict):
    """Local wall-clock window (may wrap midnight) and/or absolute Unix bounds, inclusive start."""

    between: tuple[str, str] | None = None
    not_before: float | None = None
    not_after: float | None = None

    @field_validator("between")
    @classmethod
    def _hh_mm(cls, value: tuple[str, str] | None) -> tuple[str, str] | None:
        if value is not None:
            for text in value:
                if not _LOCAL_TIME.match(text):
                    raise ValueError(f"{text!r} is not a local time HH:MM")
        return value


class Conditions(_Strict):
    """Where and when, checked at evaluation. ``place`` looks at the event's zone, else the attendee's."""

    place: ZoneFilter | None = None
    time: TimeWindow | None = None
    interest_matches: Literal["exhibitor", "session"] | None = None  # shared interest with booth / talk tags


# ---- actions ----------------------------------------------------------------------------------------------
class PushAction(_Strict):
    type: Literal["push"]
    title: str = Field(min_length=1)
    body: str = ""
    url: str | None = None


class RepAlertAction(_Strict):
    type: Literal["rep_alert"]
    exhibitor_id: str | None = None  # None: the exhibitor of the zone where it happened
    message: str = Field(min_length=1)
    opener: str = ""


class EmailAction(_Strict):
    type: Literal["email"]
    subject: str = Field(min_length=1)
    body: str = Field(min_length=1)
    transactional: bool = False  # reminders of what the attendee booked: no marketing consent needed


class AddTagAction(_Strict):
    type: Literal["add_tag"]
    tag: str = Field(min_length=1)


class LeadRating(StrEnum):
    COLD = "cold"
    WARM = "warm"
    HOT = "hot"


class LeadAction(_Strict):
    type: Literal["lead"]
    exhibitor_id: str | None = None
    rating: LeadRating = LeadRating.WARM  # create, or upgrade an existing lead (never downgrade)


class CrmUpdateAction(_Strict):
    type: Literal["crm_update"]
    fields: dict[str, str] = Field(min_length=1)


class WebhookAction(_Strict):
    type: Literal["webhook"]
    url: str = Field(pattern=r"^https?://")
    payload: dict[str, str] = Field(default_factory=dict)


Action = Annotated[
    PushAction | RepAlertAction | EmailAction | AddTagAction | LeadAction | CrmUpdateAction | WebhookAction,
    Field(discriminator="type"),
]


class Goal(_Strict):
    """Conversion: a touchpoint of ``kind`` (optionally at these zones / with this ref) within ``within_s``."""

    kind: JourneyKind
    within_s: float = Field(gt=0)
    zone_ids: tuple[str, ...] = ()
    ref: str | None = None


class Cap(_Strict):
    max_sends: int = Field(ge=1)
    window_s: float = Field(gt=0)


class CapOverrides(_Strict):
    rule: Cap | None = None
    campaign: Cap | None = None


class GuardOptions(_Strict):
    respect_quiet_hours: bool = True
    not_during_session: bool = False
    caps: CapOverrides = CapOverrides()


# ---- the rule ---------------------------------------------------------------------------------------------
class Rule(_Strict):
    id: str = Field(pattern=_RULE_ID)
    version: int = Field(default=1, ge=1)
    name: str = Field(min_length=1)
    description: str = ""
    owner: str = Field(default=ORGANIZER, pattern=r"^(organizer|exhibitor:[A-Za-z0-9._-]+)$")
    campaign_id: str = Field(pattern=_RULE_ID)
    enabled: bool = True
    trigger: Trigger
    segment: Segment = Segment()
    conditions: Conditions = Conditions()
    actions: tuple[Action, ...] = Field(min_length=1)
    goal: Goal | None = None
    guards: GuardOptions = GuardOptions()

    @property
    def key(self) -> tuple[str, int]:
        return (self.id, self.version)

    @property
    def exhibitor_owner(self) -> str | None:
        return self.owner.split(":", 1)[1] if self.owner.startswith("exhibitor:") else None

    @property
    def tracking_based(self) -> bool:
        """Uses presence data: a tracking trigger (or step), a place condition or a "nearby" audience."""
        trigger = self.trigger
        if isinstance(trigger, SequenceTrigger):
            uses = any(step.type in TRACKING_TRIGGERS for step in trigger.steps)
        elif isinstance(trigger, TimeTrigger):
            uses = trigger.audience == "nearby"
        else:
            uses = trigger.type in TRACKING_TRIGGERS
        return uses or self.conditions.place is not None

    @model_validator(mode="after")
    def _templates_and_ownership(self) -> Rule:
        for action in self.actions:
            for text in _template_texts(action):
                unknown = sorted(set(PLACEHOLDER.findall(text)) - ALLOWED_PLACEHOLDERS)
                if unknown:
                    raise ValueError(f"{action.type} action: unknown placeholder(s) {unknown} in {text!r}")
        exhibitor = self.exhibitor_owner
        if exhibitor is not None:
            steps = self.trigger.steps if isinstance(self.trigger, SequenceTrigger) else (self.trigger,)
            for step in steps:
                if isinstance(step, LeadScannedTrigger):
                    if step.exhibitor_ids not in ((), (exhibitor,)):
                        raise ValueError("an exhibitor's rule may react only to its own lead scans")
                elif not isinstance(step, ZoneFilter) or not step.zone_ids or step.zone_kinds:
                    raise ValueError("an exhibitor's rule must trigger on its booth zone ids (or its lead scans)")
            for action in self.actions:
                if isinstance(action, RepAlertAction | LeadAction) and action.exhibitor_id not in (None, exhibitor):
                    raise ValueError(f"{action.type} action: an exhibitor's rule may address only its own reps")
        return self


def _template_texts(action: BaseModel) -> list[str]:
    texts: list[str] = []
    for value in action.__dict__.values():
        if isinstance(value, str):
            texts.append(value)
        elif isinstance(value, dict):
            texts.extend(v for v in value.values() if isinstance(v, str))
    return texts


def render(template: str, values: Mapping[str, str]) -> str:
    """Fill ``{attendee.name}``-style placeholders; a value missing in context renders as empty text."""
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), ""), template)
