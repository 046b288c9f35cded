"""The per-device token bucket (server/ingest/ratelimit.py): pure, time passed in."""

from __future__ import annotations

from server.ingest.ratelimit import DeviceRateLimiter, Verdict


def test_a_burst_passes_then_the_rate_refills_and_each_device_has_its_own_bucket() -> None:
    limiter = DeviceRateLimiter(rate_per_s=2.0, burst=3, keep_per_min=2)
    assert [limiter.check("d1", 0.0) for _ in range(6)] == [
        Verdict.PASS, Verdict.PASS, Verdict.PASS, Verdict.DEAD_LETTER, Verdict.DEAD_LETTER, Verdict.DROP,
    ]  # fmt: skip
    assert limiter.check("d2", 0.0) is Verdict.PASS  # another device is not held back
    assert [limiter.check("d1", 1.0) for _ in range(3)] == [Verdict.PASS, Verdict.PASS, Verdict.DROP]
    assert limiter.check("d1", 60.0) is Verdict.PASS  # refilled to the burst, never beyond it
    assert [limiter.check("d1", 60.0) for _ in range(3)] == [Verdict.PASS, Verdict.PASS, Verdict.DEAD_LETTER]


def test_no_rate_means_no_limit() -> None:
    limiter = DeviceRateLimiter(rate_per_s=0.0, burst=1)
    assert not limiter.enabled
    assert {limiter.check("d1", 0.0) for _ in range(10_000)} == {Verdict.PASS}
