"""Prometheus metrics. Scrape with `authorization: {credentials: <staff or organizer token>}`."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from server.web.deps import OrganizerOrStaff, ServicesDep

router = APIRouter(tags=["operations"])


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    summary="Prometheus metrics: messages in, stored, dead-lettered by reason, ingest lag",
)
def metrics(services: ServicesDep, _caller: OrganizerOrStaff) -> Response:
    if services.ingest is not None:
        services.metrics.queue_depth.set(services.ingest.queue_depth)
    return Response(generate_latest(services.metrics.registry), media_type=CONTENT_TYPE_LATEST)
