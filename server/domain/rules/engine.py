"""The one rule engine: touchpoint events and time in, decisions out — deterministic, pure, indexed.

Use (the adapter owns I/O, persistence and timing)::

    engine = RuleEngine(load_rules(text), venue, GuardParams(), state=None)  # load_rules: server.config.load
    decisions = engine.handle(ZoneEntered("a1", at=t, zone_id="b1"), attendee_ctx, now=t)
    decisions += engine.tick(now, attendees)          # every few seconds: dwell and time triggers
    engine.set_rules(new_rules)                       # live edit: applies from the next event/tick
    blob = engine.state.to_dict()                     # persist; RuleEngine(..., state=EngineState.from_dict(blob))

Each :class:`~server.domain.rules.events.Decision` is one action for one attendee, ``fired`` (execute it) or
``suppressed`` with a reason (record it). A rule whose trigger, segment or conditions do not match yields
nothing. Suppressed decisions carry no payload (nothing personal is kept for what was not sent).

Design choices, and why:

* **Deterministic**: rules are evaluated in (id, version) order and actions in declared order, each fired
  send is recorded before the next action is checked, and ``tick`` walks attendees and zones sorted. No
  randomness, no clock: the same stream at the same times gives identical decisions.
* **Dwell is derived here**: ``ZoneEntered`` opens a visit, ``VisitEnded`` closes it, and ``tick(now)``
  emits ``DwellReached`` for each dwell threshold the rules use, once per visit — presence does not need to
  know rule thresholds. Explicit ``DwellReached`` events are accepted too; a dwell rule fires at most once
  per visit either way. A visit that ends before a tick saw the threshold does not fire dwell rules (the
  moment has passed); use ``visit_ended`` with ``min_dwell_s`` for "after a visit of N s".
* **Time triggers** (``type: time``) are evaluated by ``tick`` for the attendees passed in, exactly once per
  (rule, attendee, anchor) — an anchor is the event or one session — while ``now`` is in
  ``[due, due + grace_s]``; a tick later than that does not send yesterday's reminder.
* **Sequences**: steps must happen in order, the last within ``within_s`` of the first; the latest start is
  kept, and completion resets progress. Segment and conditions are checked at completion.
* **Indexed**: rules are bucketed by trigger type and zone id / zone kind / app action name (sequence rules
  under each step), so an event looks at the few rules that can match: 1,000 rules stay fast.
* **One version per rule id**: ``set_rules`` keeps the highest version of each id among enabled rules; the
  state (caps, sequences, fired anchors) is keyed by rule id, so an edit does not re-send.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace

from server.domain.model import AgendaSession
from server.domain.rules.context import AttendeeContext, VenueContext
from server.domain.rules.events import (
    Decision,
    DwellReached,
    NotificationDelivered,
    NotificationOpened,
    Outcome,
    RuleEvent,
    VisitEnded,
    ZoneEntered,
)
from server.domain.rules.guards import PERSON_CHANNELS, Channel, GuardParams, Send, SuppressionReason, check_action
from server.domain.rules.index import RuleIndex
from server.domain.rules.match import (
    Scene,
    channel_of,
    conditions_match,
    render_payload,
    scene_of,
    segment_matches,
    step_matches,
    template_values,
)
from server.domain.rules.model import (
    EmailAction,
    Rule,
    SequenceTrigger,
    TimeAnchor,
    TimeTrigger,
)
from server.domain.rules.networking import NEARBY_REPEAT_WINDOW_S, NETWORKING_CAMPAIGN_ID, contacts_nearby
from server.domain.rules.state import EngineState, OpenVisit


class RuleEngine:
    def __init__(
        self,
        rules: Iterable[Rule],
        venue_context: VenueContext,
        params: GuardParams | None = None,
        state: EngineState | None = None,
    ) -> None:
        self.venue = venue_context
        self.params = params or GuardParams()
        self.state = state or EngineState()
        self.set_rules(rules)

    @property
    def rules(self) -> list[Rule]:
        """The active rules (enabled, latest version per id) in evaluation order."""
        return list(self._index.rules)

    def set_rules(self, rules: Iterable[Rule]) -> None:
        """Replace the rule set; the next ``handle``/``tick`` uses it. State is kept (caps still count)."""
        self._index = RuleIndex(rules)
        windows = [self.params.longest_window_s()]
        for rule in self._index.rules:
            windows += [cap.window_s for cap in (rule.guards.caps.rule, rule.guards.caps.campaign) if cap]
        self._keep_sends_s = max(windows)

    def candidates(self, event: RuleEvent) -> list[Rule]:
        """The active rules ``event`` may trigger (by type, zone and action name): e.g. to know in advance
        whether any of them needs an expensive context value such as the journey summary."""
        return self._index.candidates(event, self.venue)

    def time_rules_due(self, now: float) -> bool:
        """Is any time trigger within its window at ``now``? (Then ``tick`` needs every attendee's context.)"""
        for rule in self._index.time_rules:
            trigger = rule.trigger
            assert isinstance(trigger, TimeTrigger)
            for _key, anchor_at, _session in self._anchors(trigger):
                if anchor_at + trigger.offset_s <= now <= anchor_at + trigger.offset_s + trigger.grace_s:
                    return True
        return False

    # ---- events -------------------------------------------------------------------------------------------
    def handle(self, event: RuleEvent, attendee: AttendeeContext, now: float) -> list[Decision]:
        """Decisions for one attendee event. ``attendee`` must be the event's attendee, as of ``now``."""
        if attendee.id != event.attendee_id:
            raise ValueError(f"event of {event.attendee_id!r} evaluated with the context of {attendee.id!r}")
        if isinstance(event, NotificationDelivered | NotificationOpened):
            return []
        self._track_visit(event)
        return self._evaluate(event, attendee, now)

    def _track_visit(self, event: RuleEvent) -> None:
        visits = self.state.open_visits
        if isinstance(event, ZoneEntered):
            current = visits.setdefault(event.attendee_id, {}).get(event.zone_id)
            if current is None or current.started_at != event.at:
                visits[event.attendee_id][event.zone_id] = OpenVisit(event.at)
        elif isinstance(event, VisitEnded):
            zones = visits.get(event.attendee_id, {})
            zones.pop(event.zone_id, None)
            if not zones:
                visits.pop(event.attendee_id, None)
            fired = self.state.dwell_fired.get(event.attendee_id)
            if fired is not None:
                fired = {k for k in fired if k[1] != event.zone_id}
                if fired:
                    self.state.dwell_fired[event.attendee_id] = fired
                else:
                    self.state.dwell_fired.pop(event.attendee_id)

    def _evaluate(self, event: RuleEvent, attendee: AttendeeContext, now: float) -> list[Decision]:
        decisions: list[Decision] = []
        for rule in self._index.candidates(event, self.venue):
            trigger = rule.trigger
            if isinstance(trigger, SequenceTrigger):
                if not self._advance_sequence(rule, trigger, event):
                    continue
            elif isinstance(trigger, TimeTrigger) or not step_matches(trigger, event, self.venue, rule.exhibitor_owner):
                continue
            elif isinstance(event, DwellReached):
                fired = self.state.dwell_fired.setdefault(event.attendee_id, set())
                once_key = (rule.id, event.zone_id, event.started_at)
                if once_key in fired:
                    continue
                fired.add(once_key)
            scene = scene_of(event, attendee, self.venue)
            decisions += self._fire(rule, attendee, scene, now, ref=f"{event.at:.3f}")
        return decisions

    def _advance_sequence(self, rule: Rule, trigger: SequenceTrigger, event: RuleEvent) -> bool:
        by_attendee = self.state.sequences.setdefault(rule.id, {})
        progress = {k: s for k, s in by_attendee.get(event.attendee_id, {}).items() if event.at - s <= trigger.within_s}
        last = len(trigger.steps) - 1
        for step_index in range(last, -1, -1):  # downwards: one event advances one step only
            if not step_matches(trigger.steps[step_index], event, self.venue, rule.exhibitor_owner):
                continue
            if step_index == 0:
                progress[0] = max(progress.get(0, event.at), event.at)
            elif step_index - 1 in progress:
                if step_index == last:
                    by_attendee.pop(event.attendee_id, None)
                    return True
                start = progress[step_index - 1]
                progress[step_index] = max(progress.get(step_index, start), start)
        if progress:
            by_attendee[event.attendee_id] = progress
        else:
            by_attendee.pop(event.attendee_id, None)
        if not by_attendee:
            self.state.sequences.pop(rule.id, None)
        return False

    # ---- deciding -----------------------------------------------------------------------------------------
    def _fire(self, rule: Rule, attendee: AttendeeContext, scene: Scene, now: float, ref: str) -> list[Decision]:
        if not segment_matches(rule.segment, attendee) or not conditions_match(
            rule.conditions, scene, attendee, self.venue, now
        ):
            return []
        share = attendee.consents.share
        values = template_values(attendee, scene, self.venue, rule.name, rule.campaign_id, redact=False)
        redacted_values = values if share else template_values(
            attendee, scene, self.venue, rule.name, rule.campaign_id, redact=True
        )  # fmt: skip
        decisions: list[Decision] = []
        for index, action in enumerate(rule.actions):
            channel = channel_of(action)
            reason = check_action(
                rule=rule, campaign_id=rule.campaign_id, channel=channel, attendee=attendee, venue=self.venue,
                history=self.state.history, params=self.params, now=now,
                transactional=isinstance(action, EmailAction) and action.transactional,
            )  # fmt: skip
            redact = channel in (Channel.REP_ALERT, Channel.WEBHOOK) and not share
            payload: dict[str, object] = {}
            if reason is None:
                payload = render_payload(action, redacted_values if redact else values, scene, attendee.id, redact)
                if channel in PERSON_CHANNELS:
                    send = Send(now, rule.id, rule.campaign_id, channel)
                    self.state.history.record(attendee.id, send, self._keep_sends_s)
            decisions.append(
                Decision(
                    decision_id=f"{rule.id}:{rule.version}:{attendee.id}:{ref}:{index}",
                    rule_id=rule.id, rule_version=rule.version, campaign_id=rule.campaign_id,
                    attendee_id=attendee.id, action_index=index, channel=channel,
                    outcome=Outcome.FIRED if reason is None else Outcome.SUPPRESSED, reason=reason, at=now,
                    trigger=rule.trigger.type, payload=payload, redacted=redact and reason is None,
                )
            )  # fmt: skip
        return decisions

    # ---- time ---------------------------------------------------------------------------------------------
    def attendees_in_visits(self) -> list[str]:
        """Attendees with open visits: ``tick`` needs at least their contexts to derive dwell."""
        return sorted(self.state.open_visits)

    def dwell_due(self, now: float) -> set[str]:
        """Attendees with an open visit past a dwell threshold not yet derived: without a time trigger due,
        the only ones ``tick`` needs a context for (a hall's thousands of open visits need none most ticks)."""
        zones, due = self.venue.zones, set()
        for attendee_id, visits in self.state.open_visits.items():
            for zone_id, visit in visits.items():
                zone = zones.get(zone_id)
                thresholds = self._index.dwell_thresholds(zone_id, zone.kind if zone else None)
                if any(visit.dwell_emitted_s < t <= now - visit.started_at for t in thresholds):
                    due.add(attendee_id)
                    break
        return due

    def tick(self, now: float, attendees: Iterable[AttendeeContext]) -> list[Decision]:
        """Derived dwell for open visits, then due time triggers, for the attendees given (by id order)."""
        by_id = {a.id: a for a in attendees}
        decisions: list[Decision] = []
        for attendee_id in sorted(self.state.open_visits):
            attendee = by_id.get(attendee_id)
            if attendee is None:
                continue
            for zone_id, visit in sorted(self.state.open_visits.get(attendee_id, {}).items()):
                zone = self.venue.zones.get(zone_id)
                for threshold in self._index.dwell_thresholds(zone_id, zone.kind if zone else None):
                    if threshold <= visit.dwell_emitted_s or now - visit.started_at < threshold:
                        continue
                    visit.dwell_emitted_s = threshold
                    event = DwellReached(
                        attendee_id, visit.started_at + threshold, zone_id, visit.started_at, threshold
                    )
                    decisions += self._evaluate(event, attendee, now)
        self.state.time_fired = {k: exp for k, exp in self.state.time_fired.items() if exp >= now}
        for rule in self._index.time_rules:
            decisions += self._tick_time_rule(rule, now, by_id)
        return decisions

    def _anchors(self, trigger: TimeTrigger) -> list[tuple[str, float, AgendaSession | None]]:
        venue = self.venue
        if trigger.anchor is TimeAnchor.EVENT_START:
            return [] if venue.event_start is None else [("event_start", venue.event_start, None)]
        if trigger.anchor is TimeAnchor.EVENT_END:
            return [] if venue.event_end is None else [("event_end", venue.event_end, None)]
        start = trigger.anchor is TimeAnchor.SESSION_START
        return [
            (f"{trigger.anchor}:{s.id}", s.starts_at if start else s.ends_at, s)
            for s in sorted(venue.sessions.values(), key=lambda s: s.id)
            if not trigger.session_ids or s.id in trigger.session_ids
        ]

    def _in_audience(self, trigger: TimeTrigger, session: AgendaSession, attendee: AttendeeContext) -> bool:
        if trigger.audience == "registered":
            return session.id in attendee.registered_sessions
        if trigger.audience == "nearby":
            return self.venue.is_near(attendee.current_zone_id, session.zone_id)
        return True

    def _tick_time_rule(self, rule: Rule, now: float, attendees: Mapping[str, AttendeeContext]) -> list[Decision]:
        trigger = rule.trigger
        assert isinstance(trigger, TimeTrigger)
        decisions: list[Decision] = []
        for anchor_key, anchor_at, session in self._anchors(trigger):
            due = anchor_at + trigger.offset_s
            if not due <= now <= due + trigger.grace_s:
                continue
            for attendee_id in sorted(attendees):
                attendee = attendees[attendee_id]
                if session is not None and not self._in_audience(trigger, session, attendee):
                    continue
                once_key = (rule.id, attendee_id, anchor_key)
                if once_key in self.state.time_fired:
                    continue
                self.state.time_fired[once_key] = due + trigger.grace_s
                zone_id = session.zone_id if session is not None else attendee.current_zone_id
                scene = Scene(zone_id, self.venue.exhibitor_of_zone(zone_id), session)
                decisions += self._fire(rule, attendee, scene, now, ref=anchor_key)
        return decisions

    # ---- networking ---------------------------------------------------------------------------------------
    def contacts_nearby(
        self,
        zone_occupancy_by_attendee: Mapping[str, str | None],
        connections: Iterable[frozenset[str]],
        allows: Callable[[str], bool],
        attendees: Mapping[str, AttendeeContext],
        now: float,
        window_s: float = NEARBY_REPEAT_WINDOW_S,
    ) -> list[Decision]:
        """:func:`server.domain.rules.networking.contacts_nearby` through the central guards (consent to push and to
        tracking, quiet hours, not during a session, overall push caps); fired ones count toward the caps."""
        decisions: list[Decision] = []
        raw = contacts_nearby(zone_occupancy_by_attendee, connections, allows, self.state.networking, now, window_s)
        for decision in raw:
            attendee = attendees.get(decision.attendee_id)
            if decision.fired:
                reason: SuppressionReason | None = (
                    SuppressionReason.CONSENT_MISSING
                )  # unknown attendee: consent cannot be shown
                if attendee is not None:
                    reason = check_action(
                        rule=None, campaign_id=NETWORKING_CAMPAIGN_ID, channel=Channel.PUSH, attendee=attendee,
                        venue=self.venue, history=self.state.history, params=self.params, now=now,
                        tracking_based=True, not_during_session=True,
                    )  # fmt: skip
                if reason is not None:
                    self.state.networking.sent[decision.attendee_id].remove(now)
                    decision = replace(decision, outcome=Outcome.SUPPRESSED, payload={}, reason=reason)
                else:
                    send = Send(now, decision.rule_id, NETWORKING_CAMPAIGN_ID, Channel.PUSH)
                    self.state.history.record(decision.attendee_id, send, self._keep_sends_s)
            decisions.append(decision)
        return decisions
