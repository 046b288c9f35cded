"""The dashboard's page, its live WebSocket and the few figures no other API serves yet.

The page is static (``/dashboard/``); it asks the REST API for everything with the token the user signed
in with, and opens one WebSocket (``/dashboard/ws``) for live updates. The socket authenticates with the
first message ``{"token": "..."}`` (keeps the token out of URLs and logs) or ``?token=``; then it closes
with 4401 (no or bad token) or 4403 (a role that may not watch), or streams the feed.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, WebSocket, WebSocketDisconnect
from fastapi.responses import RedirectResponse
from sqlmodel import Session, select

from server.core.security import hash_token, same_secret
from server.dashboard import queries
from server.dashboard.feed import TOPIC_ALL, TOPIC_FLEET, DashboardFeed
from server.live.hub import subscribe_in_thread
from server.runtime import Runtime
from server.store.models import ApiToken, Role
from server.web.deps import Organizer, OrganizerOrStaff, RuntimeDep, SessionDep

router = APIRouter(tags=["dashboard"])

WS_UNAUTHORIZED = 4401  # application close codes (4000-4999) mirroring HTTP 401/403
WS_FORBIDDEN = 4403
WS_TRY_AGAIN_LATER = 1013  # too slow for the feed: reconnect (the page does, and gets a fresh snapshot)
AUTH_TIMEOUT_S = 5.0  # a socket that does not say who it is within this long is closed


def feed_of(runtime: Runtime) -> DashboardFeed:
    """The server's one feed, built by the composition root and attached to the live pipeline (server/app.py)."""
    feed = runtime.pipeline.dashboard
    assert isinstance(feed, DashboardFeed), "server/app.py attaches the dashboard feed to the pipeline"
    return feed


def role_of_token(runtime: Runtime, token: str) -> Role | None:
    """The role a token grants now, or None (unknown, revoked, expired)."""
    if same_secret(token, runtime.admin_token):
        return Role.ORGANIZER
    with Session(runtime.engine) as session:
        row = session.exec(select(ApiToken).where(ApiToken.token_hash == hash_token(token))).first()
    if row is None or row.revoked_at is not None or (row.expires_at is not None and row.expires_at <= time.time()):
        return None
    return Role(row.role)


@router.get("/dashboard", include_in_schema=False)
def dashboard_root() -> RedirectResponse:
    return RedirectResponse("/dashboard/")


async def _token_from(websocket: WebSocket, token: str) -> str:
    if token:
        return token
    try:
        first = await asyncio.wait_for(websocket.receive_text(), AUTH_TIMEOUT_S)
        value = orjson.loads(first).get("token")
    except (TimeoutError, ValueError, AttributeError):
        return ""
    return value if isinstance(value, str) else ""


@router.websocket("/dashboard/ws")
async def dashboard_ws(websocket: WebSocket, token: str = "") -> None:
    runtime: Runtime = websocket.app.state.runtime
    await websocket.accept()
    token = await _token_from(websocket, token)
    role = await asyncio.to_thread(role_of_token, runtime, token) if token else None
    if role is None:
        await websocket.close(code=WS_UNAUTHORIZED, reason="a valid organizer or staff token is needed")
        return
    if role not in (Role.ORGANIZER, Role.STAFF):
        await websocket.close(code=WS_FORBIDDEN, reason="the dashboard is for organizers and staff")
        return
    fleet_only = role == Role.STAFF
    feed = feed_of(runtime)
    # In a thread: with scale-out the hub waits for Redis to confirm the channel (never on the event loop).
    sub = await subscribe_in_thread(runtime.hub, TOPIC_FLEET if fleet_only else TOPIC_ALL)
    feed.ensure_running()
    receiving: asyncio.Future[str] | None = None
    try:
        if not feed.publishes:  # an API worker: the snapshot comes from the store, updates from the live worker
            await asyncio.to_thread(feed.sample)
        await websocket.send_text(feed.snapshot(role.value, fleet_only))
        receiving = asyncio.ensure_future(websocket.receive_text())
        while True:
            getting = asyncio.ensure_future(sub.get())
            done, _ = await asyncio.wait({getting, receiving}, return_when=asyncio.FIRST_COMPLETED)
            if getting in done:
                if sub.overflowed:
                    await websocket.close(code=WS_TRY_AGAIN_LATER, reason="too slow for the feed: reconnect")
                    return
                await websocket.send_text(getting.result()["text"])
            else:
                getting.cancel()
            if receiving in done:  # the client spoke (ignored) or went away (raises)
                receiving.result()
                receiving = asyncio.ensure_future(websocket.receive_text())
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        runtime.hub.unsubscribe(sub)
        if receiving is not None:
            receiving.cancel()
            with contextlib.suppress(BaseException):
                await receiving


@router.get("/api/v1/dashboard/check-ins", tags=["dashboard"], summary="Cumulative check-ins over time")
def check_ins(
    session: SessionDep, runtime: RuntimeDep, _caller: Organizer, step_s: Annotated[float, Query(ge=60)] = 300
) -> dict[str, list[float]]:
    return queries.check_in_series(session, runtime.settings.event_id, step_s)


@router.get("/api/v1/dashboard/leads", tags=["dashboard"], summary="Leads captured per exhibitor")
def leads(session: SessionDep, runtime: RuntimeDep, _caller: Organizer) -> list[dict[str, Any]]:
    return queries.leads_per_exhibitor(session, runtime.settings.event_id)


@router.get("/api/v1/dashboard/beacons", tags=["dashboard"], summary="Beacon batteries (Eddystone TLM), lowest first")
def beacons(session: SessionDep, runtime: RuntimeDep, _caller: OrganizerOrStaff) -> list[dict[str, Any]]:
    return queries.beacon_batteries(session, runtime.settings.event_id)
