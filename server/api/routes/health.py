"""Liveness and readiness for load balancers and people: public, and it reveals no event data."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from server.store.db import check_database
from server.web.deps import RuntimeDep

router = APIRouter(tags=["operations"])


def _redact(url: str) -> str:
    """Drop credentials from a URL before showing it."""
    if "@" not in url:
        return url
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.rpartition('@')[2]}"


@router.get("/healthz", summary="Health of the server, its database and its broker connection")
def healthz(runtime: RuntimeDep) -> JSONResponse:
    db_error = check_database(runtime.engine)
    ingest = runtime.ingest
    broker: dict[str, Any] = {"ok": ingest is not None and ingest.connected}
    if ingest is not None:
        broker.update(
            url=_redact(ingest.config.mqtt_url), queue_depth=ingest.queue_depth, last_commit_at=ingest.last_commit_at
        )
    else:
        broker["detail"] = "ingest disabled in this process"
    healthy = db_error is None and (ingest is None or ingest.connected)
    body = {
        "status": "ok" if healthy else "degraded",
        "database": {"ok": db_error is None, "backend": runtime.engine.dialect.name, "error": db_error},
        "broker": broker,
        "event_id": runtime.settings.event_id,
    }
    healthy_redis = getattr(runtime.hub, "healthy", None)  # scale-out (docs/scaling.md): informative only,
    if healthy_redis is not None:  # a Redis outage degrades live fan-out, not storage or the API
        body["redis"] = {"ok": healthy_redis()}
    return JSONResponse(body, status_code=200 if healthy else 503)
