"""Salesforce sync fixtures: the emulator over real HTTPS, and a sync worker talking to it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from crm_support import T0, Clock, connection_config
from sqlalchemy import Engine

from server.crm.connection import SalesforceConnection
from server.crm.emulator.server import EmulatorServer
from server.crm.mapping import load_mapping
from server.crm.sender import Sender
from server.crm.worker import CrmSync, SyncConfig


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[EmulatorServer]:
    with EmulatorServer(tmp_path / "emulator") as server:
        yield server


@pytest.fixture
def clock() -> Clock:
    return Clock(T0 + 3600)


@pytest.fixture
def make_sync(engine: Engine, emulator: EmulatorServer, clock: Clock) -> Callable[..., CrmSync]:
    def make(timeout_s: float = 5.0, **config: object) -> CrmSync:
        conn = SalesforceConnection(connection_config(emulator, timeout_s=timeout_s))
        options: dict[str, object] = {"backoff_base_s": 0.01, "limit_pause_s": 0.2, **config}
        sender = Sender(conn, int(options.pop("batch_size", 200)), int(options.pop("bulk_threshold", 2000)))  # type: ignore[call-overload]
        return CrmSync(engine, sender, load_mapping(), SyncConfig(**options), now=clock)  # type: ignore[arg-type]

    return make
