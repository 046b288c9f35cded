"""Emptying the spool on reconnect keeps to the documented pace: 40 messages/s, burst 4 (docs/mqtt.md).

Before: the send bucket held 400 tokens, so on a reconnect the whole in-flight window of 64 messages left
within 0.1 s. The clock is driven by the test; the broker is a stand-in that acknowledges at once.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from types import SimpleNamespace

from edge.protocol import DeviceConfig
from edge.publisher import MAX_INFLIGHT, PUBLISH_BURST, PUBLISH_RATE_PER_S, Publisher
from edge.spool import Spool

STEP_S = 0.005  # how often the test lets the pump run (it is woken by every PUBACK in real life)


def test_a_reconnect_drains_the_spool_at_40_a_second_never_the_in_flight_window_at_once(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool.db", "door-1")
    for _ in range(300):  # an outage's backlog
        spool.enqueue("touchpoints/v1/demo/door-1/tap", "tap", lambda seq: b'{"seq": %d}' % seq)
    now = [100.0]

    def ignore(_config: DeviceConfig) -> None:
        return None

    publisher = Publisher(spool, mqtt_url="mqtt://127.0.0.1:1", device_id="door-1", event_id="demo",
                          prefix="touchpoints", agent_version="test", on_config=ignore,
                          monotonic=lambda: now[0])  # fmt: skip
    sent_at: list[float] = []
    mids = itertools.count(1)

    def publish(_topic: str, _payload: bytes, qos: int = 0) -> SimpleNamespace:
        mid = next(mids)
        sent_at.append(now[0])
        publisher._acks.put(mid)  # the broker acknowledges at once: only the pace can hold messages back
        return SimpleNamespace(mid=mid)

    publisher._client.publish = publish  # type: ignore[method-assign]
    publisher.connected.set()  # reconnected: the spool's backlog is due
    waits = []
    for step in range(int(3.0 / STEP_S)):
        now[0] = 100.0 + step * STEP_S
        waits.append(publisher._pump_once())
    elapsed = [t - 100.0 for t in sent_at]
    assert sum(t < 0.1 for t in elapsed) <= PUBLISH_BURST + 0.1 * PUBLISH_RATE_PER_S  # 8, not MAX_INFLIGHT (64)
    assert MAX_INFLIGHT > 2 * (PUBLISH_BURST + 0.1 * PUBLISH_RATE_PER_S)
    for start in elapsed:  # any one-second window, anywhere in the drain
        assert sum(start <= t < start + 1.0 for t in elapsed) <= PUBLISH_BURST + PUBLISH_RATE_PER_S
    # and the pace is used, not wasted: 3 s of draining sends the burst and 40 a second
    assert len(sent_at) >= PUBLISH_BURST + 3.0 * PUBLISH_RATE_PER_S - 2
    # the pump is told when the next token is due, so that it need not poll
    assert any(w is not None and 0 < w <= 1 / PUBLISH_RATE_PER_S for w in waits)
    spool.close()
