"""The engine runs the latest version of each rule: a paused latest version pauses the rule."""

from __future__ import annotations

from conftest import PUSH_RULE

from server.domain.rules.context import VenueContext
from server.domain.rules.engine import RuleEngine
from server.domain.rules.parse import parse_rule


def test_a_paused_latest_version_does_not_fall_back_to_an_older_one() -> None:
    v1 = parse_rule({**PUSH_RULE, "version": 1})
    v2_paused = parse_rule({**PUSH_RULE, "version": 2, "enabled": False})
    assert RuleEngine([v1, v2_paused], VenueContext()).rules == []
    v3 = parse_rule({**PUSH_RULE, "version": 3})
    assert [r.key for r in RuleEngine([v1, v2_paused, v3], VenueContext()).rules] == [("hello-booth", 3)]
