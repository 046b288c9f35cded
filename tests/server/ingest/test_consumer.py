"""Ingest end to end: a broker, the running server, and messages good and bad."""

from __future__ import annotations

import base64
import hashlib

from fastapi.testclient import TestClient
from support import (
    ALICE_BEACON,
    T0,
    LiveServer,
    RawPublisher,
    batch,
    heartbeat,
    seed_small_venue,
    sighting,
    status,
    tap,
    wait_until,
)

from server.app import create_app


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


def test_a_device_over_its_rate_is_dead_lettered_while_the_others_go_on(server_settings, engine):
    settings = server_settings.model_copy(update={"ingest_device_rate_per_s": 1.0, "ingest_device_burst": 20})
    seed_small_venue(engine)
    app = create_app(settings)
    publisher = RawPublisher(settings.mqtt_url or "")
    try:
        with TestClient(app) as client:
            assert app.state.runtime.ingest.wait_connected(10)
            s = LiveServer(client, settings, publisher)
            s.publisher.publish_many([(s.topic("tap"), tap(i).to_json()) for i in range(200)])  # door-1 floods
            s.publisher.publish(s.topic("sightings", "booth-1-scanner"), batch(1, [sighting(ALICE_BEACON)]).to_json())
            taps_seen = lambda: counts(s).get("tap", 0) + dead(s).get("rate_limited", 0)  # noqa: E731
            assert wait_until(lambda: taps_seen() == 200 and counts(s).get("sighting") == 1, timeout=30)
            stored = counts(s)["tap"]
            assert 20 <= stored <= 40  # the burst, plus one a second while the flood was read
            letters = s.get("/api/v1/dead-letters", params={"reason": "rate_limited"})
            assert "over 1 messages/s (burst 20)" in letters[0]["detail"]  # type: ignore[index]
            metrics = client.get("/metrics", headers={"Authorization": "Bearer test-admin-token"}).text
            assert f'touchpoints_ingest_rate_limited_total{{verdict="dead_letter"}} {200 - stored}.0' in metrics
    finally:
        publisher.close()


def test_a_message_that_trips_a_bug_in_the_writer_is_kept_and_the_rest_of_its_batch_stored(
    live_server: LiveServer, monkeypatch
):
    # Fault injection: the writer raises (not a database error) whenever the batch holds tap 666. Before, the
    # whole batch stayed unacknowledged until the next reconnection, and then failed again.
    import server.ingest.consumer as consumer
    from edge.protocol import Tap

    real = consumer.write_batch

    def buggy(conn, items, *args, **kwargs):  # type: ignore[no-untyped-def]
        if any(getattr(i, "message", None) is not None and isinstance(i.message, Tap) and i.message.seq == 666
               for i in items):  # fmt: skip
            raise KeyError("badge_id")
        return real(conn, items, *args, **kwargs)

    monkeypatch.setattr(consumer, "write_batch", buggy)
    s = live_server
    s.publisher.publish_many([(s.topic("tap"), tap(seq).to_json()) for seq in (665, 666, 667)])
    assert wait_until(lambda: counts(s).get("tap") == 2 and dead(s).get("unstorable") == 1)
    [letter] = s.get("/api/v1/dead-letters", params={"reason": "unstorable"})  # type: ignore[misc]
    assert letter["detail"] == "KeyError: 'badge_id'" and letter["payload_text"] == tap(666).to_json().decode()


def test_junk_from_an_unknown_sender_is_kept_as_bounded_excerpts_and_beyond_its_quota_only_counted(
    live_server: LiveServer,
):
    from server.ingest.budget import EXCERPT_BYTES, PER_SENDER_PER_MIN

    s = live_server
    junk = b"\x00" * 100_000  # under the payload limit, but nobody we know sent it
    s.publisher.publish_many([(s.topic("tap", device="intruder"), junk)] * (PER_SENDER_PER_MIN + 40))
    s.publisher.publish(s.topic("tap"), tap(1).to_json())  # and the registered device goes on
    metrics = lambda: s.client.get("/metrics", headers={"Authorization": "Bearer test-admin-token"}).text  # noqa: E731
    assert wait_until(lambda: 'touchpoints_dead_letters_dropped_total{reason="unknown_device"} 40.0' in metrics())
    assert wait_until(lambda: counts(s) == {"tap": 1})
    assert dead(s) == {"unknown_device": PER_SENDER_PER_MIN}
    letter = s.get("/api/v1/dead-letters", params={"limit": 1})[0]  # type: ignore[index]
    assert letter["size"] == 100_000 and letter["truncated"] is True
    assert len(base64.b64decode(letter["payload_base64"])) == EXCERPT_BYTES
    assert hashlib.sha256(junk).hexdigest() in letter["detail"]


def test_retained_messages_and_the_servers_own_config_never_count_against_a_devices_rate(server_settings, engine):
    # The broker hands a (re)subscribing server every retained status and the server's own retained configs
    # at once, and ingest reads the configs the server publishes; once these were charged to the devices'
    # buckets and dead-lettered rate_limited.
    settings = server_settings.model_copy(update={"ingest_device_rate_per_s": 0.001, "ingest_device_burst": 1})
    seed_small_venue(engine)
    publisher = RawPublisher(settings.mqtt_url or "")
    prefix = settings.mqtt_topic_prefix
    try:
        for n in range(5):
            publisher.publish(f"{prefix}/v1/demo/door-{n}/status", status("online", T0, device=f"door-{n}").to_json(),
                              retain=True)  # fmt: skip
        publisher.publish(f"{prefix}/v1/demo/door-1/config", b'{"v": 1, "type": "config"}', retain=True)
        publisher.publish(f"{prefix}/v1/demo/door-1/status", status("online", T0).to_json(), retain=True)
        app = create_app(settings)
        with TestClient(app) as client:
            assert app.state.runtime.ingest.wait_connected(10)
            s = LiveServer(client, settings, publisher)
            # The server publishes door-1's config (live, on the topic ingest reads): not door-1's message either.
            moved = client.put("/api/v1/devices/door-1", headers={"Authorization": "Bearer test-admin-token"},
                               json={"zone_id": "booth-1"})  # fmt: skip
            assert moved.status_code == 200 and moved.json()["config_version"] >= 1
            metrics = lambda: client.get("/metrics", headers={"Authorization": "Bearer test-admin-token"}).text  # noqa: E731
            assert wait_until(lambda: 'touchpoints_mqtt_messages_received_total{kind="config"} 2.0' in metrics())
            s.publisher.publish(s.topic("tap"), tap(1).to_json())  # door-1's one live message: its burst
            assert wait_until(lambda: counts(s) == {"tap": 1})
            assert wait_until(lambda: s.get("/api/v1/devices/door-1")["state"] == "online")  # type: ignore[index]
            assert dead(s) == {"unknown_device": 4}  # the unregistered door-2..4 and door-0; nothing rate_limited
    finally:
        for n in range(5):
            publisher.publish(f"{prefix}/v1/demo/door-{n}/status", b"", retain=True)
        publisher.publish(f"{prefix}/v1/demo/door-1/config", b"", retain=True)
        publisher.close()
