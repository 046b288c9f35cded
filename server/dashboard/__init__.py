"""The organizer live dashboard: a static page at /dashboard/ and one WebSocket per page at /dashboard/ws.

``install(app)`` adds both; everything the page shows comes from the REST API and the live feed
(server/dashboard/feed.py). Static assets ship as package data; nothing loads from a CDN.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).parent / "static"


def install(app: FastAPI) -> None:
    from server.dashboard.routes import router

    app.include_router(router)  # before the mount: /dashboard/ws and the API routes win over static files
    app.mount("/dashboard", StaticFiles(directory=STATIC_DIR, html=True), name="dashboard")
