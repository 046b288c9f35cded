"""The running server's long-lived objects, built once by the composition root (server/app.py).

A small typed container, frozen: what the faces read (settings, the database engine, metrics, the badge
directory, the WebSocket hub, the ingest consumer when this process runs one) and the live pipeline, which
owns the live stages and answers the live questions (server/pipeline.py). FastAPI dependencies read it from
``app.state.runtime`` (server/web/deps.py). Nothing in it is filled in later by other modules.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from server.core.config import Settings
from server.core.metrics import Metrics
from server.ingest.consumer import IngestConsumer
from server.ingest.directory import Directory
from server.live.hub import Hub
from server.pipeline import LivePipeline


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    engine: Engine
    metrics: Metrics
    directory: Directory  # ingest's cache of badges, devices and consents
    admin_token: str  # the bootstrap organizer token (server/app.py resolves it)
    hub: Hub  # live fan-out to WebSocket clients (attendee apps, dashboards); a RedisHub when scaled out
    pipeline: LivePipeline
    ingest: IngestConsumer | None = None  # when this process consumes MQTT (TOUCHPOINTS_INGEST_ENABLED)
