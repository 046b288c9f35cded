"""What the use cases announce after their commit: the running server acts on exactly these values."""

from __future__ import annotations

from server.store.app_models import Lead
from server.usecases.changes import AttendeeForgotten, DirectoryChanged, JourneysChanged
from server.usecases.consent import announce
from server.usecases.erasure import erased
from server.usecases.leads import LeadCapture


def test_withdrawing_tracking_reloads_the_directory_and_makes_presence_forget_the_person():
    assert announce({"a1": {"tracking": False, "push": True}}) == [DirectoryChanged(), AttendeeForgotten("a1")]


def test_granting_tracking_only_reloads_the_directory():
    assert announce({"a1": {"tracking": True}}) == [DirectoryChanged()]


def test_a_batch_of_changes_reloads_the_directory_once():
    changes = announce({"a1": {"tracking": False}, "a2": {"tracking": True}, "a3": {"tracking": False}})
    assert changes == [DirectoryChanged(), AttendeeForgotten("a1"), AttendeeForgotten("a3")]


def test_consents_other_than_tracking_announce_nothing_to_the_live_server():
    assert announce({"a1": {"push": False, "share_contact": False, "networking": True}}) == []


def test_an_erasure_reloads_the_directory_and_erases_the_person_from_presence():
    assert erased("a1") == [DirectoryChanged(), AttendeeForgotten("a1", erased=True)]


def test_a_new_lead_is_a_journey_change_and_a_repeated_capture_is_none():
    lead = Lead(id=7, event_id="demo", exhibitor_id="acme", attendee_id="a1", source="qr", captured_by="rep",
                created_at=0.0, updated_at=0.0)  # fmt: skip
    assert LeadCapture(lead, created=True).changes == [JourneysChanged(("a1",))]
    assert LeadCapture(lead, created=False).changes == []
