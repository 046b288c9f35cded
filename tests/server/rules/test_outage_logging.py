"""A database outage is reported once when it starts and once when it ends, not as a traceback a second.

Before: during a 30 s outage the rules outbox and the rule service each logged a full traceback every
second (88 in two outages).
"""

from __future__ import annotations

import logging
import re
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine
from sqlalchemy.exc import OperationalError

import server.rules.service as service_module
from server.core.outage import OutageLog
from server.rules.outbox import OutboxWorker

NOW = 1_780_000_000.0
OUTAGE_S = 30


def test_the_outbox_logs_a_30_s_outage_once_with_its_reason_and_its_end_with_the_duration(
    venue: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    unreachable = create_engine(f"sqlite:///{tmp_path}")  # a directory: "unable to open database file"
    worker = OutboxWorker(unreachable, "demo", now=lambda: NOW)
    clock = [0.0]
    worker.outage = OutageLog(logging.getLogger("server.rules.outbox"), "rules outbox", clock=lambda: clock[0])
    with caplog.at_level(logging.DEBUG, logger="server.rules.outbox"):
        for second in range(OUTAGE_S):  # the worker polls once a second
            clock[0] = float(second)
            worker.step()
        worker._db = venue  # the database is back
        clock[0] = float(OUTAGE_S)
        worker.step()
        worker.step()
    loud = [(r.levelname, r.getMessage()) for r in caplog.records if r.levelno >= logging.INFO]
    assert len(loud) == 2, loud
    assert loud[0][0] == "WARNING"
    assert re.fullmatch(r"rules outbox: database unavailable \(OperationalError: .*unable to open database file.*\); "
                        r"retrying quietly", loud[0][1])  # fmt: skip
    assert loud[1] == ("INFO", f"rules outbox: database back after 30.0 s ({OUTAGE_S} failed attempts)")
    assert not any(r.exc_info for r in caplog.records), "no tracebacks"


def test_the_rule_service_logs_an_outage_once_and_its_recovery_once(
    make_service: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
):
    monkeypatch.setattr(service_module, "TICK_S", 0.01)  # a tick every 10 ms: 30 outage ticks in a moment
    failing, recovered = [40], threading.Event()

    def tick(self: service_module.RuleService) -> list[Any]:
        if failing[0] > 0:
            failing[0] -= 1
            raise OperationalError("SELECT 1", {}, Exception("connection to server was lost"))
        recovered.set()
        return []

    monkeypatch.setattr(service_module.RuleService, "tick", tick)
    with caplog.at_level(logging.INFO, logger="server.rules.service"):
        make_service()
        assert recovered.wait(10)
        service_module.time.sleep(0.05)  # a few good ticks more: nothing further is logged
    loud = [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "server.rules.service"]
    assert [level for level, _ in loud] == ["WARNING", "INFO"], loud
    assert (
        "rules: database unavailable (OperationalError: (builtins.Exception) connection to server was lost)"
        in loud[0][1]
    )
    assert re.fullmatch(r"rules: database back after \d+\.\d s \(40 failed attempts\)", loud[1][1])
