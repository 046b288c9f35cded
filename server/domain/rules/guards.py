"""The guarantees every action that reaches a person passes through, in one place.

Why central: rules are written by many organizers and exhibitors; whatever they write, an attendee is never
messaged without consent, at night, during a talk they sit in (when the rule asks), more often than the caps
allow, or twice by one campaign on two channels. The engine asks :func:`check_action` for every action it
would take and records a *suppressed* decision with the returned reason — nothing is dropped silently.

Checks, in this order (the first failing one is the reason):

1. ``consent_missing`` — tracking-based rule without tracking consent (every action of the rule); push
   without push consent; marketing email without email consent; lead / CRM update without share consent.
2. ``already_reached_by_campaign`` — the campaign already reached the attendee on another channel.
3. ``quiet_hours`` — local time inside the event's quiet hours (rule option ``respect_quiet_hours``).
4. ``in_session`` — the attendee sits in a running session (rule option ``not_during_session``).
5. ``cap_rule`` / ``cap_campaign`` / ``cap_overall`` — frequency caps per attendee.

Checks 2-5 apply to channels that reach the attendee (push, email). A rep alert reaches the rep: no caps,
but without share consent it carries no personal data (the engine redacts it). Add-tag and webhook are
internal; a webhook without share consent is redacted like a rep alert. Example: with the defaults, the
fourth push within an hour to one attendee is suppressed with ``cap_overall``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from server.domain.rules.context import AttendeeContext, VenueContext
from server.domain.rules.model import Cap, Rule

HOUR_S = 3600
DAY_S = 24 * HOUR_S
# Overall push caps: beyond ~3 an hour people mute the app (and then we can reach nobody); 8 a day covers a
# full conference day of genuinely useful nudges.
MAX_PUSHES_PER_HOUR = 3
MAX_PUSHES_PER_DAY = 8
MAX_EMAILS_PER_DAY = 2  # mail is heavier than a push: a reminder and a follow-up a day at most
DEFAULT_RULE_CAP = Cap(max_sends=1, window_s=DAY_S)  # the same message twice a day is spam; repeaters say so
DEFAULT_CAMPAIGN_CAP = Cap(max_sends=2, window_s=DAY_S)  # a campaign is one conversation: two turns a day
QUIET_HOURS_LOCAL = ("22:00", "08:00")  # nights are off-limits unless the organizer says otherwise


class SuppressionReason(StrEnum):
    CONSENT_MISSING = "consent_missing"
    ALREADY_REACHED_BY_CAMPAIGN = "already_reached_by_campaign"
    QUIET_HOURS = "quiet_hours"
    IN_SESSION = "in_session"
    CAP_RULE = "cap_rule"
    CAP_CAMPAIGN = "cap_campaign"
    CAP_OVERALL = "cap_overall"


class Channel(StrEnum):
    PUSH = "push"
    EMAIL = "email"
    REP_ALERT = "rep_alert"
    ADD_TAG = "add_tag"
    LEAD = "lead"
    CRM_UPDATE = "crm_update"
    WEBHOOK = "webhook"


PERSON_CHANNELS = frozenset({Channel.PUSH, Channel.EMAIL})  # reach the attendee: caps and quiet hours apply
DEFAULT_OVERALL_CAPS: dict[Channel, tuple[Cap, ...]] = {
    Channel.PUSH: (
        Cap(max_sends=MAX_PUSHES_PER_HOUR, window_s=HOUR_S),
        Cap(max_sends=MAX_PUSHES_PER_DAY, window_s=DAY_S),
    ),
    Channel.EMAIL: (Cap(max_sends=MAX_EMAILS_PER_DAY, window_s=DAY_S),),
}


def _minutes(local: str) -> int:
    hours, minutes = local.split(":")
    return int(hours) * 60 + int(minutes)


def local_minute(now: float, utc_offset_s: int) -> int:
    """Minute of the local day (0..1439) at Unix time ``now``."""
    return int(((now + utc_offset_s) % DAY_S) // 60)


def in_local_window(now: float, utc_offset_s: int, start: str, end: str) -> bool:
    """Is local time in [start, end)? A window with end <= start wraps midnight (22:00-08:00)."""
    minute, lo, hi = local_minute(now, utc_offset_s), _minutes(start), _minutes(end)
    return lo <= minute < hi if lo < hi else (minute >= lo or minute < hi)


@dataclass(frozen=True, slots=True)
class GuardParams:
    """Per-event guard settings. ``quiet_hours`` None disables them for the event."""

    quiet_hours: tuple[str, str] | None = QUIET_HOURS_LOCAL
    overall_caps: dict[Channel, tuple[Cap, ...]] = field(default_factory=lambda: dict(DEFAULT_OVERALL_CAPS))
    rule_cap: Cap = DEFAULT_RULE_CAP
    campaign_cap: Cap = DEFAULT_CAMPAIGN_CAP

    def longest_window_s(self) -> float:
        windows = [self.rule_cap.window_s, self.campaign_cap.window_s]
        windows += [cap.window_s for caps in self.overall_caps.values() for cap in caps]
        return max(windows)


@dataclass(frozen=True, slots=True)
class Send:
    """One fired action that reached an attendee (push or email): what the caps count."""

    at: float
    rule_id: str
    campaign_id: str
    channel: Channel


@dataclass(slots=True)
class SendHistory:
    """Sends per attendee (pruned past the longest cap window) and the channel each campaign reached them on."""

    sends: dict[str, list[Send]] = field(default_factory=dict)
    reached: dict[str, dict[str, Channel]] = field(default_factory=dict)  # attendee -> campaign -> channel

    def record(self, attendee_id: str, send: Send, keep_s: float) -> None:
        kept = [s for s in self.sends.get(attendee_id, []) if s.at > send.at - keep_s]
        kept.append(send)
        self.sends[attendee_id] = kept
        self.reached.setdefault(attendee_id, {}).setdefault(send.campaign_id, send.channel)

    def count(self, attendee_id: str, now: float, window_s: float, **match: str) -> int:
        return sum(
            1
            for s in self.sends.get(attendee_id, ())
            if now - window_s < s.at <= now and all(getattr(s, k) == v for k, v in match.items())
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "sends": {
                a: [[s.at, s.rule_id, s.campaign_id, s.channel.value] for s in sends] for a, sends in self.sends.items()
            },
            "reached": {a: {c: ch.value for c, ch in by.items()} for a, by in self.reached.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SendHistory:
        return cls(
            sends={
                a: [Send(float(at), r, c, Channel(ch)) for at, r, c, ch in sends]
                for a, sends in data.get("sends", {}).items()
            },
            reached={a: {c: Channel(ch) for c, ch in by.items()} for a, by in data.get("reached", {}).items()},
        )


def consent_ok(
    channel: Channel, attendee: AttendeeContext, *, tracking_based: bool, transactional: bool = False
) -> bool:
    consents = attendee.consents
    if tracking_based and not consents.tracking:
        return False
    if channel is Channel.PUSH:
        return consents.push
    if channel is Channel.EMAIL:
        return consents.email or transactional
    if channel in (Channel.LEAD, Channel.CRM_UPDATE):
        return consents.share
    return True  # rep alert / webhook are redacted instead; add_tag is internal


def _caps_exceeded(
    history: SendHistory, attendee_id: str, now: float, channel: Channel, rule: Rule | None, campaign_id: str,
    params: GuardParams,
) -> SuppressionReason | None:  # fmt: skip
    if rule is not None:
        cap = rule.guards.caps.rule or params.rule_cap
        if history.count(attendee_id, now, cap.window_s, rule_id=rule.id) >= cap.max_sends:
            return SuppressionReason.CAP_RULE
        cap = rule.guards.caps.campaign or params.campaign_cap
        if history.count(attendee_id, now, cap.window_s, campaign_id=campaign_id) >= cap.max_sends:
            return SuppressionReason.CAP_CAMPAIGN
    for cap in params.overall_caps.get(channel, ()):
        if history.count(attendee_id, now, cap.window_s, channel=channel) >= cap.max_sends:
            return SuppressionReason.CAP_OVERALL
    return None


def check_action(
    *,
    rule: Rule | None,
    campaign_id: str,
    channel: Channel,
    attendee: AttendeeContext,
    venue: VenueContext,
    history: SendHistory,
    params: GuardParams,
    now: float,
    transactional: bool = False,
    respect_quiet_hours: bool = True,
    not_during_session: bool = False,
    tracking_based: bool = False,
) -> SuppressionReason | None:
    """Why this action must not go out now, or None when it may. ``rule`` None: a platform notification
    (e.g. "your contact is nearby"): no rule/campaign cap, the keyword options say how it behaves."""
    tracking_based = rule.tracking_based if rule is not None else tracking_based
    if not consent_ok(channel, attendee, tracking_based=tracking_based, transactional=transactional):
        return SuppressionReason.CONSENT_MISSING
    if channel not in PERSON_CHANNELS:
        return None
    reached_on = history.reached.get(attendee.id, {}).get(campaign_id)
    if reached_on is not None and reached_on is not channel:
        return SuppressionReason.ALREADY_REACHED_BY_CAMPAIGN
    if rule is not None:
        respect_quiet_hours = rule.guards.respect_quiet_hours
        not_during_session = rule.guards.not_during_session
    quiet = params.quiet_hours
    if respect_quiet_hours and quiet is not None and in_local_window(now, venue.utc_offset_s, *quiet):
        return SuppressionReason.QUIET_HOURS
    if not_during_session and attendee.in_session(venue, now):
        return SuppressionReason.IN_SESSION
    return _caps_exceeded(history, attendee.id, now, channel, rule, campaign_id, params)
