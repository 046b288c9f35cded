"""SIGKILL the server during a burst: every message the broker delivered is stored exactly once.

Runs against a real Mosquitto (its persistent sessions are what we rely on) and on both databases.
"""

from __future__ import annotations

import signal
import uuid
from pathlib import Path

import pytest
from processes import free_port, server_env, touchpoints_process, wait_healthy
from sqlalchemy import Engine, func, select
from support import RawPublisher, clear_session, seed_small_venue, tap, wait_until

from server.store.models import IngestedMessage, Touchpoint

# Mosquitto keeps at most 1,000 messages for an offline client by default (max_queued_messages);
# the burst stays under that so the broker itself drops nothing while the server is dead.
BURST = 500


def stored(engine: Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        rows = conn.execute(select(func.count()).select_from(Touchpoint)).scalar_one()
        seqs = conn.execute(select(func.count(func.distinct(Touchpoint.seq)))).scalar_one()
    return rows, seqs


@pytest.mark.slow
def test_sigkill_during_a_burst_loses_and_duplicates_nothing(
    real_mqtt_url: str, database_url: str, engine: Engine, topic_prefix: str, tmp_path: Path
):
    seed_small_venue(engine)
    port = free_port()
    client_id = f"crash-test-{uuid.uuid4().hex[:8]}"
    env = server_env(
        database_url=database_url,
        mqtt_url=real_mqtt_url,
        mqtt_topic_prefix=topic_prefix,
        mqtt_client_id=client_id,
        http_port=str(port),
        admin_token="t",
        var_dir=str(tmp_path),
        ingest_batch_max="25",
    )
    log = tmp_path / "server.log"
    topic = f"{topic_prefix}/v1/demo/door-1/tap"
    publisher = RawPublisher(real_mqtt_url)
    try:
        with touchpoints_process(["serve"], env, log) as first:
            wait_healthy(port, first, log)
            publisher.publish_many((topic, tap(seq).to_json()) for seq in range(BURST))
            assert wait_until(lambda: stored(engine)[0] >= 50, timeout=30)
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
        killed_at = stored(engine)[0]
        # While the server is dead, the broker keeps queueing for its persistent session.
        publisher.publish_many((topic, tap(seq).to_json()) for seq in range(BURST, 2 * BURST))
        with touchpoints_process(["serve"], env, log) as second:
            wait_healthy(port, second, log)
            assert wait_until(lambda: stored(engine)[0] >= 2 * BURST, timeout=60), stored(engine)
            second.send_signal(signal.SIGTERM)
            assert second.wait(timeout=30) == 0
    finally:
        publisher.close()
        clear_session(real_mqtt_url, client_id)

    print(f"stored when killed: {killed_at}")
    assert killed_at < 2 * BURST
    assert stored(engine) == (2 * BURST, 2 * BURST)
    with engine.connect() as conn:
        keys = conn.execute(select(IngestedMessage.seq).order_by(IngestedMessage.seq)).scalars().all()
    assert keys == list(range(2 * BURST))
