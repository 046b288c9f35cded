"""Your contact is nearby: one notification each, per pair per window, capped, through the central guards."""

from __future__ import annotations

import json

from test_rules_support import HOUR, MIN, T0, attendee, engine, summary

from server.domain.rules.context import Consents
from server.domain.rules.networking import NEARBY_REPEAT_WINDOW_S, NetworkingHistory, contacts_nearby
from server.domain.rules.state import EngineState

ANNA_BEN = frozenset({"anna", "ben"})


def everyone(_: str) -> bool:
    return True


def test_connected_pair_in_one_zone_each_get_one_notification() -> None:
    history = NetworkingHistory()

    first = contacts_nearby({"anna": "l1", "ben": "l1", "cleo": "l1"}, {ANNA_BEN}, everyone, history, T0)
    still_there = contacts_nearby({"anna": "l1", "ben": "l1"}, {ANNA_BEN}, everyone, history, T0 + 5 * MIN)
    met_again = contacts_nearby({"anna": "b1", "ben": "b1"}, {ANNA_BEN}, everyone, history, T0 + 2 * HOUR)
    next_window = contacts_nearby(
        {"anna": "b1", "ben": "b1"}, {ANNA_BEN}, everyone, history, T0 + NEARBY_REPEAT_WINDOW_S
    )

    assert summary(first) == [("networking.contact_nearby", "anna", "push", "fired"),
                              ("networking.contact_nearby", "ben", "push", "fired")]  # fmt: skip
    assert [d.payload for d in first] == [
        {"contact_id": "ben", "zone_id": "l1"},
        {"contact_id": "anna", "zone_id": "l1"},
    ]
    assert still_there == [] and met_again == []
    assert len(next_window) == 2


def test_nothing_unless_both_allow_and_share_a_zone() -> None:
    def only_anna(attendee_id: str) -> bool:
        return attendee_id == "anna"

    assert contacts_nearby({"anna": "l1", "ben": "l1"}, {ANNA_BEN}, only_anna, NetworkingHistory(), T0) == []
    assert contacts_nearby({"anna": "l1", "ben": "b1"}, {ANNA_BEN}, everyone, NetworkingHistory(), T0) == []
    assert contacts_nearby({"anna": None, "ben": None}, {ANNA_BEN}, everyone, NetworkingHistory(), T0) == []


def test_each_attendee_is_capped_per_hour() -> None:
    pairs = {frozenset({"anna", friend}) for friend in ("ben", "cleo", "dan")}
    occupancy = {"anna": "l1", "ben": "l1", "cleo": "l1", "dan": "l1"}

    decisions = contacts_nearby(occupancy, pairs, everyone, NetworkingHistory(), T0)

    anna = [
        (d.payload["contact_id"], d.reason.value if d.reason else "fired") for d in decisions if d.attendee_id == "anna"
    ]
    assert anna == [("ben", "fired"), ("cleo", "fired"), ("dan", "cap_rule")]
    assert sum(d.fired for d in decisions if d.attendee_id != "anna") == 3


def test_the_engine_applies_consent_quiet_hours_and_sessions() -> None:
    rules = engine()
    people = {
        "anna": attendee("anna"),
        "ben": attendee("ben", consents=Consents(tracking=True)),  # no push consent
        "cleo": attendee("cleo", current_zone_id="r1"),
        "dan": attendee("dan", current_zone_id="r1"),
    }
    occupancy = {"anna": "l1", "ben": "l1", "cleo": "r1", "dan": "r1"}
    pairs = {ANNA_BEN, frozenset({"cleo", "dan"})}

    decisions = rules.contacts_nearby(occupancy, pairs, everyone, people, T0 + 90 * MIN)  # s1 runs in r1

    assert [(d.attendee_id, d.reason.value if d.reason else "fired") for d in decisions] == [
        ("anna", "fired"), ("ben", "consent_missing"), ("cleo", "in_session"), ("dan", "in_session"),
    ]  # fmt: skip
    assert rules.state.history.count("anna", T0 + 90 * MIN, HOUR) == 1  # counts toward anna's overall push cap


def test_networking_history_is_part_of_the_engine_state() -> None:
    rules = engine()
    rules.contacts_nearby(
        {"anna": "l1", "ben": "l1"}, {ANNA_BEN}, everyone, {"anna": attendee("anna"), "ben": attendee("ben")}, T0
    )

    restored = EngineState.from_dict(json.loads(json.dumps(rules.state.to_dict())))

    assert restored.networking.pairs == {"anna|ben": T0}
    assert restored.to_dict() == rules.state.to_dict()
