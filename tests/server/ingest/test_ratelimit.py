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


NOW = 1_800_000_000.0  # the server's clock (Unix s) in the tests below


def test_a_backlog_delivered_at_once_is_judged_by_the_device_clock_and_passes() -> None:
    # 45 messages/s for 102 s under a 50/s limit, received by the server within one second after an outage.
    limiter = DeviceRateLimiter(rate_per_s=50.0, burst=100)
    captured = [NOW - 102 + i / 45 for i in range(45 * 102)]
    verdicts = [limiter.check("d1", NOW + i / len(captured), device_time=t) for i, t in enumerate(captured)]
    assert set(verdicts) == {Verdict.PASS}


def test_a_device_repeating_one_capture_time_is_held_to_the_rate_and_nothing_is_dropped() -> None:
    limiter = DeviceRateLimiter(rate_per_s=2.0, burst=3)
    verdicts = [limiter.check("d1", NOW, device_time=NOW - 10) for _ in range(1000)]
    assert verdicts[:3] == [Verdict.PASS] * 3
    assert set(verdicts[3:]) == {Verdict.DEAD_LETTER}  # kept with its bytes by the consumer, never DROP


def test_invented_capture_times_buy_at_most_an_hour_of_credit() -> None:
    # A device claiming capture times one second apart, from two hours ago to far in the future, all received
    # at once: it passes for the burst, then for the last hour of its claims (older ones count as an hour old)
    # and the 5 s its clock may run ahead of ours; never for the two hours and more it claims.
    limiter = DeviceRateLimiter(rate_per_s=1.0, burst=10)
    passed = sum(limiter.check("d1", NOW, device_time=NOW - 7200 + i) is Verdict.PASS for i in range(10_000))
    assert passed == 10 + 3600 + 5
    # claims from 2020 on buy nothing at all: they all count as an hour old
    limiter = DeviceRateLimiter(rate_per_s=1.0, burst=10)
    passed = sum(limiter.check("d2", NOW, device_time=1_580_000_000.0 + i) is Verdict.PASS for i in range(10_000))
    assert passed == 10
