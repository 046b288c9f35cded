"""What the dead-letter store keeps of a message, so that junk cannot fill the disk (pure, time passed in).

A registered, unrevoked device of this event is accountable: its refused messages are kept whole, oversized
ones too, because its operator needs the exact bytes to fix it (and can revoke it). Anyone else (an
anonymous client, an unknown or revoked device id, a malformed topic) could send without end, so of theirs
the store keeps a bounded excerpt, and only so many a minute:

- an excerpt: the first ``EXCERPT_BYTES`` of the payload, with the full length in ``size`` and the SHA-256 of
  the whole payload in the detail (enough to recognise the same junk again, and to tell what it was);
- ``PER_SENDER_PER_MIN`` dead letters per sender and minute (the sender is the topic's device id, or the
  topic itself when it has none: MQTT does not tell a subscriber the publisher's client id), and
  ``ALL_UNTRUSTED_PER_MIN`` in all, so that inventing a new id per message does not help;
- beyond that a message is only counted (``touchpoints_dead_letters_dropped_total{reason}``).

Worst case for a hostile flood: 600 excerpts of 2 KiB a minute, about 1.7 GB a day.

    >>> from server.store.models import DeadLetterReason
    >>> budget = DeadLetterBudget(lambda device_id: device_id == "door-1")
    >>> kept = budget.admit(Rejected("t/v1/demo/x/tap", DeadLetterReason.UNKNOWN_DEVICE, "no", "x", b"a" * 5000), 0.0)
    >>> (len(kept.payload), kept.size) if kept else None
    (2048, 5000)
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import replace

from server.ingest.decode import Rejected

# Enough of a payload to see what it was (a topic's worth of JSON, the start of a binary blob).
EXCERPT_BYTES = 2048
# One misconfigured sender retrying once a second fits; a flood does not.
PER_SENDER_PER_MIN = 60
# All senders we cannot hold to account together: bounds the store's growth at ~1.2 MB a minute.
ALL_UNTRUSTED_PER_MIN = 600
# Distinct senders remembered per minute (memory bound); further new ones share the "others" quota.
MAX_SENDERS = 10_000
_OTHERS = "\x00others"

IsAccountable = Callable[[str], bool]


class DeadLetterBudget:
    def __init__(self, accountable: IsAccountable) -> None:
        """``accountable(device_id)``: the id is a registered, unrevoked device of this event."""
        self._accountable = accountable
        self._minute = -1
        self._per_sender: dict[str, int] = {}
        self._all = 0

    def admit(self, item: Rejected, now: float) -> Rejected | None:
        """What to store of ``item`` received at ``now`` (s), or None: count it only."""
        trusted = item.device_id is not None and self._accountable(item.device_id)
        if trusted:
            return item
        minute = int(now // 60)
        if minute != self._minute:
            self._minute, self._per_sender, self._all = minute, {}, 0
        sender = item.device_id or item.topic[:256]
        if sender not in self._per_sender and len(self._per_sender) >= MAX_SENDERS:
            sender = _OTHERS
        seen = self._per_sender.get(sender, 0)
        if seen >= PER_SENDER_PER_MIN or self._all >= ALL_UNTRUSTED_PER_MIN:
            return None
        self._per_sender[sender] = seen + 1
        self._all += 1
        return excerpt(item)


def excerpt(item: Rejected) -> Rejected:
    """``item`` with at most ``EXCERPT_BYTES`` of its payload; the length and SHA-256 of the whole are kept."""
    if len(item.payload) <= EXCERPT_BYTES:
        return item
    digest = hashlib.sha256(item.payload).hexdigest()
    note = f" [kept the first {EXCERPT_BYTES} of {len(item.payload)} bytes; sha256 {digest}]"
    return replace(item, payload=item.payload[:EXCERPT_BYTES], detail=item.detail + note, size=len(item.payload))
