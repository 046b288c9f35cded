"""The FastAPI application: the server's composition root for HTTP and ingest."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import FastAPI

import mobile_api
from server import dashboard
from server.api.routes import (
    analytics,
    attendees,
    dead_letters,
    devices,
    event,
    exhibitors,
    health,
    metrics,
    notifications,
    presence,
    registrations,
    rules,
    sessions,
    tokens,
    touchpoints,
    venue,
    zones,
)
from server.api.routes import crm as crm_routes
from server.core.config import Settings
from server.core.gc_tuning import tune_for_server
from server.core.metrics import Metrics
from server.core.security import new_token
from server.crm.service import start_crm
from server.ingest.consumer import IngestConfig, IngestConsumer
from server.ingest.directory import Directory
from server.security.body_limit import BodyLimit
from server.security.openapi_errors import document_error_details
from server.services import Services
from server.store.db import make_engine, migrate

if TYPE_CHECKING:
    import redis

    from server.live.stream import LiveStreamConsumer

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


def build_services(settings: Settings) -> Services:
    engine = make_engine(settings.sqlalchemy_url)
    metrics = Metrics()
    directory = Directory(engine, settings.event_id)
    services = Services(settings, engine, metrics, directory, resolve_admin_token(settings))
    if settings.redis_url:  # scale-out: WebSocket pushes reach connections held by any process (docs/scaling.md)
        from server.live.redis_hub import RedisHub

        services.hub = RedisHub(settings.redis_url, settings.event_id, settings.mqtt_topic_prefix, metrics)
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
        services.ingest = IngestConsumer(config, engine, directory, metrics)
    return services


def start_live(services: Services) -> None:
    """The live pipeline: presence follows ingest (built after migrations: it reads the venue), scores follow
    presence, rules follow both. Where its inputs come from (docs/scaling.md):

    - no Redis: this process's own ingest, as before (a process without ingest runs no live pipeline);
    - Redis, ``live_enabled``: the live stream of every ingest worker, merged with this process's own;
    - Redis, not ``live_enabled``: nothing runs here; this process's commits are forwarded to the stream.
    """
    from server.live.presence import LivePresence
    from server.live.scores import ScoreKeeper

    settings = services.settings
    if services.ingest is not None:
        services.ingest.listeners.append(services.feed_live)
    scaled = settings.redis_url is not None
    if scaled:
        from server.live.redis_hub import RedisHub

        hub = services.hub
        if isinstance(hub, RedisHub):
            hub.control_listeners.append(services.on_change)
            hub.start()
            services.stoppers.append(hub.stop)
    if not settings.live_enabled or (services.ingest is None and not scaled):
        if scaled:  # ingest commits, and phone beacon reports received here, go to the live worker
            _forward_to_live_stream(services)
        return
    presence = LivePresence(services.engine, settings.event_id)
    scores = ScoreKeeper(services.engine, settings.event_id, presence.clock.now)
    presence.listeners.append(scores.on_visit_events)
    services.live_listeners.append(presence.feed)
    services.live_listeners.append(lambda result: scores.mark(t.attendee_id for t in result.presence_taps))
    services.presence, services.scores = presence, scores
    consumer = _live_stream_consumer(services) if scaled else None
    tail = consumer.tail() if consumer is not None else None  # before the warm start: nothing falls between
    services.live_sink = consumer.submit_local if consumer is not None else services.dispatch_live
    presence.start()
    scores.start()
    from server.rules.wiring import start_rules

    start_rules(services)
    if consumer is not None and tail is not None:
        consumer.start(tail)
        services.stoppers.append(consumer.stop)


def _redis_client(services: Services) -> redis.Redis:
    import redis

    assert services.settings.redis_url is not None
    return redis.Redis.from_url(services.settings.redis_url, socket_connect_timeout=2.0, socket_timeout=5.0)


def _forward_to_live_stream(services: Services) -> None:
    from server.live.stream import UNORDERED, LiveForwarder, stream_name

    settings = services.settings
    stream = stream_name(settings.mqtt_topic_prefix, settings.event_id)
    # An ingest worker's stable client id names it in the live worker's merge; an API worker, which only
    # forwards phone beacon reports (rare, out of order), does not hold the merge back.
    producer = (
        settings.mqtt_client_id if services.ingest is not None else f"{UNORDERED}{socket.gethostname()}-{os.getpid()}"
    )
    forwarder = LiveForwarder(_redis_client(services), stream, producer, services.metrics)
    services.live_sink = forwarder
    forwarder.start()
    services.stoppers.append(forwarder.stop)


def _live_stream_consumer(services: Services) -> LiveStreamConsumer:
    from server.live.stream import LiveStreamConsumer, stream_name

    settings = services.settings
    stream = stream_name(settings.mqtt_topic_prefix, settings.event_id)
    return LiveStreamConsumer(_redis_client(services), stream, services.dispatch_live, services.metrics)


def create_app(settings: Settings) -> FastAPI:
    services = build_services(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        migrate(services.engine)
        services.directory.reload()
        start_live(services)
        services.crm = start_crm(services)  # Salesforce sync (server/crm): metrics always, worker when enabled
        restore_gc = tune_for_server()  # after the start-up objects exist (venue, directory, presence), before traffic
        if services.ingest is not None:
            services.ingest.start()
        watch = dashboard.watch_deployment(services)  # scale-out: the live worker feeds every dashboard
        try:
            yield
        finally:
            if watch is not None:
                watch.cancel()
            if services.ingest is not None:
                services.ingest.stop()
            for stop in reversed(services.stoppers):  # forwarder drains, consumer and hub subscriber end
                stop()
            if services.crm is not None:
                services.crm.stop()
            if services.rules is not None:
                services.rules.stop()
            if services.presence is not None:
                services.presence.stop()
            if services.scores is not None:
                services.scores.stop()
            services.engine.dispose()
            restore_gc()

    app = FastAPI(
        title="Touchpoints",
        version="0.1.0",
        summary="Engagement platform for conferences: ingest, journeys, rules and the organizer API.",
        lifespan=lifespan,
    )
    app.state.services = services
    app.add_middleware(BodyLimit, max_bytes=settings.max_request_bytes)  # 413 above the limit (server/security)
    document_error_details(app)  # 422 details as the routes send them (server/security/openapi_errors.py)
    for module in (health, metrics, event, touchpoints, devices, dead_letters, tokens, attendees, presence,
                   venue, zones, sessions, exhibitors, registrations, analytics, rules, notifications):  # fmt: skip
        app.include_router(module.router)
    app.include_router(crm_routes.router)  # Salesforce sync for operators (server/crm)
    dashboard.install(app)  # the organizer live dashboard at /dashboard/ and its WebSocket (server/dashboard)
    mobile_api.install(app)  # the attendee app's API at /app/v1 and its PWA at /app/ (after the routes above)
    return app
