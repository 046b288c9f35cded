"""Rules from plain mappings, dumped back for the store/API, and checked against the venue.

Every problem comes with its path, and all problems of a document are reported at once so an organizer fixes
it in one pass. Example::

    rules_from_mapping({"rules": [{"id": "x", ..., "trigger": {"type": "dwell_reached", "dwell_s": -1}}]})
    # RuleValidationError: rules: rules[0].trigger.dwell_reached.dwell_s: Input should be greater than 0

Pure: reading YAML text or files is the adapters' job (:mod:`server.config.load` parses the text and hands
the mapping here), so the rules core never touches a file.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import ValidationError

from server.domain.model import ZoneKind
from server.domain.rules.context import VenueContext
from server.domain.rules.model import Rule, SequenceTrigger, SessionLeftEarlyTrigger, TimeTrigger, ZoneFilter


class RuleValidationError(ValueError):
    """All problems of a rule file at once, each with its path, e.g. ``campaigns[1].rules[0].trigger.dwell_s``."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid rules:\n  " + "\n  ".join(problems))
        self.problems = problems


def _path(prefix: str, loc: Iterable[Any]) -> str:
    out = prefix
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def parse_rule(data: Mapping[str, Any], path: str = "rule") -> Rule:
    """One rule from a JSON-like mapping (the organizer API body); raises :class:`RuleValidationError`."""
    try:
        return Rule.model_validate(data)
    except ValidationError as exc:
        raise RuleValidationError(
            [f"{_path(path, err['loc'])}: {err['msg']}" for err in exc.errors(include_url=False)]
        ) from None


def rules_from_mapping(data: object, *, name: str = "rules") -> list[Rule]:
    """Rules from a parsed document with ``rules:`` and/or ``campaigns:`` (each with ``rules:``).

    A rule inside a campaign inherits the campaign's ``id`` as ``campaign_id``. Every problem is collected
    before raising, so an organizer fixes a file in one pass.
    """
    if not isinstance(data, Mapping):
        raise RuleValidationError([f"{name}: expected a mapping with 'rules' or 'campaigns'"])
    entries: list[tuple[str, Any]] = []
    problems: list[str] = []
    for index, raw in enumerate(data.get("rules") or []):
        entries.append((f"rules[{index}]", raw))
    for c_index, campaign in enumerate(data.get("campaigns") or []):
        if not isinstance(campaign, Mapping) or not isinstance(campaign.get("id"), str):
            problems.append(f"campaigns[{c_index}].id: a campaign needs an id")
            continue
        for index, raw in enumerate(campaign.get("rules") or []):
            raw = {"campaign_id": campaign["id"], **raw} if isinstance(raw, Mapping) else raw
            entries.append((f"campaigns[{c_index}].rules[{index}]", raw))
    rules: list[Rule] = []
    seen: dict[tuple[str, int], str] = {}
    for path, raw in entries:
        if not isinstance(raw, Mapping):
            problems.append(f"{path}: expected a mapping")
            continue
        try:
            rule = parse_rule(raw, path)
        except RuleValidationError as exc:
            problems.extend(exc.problems)
            continue
        if rule.key in seen:
            problems.append(f"{path}.id: {rule.id!r} version {rule.version} already defined at {seen[rule.key]}")
        seen[rule.key] = path
        rules.append(rule)
    if problems:
        raise RuleValidationError([f"{name}: {p}" for p in problems])
    return rules


def dump_rule(rule: Rule) -> dict[str, Any]:
    """The JSON form the store keeps and the API returns (round-trips through :func:`parse_rule`)."""
    data: dict[str, Any] = json.loads(rule.model_dump_json(exclude_defaults=True))
    data.update(id=rule.id, version=rule.version, campaign_id=rule.campaign_id)
    data["trigger"] = json.loads(rule.trigger.model_dump_json())
    data["actions"] = [json.loads(a.model_dump_json()) for a in rule.actions]
    return data


def venue_problems(rule: Rule, venue: VenueContext) -> list[str]:
    """What a rule references that the venue does not have, and exhibitor rules outside their booths."""
    problems: list[str] = []
    filters: list[tuple[str, ZoneFilter]] = []
    trigger = rule.trigger
    if isinstance(trigger, SequenceTrigger):
        filters += [(f"trigger.steps[{i}]", s) for i, s in enumerate(trigger.steps) if isinstance(s, ZoneFilter)]
    elif isinstance(trigger, ZoneFilter):
        filters.append(("trigger", trigger))
    if rule.conditions.place is not None:
        filters.append(("conditions.place", rule.conditions.place))
    exhibitor = rule.exhibitor_owner
    for path, zone_filter in filters:
        for zone_id in zone_filter.zone_ids:
            zone = venue.zones.get(zone_id)
            if zone is None:
                problems.append(f"{rule.id}.{path}.zone_ids: unknown zone {zone_id!r}")
            elif exhibitor is not None and (zone.kind != ZoneKind.BOOTH or zone.exhibitor_id != exhibitor):
                problems.append(f"{rule.id}.{path}.zone_ids: {zone_id!r} is not a booth of {exhibitor!r}")
    session_ids = list(rule.segment.registered_for)
    if isinstance(trigger, TimeTrigger | SessionLeftEarlyTrigger):
        session_ids += trigger.session_ids
    problems += [f"{rule.id}: unknown session {s!r}" for s in session_ids if s not in venue.sessions]
    if exhibitor is not None and exhibitor not in venue.exhibitors:
        problems.append(f"{rule.id}.owner: unknown exhibitor {exhibitor!r}")
    return problems
