"""`touchpoints broker config` on a real Mosquitto: each device publishes only its own topics, reads only its
own config, and a revoked device is cut off by regenerating the files and reloading the broker (SIGHUP)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from mosquitto_support import Client, OwnMosquitto
from sqlalchemy import Engine
from support import ADMIN, AUTH, seed_small_venue, wait_until

from server.app import create_app
from server.core.config import load_settings
from server.security import broker_config
from server.security.broker_config import mosquitto_hash, mosquitto_verify

PREFIX = "touchpoints"
INGEST_USER, INGEST_PASSWORD = "ingest", "ingest-secret"


def test_the_hash_is_mosquitto_passwd_s_format():
    # Produced by `mosquitto_passwd -b pw user1 secret` (Mosquitto 2.0.11).
    stored = (
        "$7$101$+SX++afEId4nwSgE$"
        "YgA/+rwLJGzPUBk7rhceB2K1Cs7NMLJ9LM/IkxinJTfrS05qhcI70d4t+JBqez8Di3yvrEINGNu1snQPl8phsQ=="
    )
    assert mosquitto_verify("secret", stored)
    assert not mosquitto_verify("Secret", stored)
    assert mosquitto_verify("pw", mosquitto_hash("pw"))


@pytest.fixture
def api(database_url: str, engine: Engine, tmp_path: Path) -> Iterator[TestClient]:
    seed_small_venue(engine)
    settings = load_settings(database_url=database_url, ingest_enabled=False, admin_token=ADMIN,
                             var_dir=tmp_path / "var")  # fmt: skip
    with TestClient(create_app(settings)) as client:
        yield client


def enrol(api: TestClient, device_id: str) -> str:
    code = api.post("/api/v1/devices/enrolment-codes", json={"device_id": device_id}, headers=AUTH)
    assert code.status_code == 201, code.text
    answer = api.post("/api/v1/devices/enrol", json={"code": code.json()["code"]})
    assert answer.status_code == 200, answer.text
    assert answer.json()["mqtt_username"] == device_id
    return str(answer.json()["mqtt_password"])


def generate(engine: Engine, out: Path) -> broker_config.BrokerConfig:
    config = broker_config.build(engine, PREFIX, "demo", INGEST_USER, INGEST_PASSWORD)
    broker_config.write(config, out)
    return config


def topic(device: str, kind: str) -> str:
    return f"{PREFIX}/v1/demo/{device}/{kind}"


def test_devices_are_confined_to_their_own_topics_and_revocation_cuts_them_off(
    api: TestClient, engine: Engine, tmp_path: Path
):
    door_pw, booth_pw = enrol(api, "door-1"), enrol(api, "booth-1-scanner")
    files = tmp_path / "broker"
    config = generate(engine, files)
    assert config.devices == ["booth-1-scanner", "door-1"]
    broker = OwnMosquitto(tmp_path / "mosquitto", extra=f"allow_anonymous false\npassword_file {files / 'passwd'}\n"
                          f"acl_file {files / 'acl'}\n").start()  # fmt: skip
    clients: list[Client] = []
    try:
        ingest = Client(broker.port, INGEST_USER, INGEST_PASSWORD)
        door = Client(broker.port, "door-1", door_pw)
        booth = Client(broker.port, "booth-1-scanner", booth_pw)
        clients += [ingest, door, booth]
        assert ingest.accepted and door.accepted and booth.accepted
        for refused in (Client(broker.port, "door-1", booth_pw), Client(broker.port), Client(broker.port, "x", "y")):
            clients.append(refused)
            assert not refused.accepted, "wrong password, anonymous and unknown users must be refused"

        ingest.subscribe(f"$share/ingest/{PREFIX}/#")
        door.publish(topic("door-1", "tap"), b"own-tap")
        door.publish(topic("door-1", "status"), b"own-status")
        door.publish(topic("booth-1-scanner", "tap"), b"spoofed-tap")  # another device's topic
        door.publish(topic("door-1", "config"), b"forged-config")  # only the server writes configs
        door.publish(f"{PREFIX}/v1/other-event/door-1/tap", b"other-event")
        assert wait_until(lambda: len(ingest.received) >= 2, timeout=5)
        time.sleep(0.5)
        assert sorted(p for _t, p in ingest.received) == [b"own-status", b"own-tap"]

        # Configs: the server writes them; each device reads its own and nothing of another's.
        ingest.publish(topic("door-1", "config"), b"door-config", retain=True)
        ingest.publish(topic("booth-1-scanner", "config"), b"booth-config", retain=True)
        door.subscribe(topic("booth-1-scanner", "config"))
        door.subscribe(f"{PREFIX}/#")
        door.subscribe(topic("door-1", "config"))
        assert wait_until(lambda: len(door.received) >= 1, timeout=5)
        time.sleep(0.5)
        # (Mosquitto accepts the wide subscription but delivers only what the ACL lets it read.)
        assert set(door.received) == {(topic("door-1", "config"), b"door-config")}

        # Revoke door-1, regenerate, reload: Mosquitto closes its open connection (were it still open, the ACL
        # would refuse its messages), and it cannot reconnect.
        assert api.post("/api/v1/devices/door-1/revoke", headers=AUTH).status_code == 200
        config = generate(engine, files)
        assert config.devices == ["booth-1-scanner"] and config.skipped == ["door-1: revoked"]
        broker.reload()
        ingest.received.clear()
        assert wait_until(lambda: not door.publish(topic("door-1", "tap"), b"after-revocation"), timeout=5)
        booth.publish(topic("booth-1-scanner", "tap"), b"booth-still-ok")
        assert wait_until(lambda: len(ingest.received) >= 1, timeout=5)
        time.sleep(0.5)
        assert [p for _t, p in ingest.received] == [b"booth-still-ok"]
        again = Client(broker.port, "door-1", door_pw)
        clients.append(again)
        assert not again.accepted
    finally:
        for client in clients:
            client.close()
        broker.stop()


def test_the_cli_writes_both_files_and_names_what_it_left_out(
    engine: Engine, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from typer.testing import CliRunner

    from server.cli import app

    seed_small_venue(engine)  # two devices, neither enrolled
    monkeypatch.setenv("TOUCHPOINTS_DATABASE_URL", database_url)
    monkeypatch.setenv("TOUCHPOINTS_MQTT_URL", "mqtt://ingest:s3cret@broker:1883")
    result = CliRunner().invoke(app, ["broker", "config", "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    passwd = (tmp_path / "out" / "passwd").read_text().splitlines()
    assert len(passwd) == 1 and mosquitto_verify("s3cret", passwd[0].split(":", 1)[1])
    assert (tmp_path / "out" / "passwd").stat().st_mode & 0o077 == 0
    assert "user ingest" in (tmp_path / "out" / "acl").read_text()
    assert "booth-1-scanner: not enrolled" in result.output


def test_the_real_server_ingests_through_the_locked_down_broker(
    database_url: str, engine: Engine, topic_prefix: str, tmp_path: Path
):
    """The server's own credentials (in TOUCHPOINTS_MQTT_URL) suffice under the generated ACL: it subscribes
    (as a shared subscription), publishes a device's retained config at enrolment, and stores the device's tap."""
    from sqlalchemy import func, select
    from support import tap

    from server.store.models import Touchpoint

    seed_small_venue(engine)
    files = tmp_path / "broker"
    broker_config.write(broker_config.build(engine, topic_prefix, "demo", INGEST_USER, INGEST_PASSWORD), files)
    broker = OwnMosquitto(tmp_path / "mosquitto", extra=f"allow_anonymous false\npassword_file {files / 'passwd'}\n"
                          f"acl_file {files / 'acl'}\n").start()  # fmt: skip
    settings = load_settings(
        database_url=database_url, mqtt_url=f"mqtt://{INGEST_USER}:{INGEST_PASSWORD}@127.0.0.1:{broker.port}",
        mqtt_protocol="5", mqtt_topic_prefix=topic_prefix, mqtt_shared_group="ingest", admin_token=ADMIN,
        var_dir=tmp_path / "var", mqtt_client_id=f"acl-ingest-{topic_prefix}",
    )  # fmt: skip
    app = create_app(settings)
    device: Client | None = None
    try:
        with TestClient(app) as client:
            ingest = app.state.runtime.ingest
            assert ingest is not None and ingest.wait_connected(10), "the ingest user was refused"
            password = enrol(client, "door-1")  # publishes door-1's retained config through the broker
            broker_config.write(broker_config.build(engine, topic_prefix, "demo", INGEST_USER, INGEST_PASSWORD), files)
            broker.reload()
            device = Client(broker.port, "door-1", password)
            assert device.accepted
            own_config = f"{topic_prefix}/v1/demo/door-1/config"
            device.subscribe(own_config)
            assert wait_until(lambda: bool(device and device.received), timeout=5), "no retained config"
            assert device.received[0][0] == own_config and b'"device_id":"door-1"' in device.received[0][1]
            device.publish(f"{topic_prefix}/v1/demo/door-1/tap", tap(1).to_json())

            def taps() -> int:
                with engine.connect() as conn:
                    return int(conn.execute(select(func.count()).select_from(Touchpoint)).scalar_one())

            assert wait_until(lambda: taps() == 1, timeout=10)
    finally:
        if device is not None:
            device.close()
        broker.stop()
