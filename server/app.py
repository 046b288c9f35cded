"""The FastAPI application: the server's composition root for HTTP, ingest and the live pipeline.

The only module of ``server`` that imports the attendee app (``mobile_api.install``): it builds the runtime
(server/runtime.py), the live pipeline (server/pipeline.py) and mounts every face on one app.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

import mobile_api
from server import dashboard
from server.api.routes import (
    analytics,
    attendees,
    calibration,
    dead_letters,
    devices,
    event,
    exhibitors,
    health,
    metrics,
    presence,
    registrations,
    rules,
    sessions,
    tokens,
    touchpoints,
    venue,
    visits,
    zones,
)
from server.api.routes import crm as crm_routes
from server.core.config import Settings
from server.core.gc_tuning import tune_for_server
from server.core.metrics import Metrics
from server.core.security import new_token
from server.dashboard.feed import DashboardFeed
from server.ingest.consumer import IngestConfig, IngestConsumer
from server.ingest.directory import Directory
from server.live.hub import Hub
from server.pipeline import LivePipeline
from server.runtime import Runtime
from server.security.body_limit import BodyLimit
from server.security.openapi_errors import document_error_details
from server.store.db import make_engine, migrate

log = logging.getLogger(__name__)

ADMIN_TOKEN_FILE = "admin-token"


def resolve_admin_token(settings: Settings) -> str:
    """The configured bootstrap token, else one kept in var_dir (generated once, readable by the owner only)."""
    if settings.admin_token is not None:
        return settings.admin_token.get_secret_value()
    path = Path(settings.var_dir) / ADMIN_TOKEN_FILE
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    token = new_token()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(token + "\n")
    log.warning("generated a bootstrap admin token in %s", path)
    return token


def build_runtime(settings: Settings) -> Runtime:
    """The long-lived objects of one server process; the live stages start in the app's lifespan."""
    engine = make_engine(settings.sqlalchemy_url)
    metrics = Metrics()
    directory = Directory(engine, settings.event_id)
    hub = Hub()
    if settings.redis_url:  # scale-out: WebSocket pushes reach connections held by any process (docs/scaling.md)
        from server.live.redis_hub import RedisHub

        hub = RedisHub(settings.redis_url, settings.event_id, settings.mqtt_topic_prefix, metrics)
    pipeline = LivePipeline(settings, engine, metrics, directory, hub)
    ingest = None
    if settings.ingest_enabled:
        if not settings.mqtt_url:
            raise ValueError("TOUCHPOINTS_MQTT_URL is not set (the CLI starts an embedded broker and sets it)")
        config = IngestConfig(
            mqtt_url=settings.mqtt_url,
            client_id=settings.mqtt_client_id,
            prefix=settings.mqtt_topic_prefix,
            event_id=settings.event_id,
            max_payload_bytes=settings.mqtt_max_payload_bytes,
            batch_max=settings.ingest_batch_max,
            queue_max=settings.ingest_queue_max,
            queue_max_bytes=settings.ingest_queue_max_bytes,
            device_rate_per_s=settings.ingest_device_rate_per_s,
            device_burst=settings.ingest_device_burst,
            shared_group=settings.mqtt_shared_group,
            protocol=settings.mqtt_protocol,
        )
        ingest = IngestConsumer(config, engine, directory, metrics)
        ingest.listeners.append(pipeline.ingested)  # the pipeline's first stage (server/pipeline.py)
    return Runtime(settings, engine, metrics, directory, resolve_admin_token(settings), hub, pipeline, ingest)


def create_app(settings: Settings) -> FastAPI:
    runtime = build_runtime(settings)
    pipeline = runtime.pipeline
    feed = DashboardFeed(runtime)  # the organizer dashboard's live feed: a consumer of the pipeline's signals
    pipeline.dashboard = feed

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        migrate(runtime.engine)
        runtime.directory.reload()
        pipeline.start(ingest_runs_here=runtime.ingest is not None)
        pipeline.start_crm()
        restore_gc = tune_for_server()  # after the start-up objects exist (venue, directory, presence), before traffic
        if runtime.ingest is not None:
            runtime.ingest.start()
        watch = dashboard.watch_deployment(runtime)  # scale-out: the live worker feeds every dashboard
        try:
            yield
        finally:
            if watch is not None:
                watch.cancel()
            if runtime.ingest is not None:
                runtime.ingest.stop()  # commits and acknowledges what it holds, then the stages drain
            pipeline.stop()
            runtime.engine.dispose()
            restore_gc()

    app = FastAPI(
        title="Touchpoints",
        version="0.1.0",
        summary="Engagement platform for conferences: ingest, journeys, rules and the organizer API.",
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    app.add_middleware(BodyLimit, max_bytes=settings.max_request_bytes)  # 413 above the limit (server/security)
    document_error_details(app)  # 422 details as the routes send them (server/security/openapi_errors.py)
    for module in (health, metrics, event, touchpoints, devices, dead_letters, tokens, attendees, presence,
                   venue, zones, sessions, exhibitors, registrations, analytics, rules):  # fmt: skip
        app.include_router(module.router)
    app.include_router(visits.router)  # visits and presence calibration (issue 14)
    app.include_router(calibration.router)
    app.include_router(crm_routes.router)  # Salesforce sync for operators (server/crm)
    dashboard.install(app)  # the organizer live dashboard at /dashboard/ and its WebSocket (server/dashboard)
    mobile_api.install(app)  # the attendee app's API at /app/v1 and its PWA at /app/ (after the routes above)
    return app
