"""What a use case announces after its commit, for the running server to act on (``Runtime.publish``).

Why values and not calls: a use case runs in the API, in the CLI (no live pipeline at all) and in tests; the
same announcement reaches presence on this process, on the live worker through Redis, or nobody. Example::

    outcome = erase(session, attendee, policy)      # commits
    runtime.publish(outcome.changes)               # [DirectoryChanged(), AttendeeForgotten(id, erased=True)]
"""

from __future__ import annotations

from dataclasses import dataclass

from server.ingest.writer import WriteResult


@dataclass(frozen=True, slots=True)
class DirectoryChanged:
    """Badges, consents, devices or zones changed: every cache of them reloads (ingest's directory, presence)."""


@dataclass(frozen=True, slots=True)
class AttendeeForgotten:
    """Tracking consent withdrawn (``erased`` False: the open visit closes) or the person erased (nothing of
    theirs is written any more): live presence drops them, here or on the live worker."""

    attendee_id: str
    erased: bool = False


@dataclass(frozen=True, slots=True)
class SignalsStored:
    """Signals committed outside ingest (phone beacon reports): the live pipeline takes them as ingest's."""

    result: WriteResult


@dataclass(frozen=True, slots=True)
class JourneysChanged:
    """A touchpoint was added to these attendees' journeys (a lead scan, a phone report): rescore them."""

    attendee_ids: tuple[str, ...]


Change = DirectoryChanged | AttendeeForgotten | SignalsStored | JourneysChanged
