"""Prometheus metrics. Each app instance owns a registry, so tests can run several servers in one process."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

# Seconds from receiving a message to committing it; batches commit within milliseconds when healthy.
LAG_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.messages_received = Counter(
            "touchpoints_mqtt_messages_received", "MQTT messages received by ingest", ["kind"], registry=r
        )
        self.messages_stored = Counter(
            "touchpoints_mqtt_messages_stored", "Device messages stored (first delivery)", ["kind"], registry=r
        )
        self.messages_duplicate = Counter(
            "touchpoints_mqtt_messages_duplicate", "Redelivered messages that had no second effect", registry=r
        )
        self.dead_letters = Counter(
            "touchpoints_dead_letters", "Messages refused and kept in the dead-letter store", ["reason"], registry=r
        )
        # Refused messages of senders we cannot hold to account, beyond their quota (server/ingest/budget.py).
        self.dead_letters_dropped = Counter(
            "touchpoints_dead_letters_dropped",
            "Refused messages only counted, not kept (anonymous or unknown senders over their quota)",
            ["reason"],
            registry=r,
        )
        self.touchpoints_stored = Counter(
            "touchpoints_touchpoints_stored", "Touchpoint rows stored", ["type"], registry=r
        )
        self.sightings_discarded = Counter(
            "touchpoints_sightings_discarded", "Sightings dropped on arrival", ["reason"], registry=r
        )
        self.rate_limited = Counter(
            "touchpoints_ingest_rate_limited", "Messages over a device's rate limit", ["verdict"], registry=r
        )
        self.ingest_lag = Histogram(
            "touchpoints_ingest_lag_seconds", "Receive-to-commit time per message", buckets=LAG_BUCKETS, registry=r
        )
        self.seq_gaps = Counter(
            "touchpoints_device_seq_gaps",
            "Sequence numbers skipped between a device's messages (lost on the way, or dropped by its spool)",
            registry=r,
        )
        self.seq_late = Counter(
            "touchpoints_device_seq_late", "Messages arriving after a later one of the same device", registry=r
        )
        self.queue_depth = Gauge(
            "touchpoints_ingest_queue_depth", "Messages received and not yet committed", registry=r
        )
        self.batch_size = Histogram(
            "touchpoints_ingest_batch_messages",
            "Messages per ingest transaction",
            buckets=(1, 5, 10, 20, 50, 100, 200, 500, 1000, 5000),
            registry=r,
        )
        self.store_errors = Counter(
            "touchpoints_ingest_store_errors", "Failed ingest transactions (retried)", registry=r
        )
        self.mqtt_connected = Gauge("touchpoints_mqtt_connected", "1 when ingest is connected", registry=r)
        # Scale-out (docs/scaling.md): Redis failures by operation, live-stream entries by outcome.
        self.redis_errors = Counter("touchpoints_redis_errors", "Failed Redis operations", ["operation"], registry=r)
        self.live_stream = Counter("touchpoints_live_stream_entries", "Live stream entries", ["outcome"], registry=r)
