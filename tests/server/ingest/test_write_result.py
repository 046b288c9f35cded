"""WriteResult.merge: a batch stored one message at a time adds up to what one commit would have reported."""

from __future__ import annotations

from collections import Counter

from server.domain.model import Sighting, Tap
from server.ingest.writer import WriteResult


def test_merging_keeps_every_count_and_presences_signals() -> None:
    # Before, the merge left presence's signals out: messages of a split batch never reached live presence.
    seen = Sighting("a-1", "s-1", -60.0, 1.0, 2.0)
    tapped = Tap("a-2", "door-1", 3.0)
    total = WriteResult()
    total.merge(WriteResult(stored=Counter(tap=1), touchpoints=Counter(tap=1), presence_taps=[tapped], seq_gaps=2))
    total.merge(WriteResult(stored=Counter(sightings=1), touchpoints=Counter(sighting=1), presence_sightings=[seen],
                            dead_letters=Counter(unstorable=1), duplicates=1, seq_late=1, unknown_badges=1,
                            discarded_no_consent=3))  # fmt: skip
    assert total == WriteResult(
        stored=Counter(tap=1, sightings=1), duplicates=1, touchpoints=Counter(tap=1, sighting=1),
        dead_letters=Counter(unstorable=1), discarded_no_consent=3, unknown_badges=1, seq_gaps=2, seq_late=1,
        presence_sightings=[seen], presence_taps=[tapped],
    )  # fmt: skip
