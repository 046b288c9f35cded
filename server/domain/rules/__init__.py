"""The rules core: rules as data, evaluated by one pure engine.

Modules, in the order a reader needs them:

* :mod:`.model` — what a rule is (trigger, segment, conditions, guards, actions, goal), pydantic-validated.
* :mod:`.parse` — rules from plain mappings, back to JSON, and checked against the venue.
* :mod:`.context` / :mod:`.events` — what the engine is told: the venue and attendee, the touchpoint events;
  and what it answers: :class:`~.events.Decision`.
* :mod:`.engine` (with :mod:`.index` and :mod:`.match`) — events and time in, decisions out.
* :mod:`.guards` — consent, quiet hours, sessions and caps every person-facing action passes through.
* :mod:`.networking` — "contacts nearby" for the networking feature, through the same guards.
* :mod:`.state` — what the engine remembers between events (persisted by the adapter).
* :mod:`.metrics` — per-rule outcomes, deliveries and goal conversions for the organizer.

No I/O anywhere here: the adapters (:mod:`server.rules`, :mod:`server.config.load`) read files, the store and
the clock, and pass plain values in.
"""
