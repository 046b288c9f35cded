"""Ingest end to end: a broker, the running server, and messages good and bad."""

from __future__ import annotations

from support import ALICE_BEACON, LiveServer, batch, heartbeat, sighting, status, tap, wait_until


def counts(server: LiveServer) -> dict[str, int]:
    return server.get("/api/v1/touchpoints/counts")["by_type"]  # type: ignore[index]


def dead(server: LiveServer) -> dict[str, int]:
    return server.get("/api/v1/dead-letters/counts")  # type: ignore[return-value]


def test_valid_messages_are_stored_and_bad_ones_dead_lettered(live_server: LiveServer):
    s = live_server
    s.publisher.publish(s.topic("tap"), tap(1).to_json())
    s.publisher.publish(s.topic("sightings", "booth-1-scanner"), batch(1, [sighting(ALICE_BEACON)]).to_json())
    s.publisher.publish(s.topic("heartbeat"), heartbeat(2).to_json())
    s.publisher.publish(s.topic("status"), status("online", 1_780_000_000).to_json(), retain=False)
    s.publisher.publish(s.topic("tap"), b"\xff\xfe not json")
    s.publisher.publish(s.topic("tap", device="intruder"), tap(1, device="intruder").to_json())
    s.publisher.publish(s.topic("tap"), tap(3, device="booth-1-scanner").to_json())
    s.publisher.publish(s.topic("tap"), b"{}" + b" " * 300_000)

    assert wait_until(lambda: sum(dead(s).values()) == 4 and counts(s) == {"tap": 1, "sighting": 1})
    assert dead(s) == {"invalid_json": 1, "unknown_device": 1, "device_mismatch": 1, "oversized": 1}
    letters = s.get("/api/v1/dead-letters", params={"reason": "device_mismatch"})
    assert letters[0]["payload_text"] == tap(3, device="booth-1-scanner").to_json().decode()  # type: ignore[index]
    device = s.get("/api/v1/devices/door-1")
    assert device["state"] == "online" and device["last_seq"] == 2  # type: ignore[index]

    metrics = s.client.get("/metrics", headers={"Authorization": "Bearer test-admin-token"}).text
    assert 'touchpoints_dead_letters_total{reason="oversized"} 1.0' in metrics
    assert 'touchpoints_mqtt_messages_stored_total{kind="tap"} 1.0' in metrics
    assert "touchpoints_ingest_lag_seconds_count" in metrics


def test_a_redelivered_message_has_no_second_effect(live_server: LiveServer):
    s = live_server
    for _ in range(3):
        s.publisher.publish(s.topic("tap"), tap(42).to_json())
    s.publisher.publish(s.topic("tap"), tap(43).to_json())
    assert wait_until(lambda: counts(s) == {"tap": 2})
    metrics = s.client.get("/metrics", headers={"Authorization": "Bearer test-admin-token"}).text
    assert "touchpoints_mqtt_messages_duplicate_total 2.0" in metrics
    assert [t["seq"] for t in s.get("/api/v1/touchpoints")] == [43, 42]  # type: ignore[union-attr]


def test_a_flood_of_garbage_never_stalls_valid_traffic(live_server: LiveServer):
    s = live_server
    garbage = [(s.topic("sightings", "booth-1-scanner"), b'{"v":1,"type":"sightings"}')] * 200
    valid = [(s.topic("tap"), tap(i).to_json()) for i in range(100)]
    mixed = [m for pair in zip(garbage[:100], valid, strict=True) for m in pair] + garbage[100:]
    s.publisher.publish_many(mixed)
    assert wait_until(lambda: counts(s).get("tap") == 100 and dead(s).get("device_mismatch") == 200, timeout=30)
