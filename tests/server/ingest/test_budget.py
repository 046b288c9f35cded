"""What the dead-letter store keeps of refused messages (server/ingest/budget.py): pure, time passed in."""

from __future__ import annotations

import hashlib

from server.ingest.budget import ALL_UNTRUSTED_PER_MIN, EXCERPT_BYTES, PER_SENDER_PER_MIN, DeadLetterBudget
from server.ingest.decode import Rejected
from server.store.models import DeadLetterReason

TOPIC = "touchpoints/v1/demo/{}/tap"


def refused(device: str | None, reason: DeadLetterReason, payload: bytes = b"junk") -> Rejected:
    return Rejected(TOPIC.format(device), reason, "refused", device, payload)


def budget() -> DeadLetterBudget:
    return DeadLetterBudget(lambda device_id: device_id == "door-1")


def test_an_unknown_senders_big_payload_is_kept_as_an_excerpt_with_its_length_and_sha256() -> None:
    payload = bytes(range(256)) * 40  # 10,240 bytes of binary junk
    kept = budget().admit(refused("intruder", DeadLetterReason.UNKNOWN_DEVICE, payload), now=0.0)
    assert kept is not None
    assert kept.payload == payload[:EXCERPT_BYTES] and kept.size == 10_240 and kept.length == 10_240
    assert kept.detail == (
        f"refused [kept the first {EXCERPT_BYTES} of 10240 bytes; sha256 {hashlib.sha256(payload).hexdigest()}]"
    )


def test_a_registered_devices_refused_message_is_kept_whole_however_many_and_however_big() -> None:
    b, payload = budget(), b"{" + b" " * 9000
    for reason in (DeadLetterReason.SCHEMA_VIOLATION, DeadLetterReason.OVERSIZED):
        kept = [b.admit(refused("door-1", reason, payload), now=0.0) for _ in range(2 * ALL_UNTRUSTED_PER_MIN)]
        assert all(k is not None and k.payload == payload and k.size is None for k in kept)
    cut = b.admit(refused("ghost", DeadLetterReason.OVERSIZED, payload), now=0.0)
    assert cut is not None and len(cut.payload) == EXCERPT_BYTES and cut.length == 9001


def test_each_unknown_sender_has_a_quota_a_minute_and_all_of_them_together_one_more() -> None:
    b = budget()
    kept = [b.admit(refused("intruder", DeadLetterReason.UNKNOWN_DEVICE), now=10.0) for _ in range(100)]
    assert sum(k is not None for k in kept) == PER_SENDER_PER_MIN
    assert b.admit(refused("door-1", DeadLetterReason.INVALID_JSON), now=10.0) is not None  # never held back
    # a new id per message does not help beyond the total
    fresh = [b.admit(refused(f"x{i}", DeadLetterReason.UNKNOWN_DEVICE), now=20.0) for i in range(2000)]
    assert sum(k is not None for k in fresh) == ALL_UNTRUSTED_PER_MIN - PER_SENDER_PER_MIN
    # a minute later the quotas start again
    assert b.admit(refused("intruder", DeadLetterReason.UNKNOWN_DEVICE), now=60.0) is not None
    # a topic without a device id is its own sender
    assert b.admit(Rejected("touchpoints", DeadLetterReason.INVALID_TOPIC, "bare", None, b"x"), now=60.0) is not None
