"""The guarantees: consent per channel, quiet hours, in-session, caps, one touchpoint per campaign."""

from __future__ import annotations

from typing import Any

import pytest
from test_rules_support import DAY, EMAIL, HOUR, MIN, PUSH, T0, VENUE, attendee, engine, rule, summary

from server.domain.rules.context import Consents
from server.domain.rules.events import AppAction, TapEvent, ZoneEntered
from server.domain.rules.guards import GuardParams, in_local_window

OPEN: dict[str, Any] = {"type": "app_action", "name": "open"}  # not tracking-based
REP_ALERT: dict[str, Any] = {
    "type": "rep_alert",
    "message": "{attendee.name} is here. {journey.summary}",
    "opener": "Hi!",
}


def _open(at: float, who: str = "a1", **context: Any) -> tuple[AppAction, Any, float]:
    return AppAction(who, at, "open"), attendee(who, **context), at


# ---- consent ------------------------------------------------------------------------------------------------
def test_push_needs_push_consent_and_email_needs_email_consent_unless_transactional() -> None:
    rules = engine(
        rule("p", OPEN),
        rule("m", OPEN, actions=[EMAIL]),
        rule("t", OPEN, actions=[{**EMAIL, "transactional": True}]),
    )

    decisions = rules.handle(*_open(T0, consents=Consents()))

    assert summary(decisions) == [
        ("m", "a1", "email", "consent_missing"),
        ("p", "a1", "push", "consent_missing"),
        ("t", "a1", "email", "fired"),
    ]


def test_tracking_based_rules_need_tracking_consent_for_every_action() -> None:
    actions = [PUSH, {"type": "add_tag", "tag": "b1"}, {"type": "webhook", "url": "https://crm.example/hook"}]
    rules = engine(
        rule("zone", {"type": "zone_entered", "zone_ids": ["b1"]}, actions=actions), rule("tap", {"type": "tap"})
    )
    untracked = attendee(consents=Consents(push=True, email=True, share=True))

    zone = rules.handle(ZoneEntered("a1", T0, "b1"), untracked, T0)
    tap = rules.handle(TapEvent("a1", T0, "e1"), untracked, T0)  # a deliberate tap is not tracking

    assert [d.reason.value if d.reason else "fired" for d in zone] == ["consent_missing"] * 3
    assert all(d.payload == {} for d in zone)  # nothing personal kept for what was not sent
    assert summary(tap) == [("tap", "a1", "push", "fired")]


def test_leads_and_crm_need_share_consent_and_rep_alerts_go_out_without_personal_data() -> None:
    actions = [REP_ALERT, {"type": "lead", "rating": "warm"}, {"type": "crm_update", "fields": {"Status": "Visited"}}]
    rules = engine(rule("rep", {"type": "zone_entered", "zone_ids": ["b1"]}, actions=actions))
    private = attendee(consents=Consents(tracking=True, push=True), journey_summary="3 booths, 2 talks")
    sharing = attendee("a2", consents=Consents(tracking=True, share=True), journey_summary="3 booths, 2 talks")

    withheld = rules.handle(ZoneEntered("a1", T0, "b1"), private, T0)
    shared = rules.handle(ZoneEntered("a2", T0, "b1"), sharing, T0)

    assert summary(withheld) == [("rep", "a1", "rep_alert", "fired"), ("rep", "a1", "lead", "consent_missing"),
                                 ("rep", "a1", "crm_update", "consent_missing")]  # fmt: skip
    assert withheld[0].redacted
    assert withheld[0].payload == {
        "exhibitor_id": "acme",
        "zone_id": "b1",
        "message": "an attendee is here. ",
        "opener": "Hi!",
    }
    assert summary(shared) == [("rep", "a2", "rep_alert", "fired"), ("rep", "a2", "lead", "fired"),
                               ("rep", "a2", "crm_update", "fired")]  # fmt: skip
    assert shared[0].payload["attendee_id"] == "a2"
    assert shared[0].payload["message"] == "A2 is here. 3 booths, 2 talks"


# ---- quiet hours and sessions -------------------------------------------------------------------------------
def test_quiet_hours_suppress_at_night_in_local_time() -> None:
    rules = engine(rule("p", OPEN), rule("urgent", OPEN, guards={"respect_quiet_hours": False}))
    night = T0 + 13 * HOUR  # 22:00 UTC

    assert summary(rules.handle(*_open(night))) == [
        ("p", "a1", "push", "quiet_hours"),
        ("urgent", "a1", "push", "fired"),
    ]
    assert summary(engine(rule("p", OPEN), params=GuardParams(quiet_hours=None)).handle(*_open(night))) == [
        ("p", "a1", "push", "fired")
    ]


def test_quiet_hours_follow_the_venue_timezone() -> None:
    from dataclasses import replace

    from server.domain.rules.engine import RuleEngine

    tokyo = RuleEngine([rule("p", OPEN)], replace(VENUE, utc_offset_s=9 * 3600))  # 09:00 UTC is 18:00 there

    assert summary(tokyo.handle(*_open(T0))) == [("p", "a1", "push", "fired")]
    assert summary(tokyo.handle(*_open(T0 + 4 * HOUR, "a2"))) == [("p", "a2", "push", "quiet_hours")]  # 22:00


@pytest.mark.parametrize(
    ("now", "start", "end", "inside"),
    [(T0, "08:00", "12:00", True), (T0, "09:01", "12:00", False), (T0 + 14 * HOUR, "22:00", "08:00", True),
     (T0 - 1 * HOUR, "22:00", "08:00", False), (T0 - 2 * HOUR, "22:00", "08:00", True)],
)  # fmt: skip
def test_local_windows_wrap_midnight(now: float, start: str, end: str, inside: bool) -> None:
    assert in_local_window(now, 0, start, end) is inside


def test_not_during_a_session_the_attendee_is_attending() -> None:
    rules = engine(rule("polite", OPEN, guards={"not_during_session": True}), rule("p", OPEN))
    during = T0 + 90 * MIN

    in_room = rules.handle(*_open(during, current_zone_id="r1"))
    told_by_presence = rules.handle(*_open(during, "a2", attending_session_id="s1"))
    in_lounge = rules.handle(*_open(during, "a3", current_zone_id="l1"))

    assert summary(in_room) == [("p", "a1", "push", "fired"), ("polite", "a1", "push", "in_session")]
    assert summary(told_by_presence)[1] == ("polite", "a2", "push", "in_session")
    assert summary(in_lounge) == [("p", "a3", "push", "fired"), ("polite", "a3", "push", "fired")]


# ---- caps ---------------------------------------------------------------------------------------------------
def test_rule_cap_once_a_day_by_default() -> None:
    rules = engine(rule("p", OPEN))

    outcomes = [summary(rules.handle(*_open(at)))[0][3] for at in (T0, T0 + HOUR, T0 + DAY - 1, T0 + DAY)]

    assert outcomes == ["fired", "cap_rule", "cap_rule", "fired"]


def test_rule_cap_can_be_overridden_by_the_rule() -> None:
    rules = engine(rule("p", OPEN, guards={"caps": {"rule": {"max_sends": 2, "window_s": HOUR}}}))

    outcomes = [summary(rules.handle(*_open(at)))[0][3] for at in (T0, T0 + 1, T0 + 2, T0 + HOUR + 1)]

    # After an hour the rule's own cap reopens, but its campaign's default (2 a day) still holds.
    assert outcomes == ["fired", "fired", "cap_rule", "cap_campaign"]


def test_campaign_cap_spans_the_campaigns_rules() -> None:
    rules = engine(*(rule(f"r{i}", {"type": "app_action", "name": f"x{i}"}, campaign_id="spring") for i in range(3)))

    decisions = [d for i in range(3) for d in rules.handle(AppAction("a1", T0 + i, f"x{i}"), attendee(), T0 + i)]

    assert summary(decisions) == [("r0", "a1", "push", "fired"), ("r1", "a1", "push", "fired"),
                                  ("r2", "a1", "push", "cap_campaign")]  # fmt: skip


def test_overall_push_caps_per_hour_and_per_day() -> None:
    rules = engine(*(rule(f"r{i:02d}", {"type": "app_action", "name": f"x{i}"}) for i in range(12)))
    hourly = [(i, T0 + i * MIN) for i in range(4)]
    daily = [(4 + i, T0 + (i + 1) * HOUR) for i in range(8)]

    outcomes = [summary(rules.handle(AppAction("a1", at, f"x{i}"), attendee(), at))[0][3] for i, at in hourly + daily]

    # 3 in the first hour, the 4th capped; then one an hour until 8 in the day.
    assert outcomes == ["fired"] * 3 + ["cap_overall"] + ["fired"] * 5 + ["cap_overall"] * 3


def test_suppressed_actions_do_not_count_toward_caps() -> None:
    rules = engine(rule("p", OPEN))

    night = summary(rules.handle(*_open(T0 - 2 * HOUR)))  # 07:00: quiet
    morning = summary(rules.handle(*_open(T0)))

    assert [night[0][3], morning[0][3]] == ["quiet_hours", "fired"]


# ---- one touchpoint per campaign ----------------------------------------------------------------------------
def test_a_campaign_that_reached_by_push_does_not_repeat_by_email() -> None:
    both = rule("both", OPEN, actions=[PUSH, EMAIL])
    rules = engine(both)

    by_push = rules.handle(*_open(T0))
    by_email = rules.handle(*_open(T0, "a2", consents=Consents(email=True)))  # push not allowed: email is the fallback

    assert summary(by_push) == [("both", "a1", "push", "fired"), ("both", "a1", "email", "already_reached_by_campaign")]
    assert summary(by_email) == [("both", "a2", "push", "consent_missing"), ("both", "a2", "email", "fired")]


def test_one_touchpoint_holds_across_rules_and_days() -> None:
    push_first = rule("push-first", OPEN, campaign_id="launch")
    mail_later = rule("mail-later", {"type": "app_action", "name": "later"}, campaign_id="launch", actions=[EMAIL])
    rules = engine(push_first, mail_later)

    rules.handle(*_open(T0))
    later = rules.handle(AppAction("a1", T0 + 3 * DAY, "later"), attendee(), T0 + 3 * DAY)

    assert summary(later) == [("mail-later", "a1", "email", "already_reached_by_campaign")]
