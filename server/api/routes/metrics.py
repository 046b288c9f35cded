"""Prometheus metrics. Scrape with `authorization: {credentials: <staff or organizer token>}`."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from server.web.deps import OrganizerOrStaff, RuntimeDep

router = APIRouter(tags=["operations"])


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    summary="Prometheus metrics: messages in, stored, dead-lettered by reason, ingest lag",
)
def metrics(runtime: RuntimeDep, _caller: OrganizerOrStaff) -> Response:
    if runtime.ingest is not None:
        runtime.metrics.queue_depth.set(runtime.ingest.queue_depth)
    return Response(generate_latest(runtime.metrics.registry), media_type=CONTENT_TYPE_LATEST)
