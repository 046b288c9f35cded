"""The organizer live dashboard: a static page at /dashboard/ and one WebSocket per page at /dashboard/ws.

``install(app)`` adds both; everything the page shows comes from the REST API and the live feed
(server/dashboard/feed.py). Static assets ship as package data; nothing loads from a CDN.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

if TYPE_CHECKING:
    from server.runtime import Runtime

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"


def install(app: FastAPI) -> None:
    from server.dashboard.routes import router

    app.include_router(router)  # before the mount: /dashboard/ws and the API routes win over static files
    app.mount("/dashboard", StaticFiles(directory=STATIC_DIR, html=True), name="dashboard")


WATCH_S = 1.0  # how soon the live worker notices the first dashboard opened on another process


def watch_deployment(runtime: Runtime) -> asyncio.Task[None] | None:
    """Scale-out (docs/scaling.md): on the live worker, run the feed while a dashboard anywhere is open.

    Without Redis the feed starts with a local connection (server/dashboard/routes.py); with it, the
    dashboards are held by API workers, so the live worker asks the hub (deployment-wide) every ``WATCH_S``.
    """
    if runtime.settings.redis_url is None or runtime.pipeline.presence is None:
        return None
    from server.dashboard.routes import feed_of

    feed = feed_of(runtime)

    async def watch() -> None:
        while True:
            try:
                if await asyncio.to_thread(feed.watchers):
                    feed.ensure_running()
            except Exception:  # Redis away: the hub already logs; try again next time
                log.debug("dashboard watch failed", exc_info=True)
            await asyncio.sleep(WATCH_S)

    return asyncio.get_running_loop().create_task(watch(), name="dashboard-watch")
