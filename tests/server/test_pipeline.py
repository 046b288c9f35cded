"""The live pipeline's routing, with its stages replaced by recorders: who hears what, in which order."""

from __future__ import annotations

from typing import Any, cast

import pytest

from server.domain import model as domain
from server.ingest.writer import WriteResult
from server.live.hub import Hub
from server.pipeline import LivePipeline
from server.usecases.changes import AttendeeForgotten, DirectoryChanged, JourneysChanged, SignalsStored


class Recorder:
    """Stands in for any stage: records each call as (stage, method, argument)."""

    def __init__(self, name: str, log: list[tuple[str, str, Any]], fail: bool = False) -> None:
        self.name, self.log, self.fail = name, log, fail

    def __getattr__(self, method: str) -> Any:
        def call(arg: Any = None, **_kw: Any) -> None:
            self.log.append((self.name, method, arg))
            if self.fail:
                raise RuntimeError(f"{self.name} is broken")

        return call

    def __call__(self, arg: Any = None) -> None:  # a stage that is itself the consumer (booth lead capture)
        self.__getattr__("__call__")(arg)


class BroadcastingHub(Hub):
    def __init__(self) -> None:
        super().__init__()
        self.broadcasts: list[str] = []

    def broadcast(self, change: str) -> None:
        self.broadcasts.append(change)


def pipeline(log: list[tuple[str, str, Any]], hub: Hub | None = None) -> LivePipeline:
    settings = cast(Any, type("S", (), {"event_id": "demo", "redis_url": None}))
    directory = Recorder("directory", log)
    return LivePipeline(settings, cast(Any, None), cast(Any, None), cast(Any, directory), hub or Hub())


def tap(attendee_id: str) -> domain.Tap:
    return domain.Tap(attendee_id, "door-1", 100.0)


def test_committed_signals_reach_presence_scores_rules_and_the_dashboard_in_that_order():
    log: list[tuple[str, str, Any]] = []
    live = pipeline(log)
    live.presence, live.scores, live.rules = (cast(Any, Recorder(n, log)) for n in ("presence", "scores", "rules"))
    live.dashboard = cast(Any, Recorder("dashboard", log))
    result = WriteResult(presence_taps=[tap("a1")])
    live._signals(result)
    assert log == [("presence", "feed", result), ("scores", "mark", ["a1"]), ("rules", "on_ingest", result),
                   ("dashboard", "on_ingest", result)]  # fmt: skip


def test_one_broken_consumer_does_not_starve_the_others(caplog: pytest.LogCaptureFixture):
    log: list[tuple[str, str, Any]] = []
    live = pipeline(log)
    live.presence = cast(Any, Recorder("presence", log, fail=True))
    live.rules = cast(Any, Recorder("rules", log))
    live._signals(WriteResult())
    assert [stage for stage, _, _ in log] == ["presence", "rules"]
    assert "live pipeline: presence failed" in caplog.text


def test_visit_events_reach_scores_then_rules():
    log: list[tuple[str, str, Any]] = []
    live = pipeline(log)
    live.scores, live.rules = cast(Any, Recorder("scores", log)), cast(Any, Recorder("rules", log))
    live._visits([])
    assert log == [("scores", "on_visit_events", []), ("rules", "on_visit_events", [])]


def test_a_process_without_stages_forwards_published_signals_to_its_sink_and_tells_others_what_changed():
    log: list[tuple[str, str, Any]] = []
    hub = BroadcastingHub()
    live = pipeline(log, hub)
    sunk: list[WriteResult] = []
    live._sink = sunk.append  # as the Redis forwarder of an API worker
    result = WriteResult(presence_taps=[tap("a1")])
    live.publish([SignalsStored(result), JourneysChanged(("a1",)), DirectoryChanged(), AttendeeForgotten("a2")])
    assert sunk == [result]
    assert ("directory", "invalidate", None) in log
    assert hub.broadcasts == ["venue", "forget:a2"]


def test_an_erasure_is_announced_as_such_to_the_live_worker():
    hub = BroadcastingHub()
    pipeline([], hub).publish([AttendeeForgotten("a1", erased=True)])
    assert hub.broadcasts == ["erase:a1"]


def test_a_failing_booth_lead_capture_does_not_keep_an_ingest_batch_from_the_live_stages(
    caplog: pytest.LogCaptureFixture,
):
    live = pipeline([])
    live.booth_leads = cast(Any, Recorder("booth leads", [], fail=True))
    sunk: list[WriteResult] = []
    live._sink = sunk.append
    result = WriteResult(presence_taps=[tap("a1")])
    live.ingested(result)
    assert sunk == [result]
    assert "live pipeline: booth leads failed" in caplog.text
