"""Notifications for attendees: the live stream, open/click records and Web Push subscriptions.

* ``GET /api/v1/notifications/ws?token=<attendee token>`` (WebSocket): every message the rules publish for
  the token's attendee (``{"type": "notification", "notification": {...}}``), as it happens. Browsers cannot
  set headers on a WebSocket, hence the token in the query. A slow client is cut off (code 1013) and catches
  up from the inbox. The event app's richer ``/app/v1/ws`` builds on the same hub topic.
* ``POST /api/v1/notifications/{id}/opened`` / ``.../clicked``: the app reports what the attendee did;
  the first open is a ``notification_opened`` touchpoint (journeys, rule metrics).
* ``POST/DELETE /api/v1/notifications/push-subscriptions``: a browser's Web Push subscription
  (``PushSubscription.toJSON()``); ``GET /api/v1/notifications/vapid-public-key`` is what it subscribes with.
"""

from __future__ import annotations

import asyncio
import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, WebSocket, WebSocketDisconnect, status
from pydantic import BaseModel, Field
from sqlmodel import Session, select
from starlette.concurrency import run_in_threadpool

from server.core.security import hash_token
from server.live.hub import subscribe_in_thread
from server.rules.delivery import attendee_topic
from server.rules.inbox import mark_opened, subscribe_push, unsubscribe_push
from server.rules.webpush import public_key_of
from server.store.models import ApiToken, Role
from server.store.rules_models import Notification
from server.web.deps import Principal, RuntimeDep, SessionDep, require

router = APIRouter(prefix="/api/v1/notifications", tags=["notifications"])
AttendeeCaller = Annotated[Principal, Depends(require(Role.ATTENDEE))]
WS_POLICY_VIOLATION = 1008
WS_TRY_AGAIN_LATER = 1013


def _attendee(caller: Principal) -> str:
    if caller.subject is None:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this needs an attendee token")
    return caller.subject


def _opened(session: Session, runtime: RuntimeDep, caller: Principal, note_id: str, clicked: bool) -> Notification:
    attendee_id = _attendee(caller)
    note = mark_opened(session, attendee_id, note_id, runtime.pipeline.now(), clicked=clicked)
    if note is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"notification {note_id!r} not found")
    if runtime.pipeline.scores is not None:
        runtime.pipeline.scores.mark([attendee_id])
    return note


@router.post("/{note_id}/opened", response_model=Notification, summary="The attendee opened the notification")
def opened(note_id: str, session: SessionDep, runtime: RuntimeDep, caller: AttendeeCaller) -> Notification:
    return _opened(session, runtime, caller, note_id, clicked=False)


@router.post("/{note_id}/clicked", response_model=Notification, summary="The attendee followed its link")
def clicked(note_id: str, session: SessionDep, runtime: RuntimeDep, caller: AttendeeCaller) -> Notification:
    return _opened(session, runtime, caller, note_id, clicked=True)


class SubscriptionKeys(BaseModel):
    p256dh: str = Field(min_length=1, max_length=255)
    auth: str = Field(min_length=1, max_length=255)


class SubscriptionIn(BaseModel):
    endpoint: str = Field(pattern=r"^https?://", max_length=2048)
    keys: SubscriptionKeys


@router.post("/push-subscriptions", status_code=201, summary="Store this browser's Web Push subscription")
def add_subscription(
    body: SubscriptionIn, session: SessionDep, runtime: RuntimeDep, caller: AttendeeCaller
) -> dict[str, Any]:
    sub = subscribe_push(session, _attendee(caller), body.endpoint, body.keys.p256dh, body.keys.auth, time.time())
    return {"id": sub.id, "endpoint": sub.endpoint}


@router.delete("/push-subscriptions", summary="Forget a Web Push subscription (by endpoint)")
def remove_subscription(endpoint: str, session: SessionDep, caller: AttendeeCaller) -> dict[str, bool]:
    return {"removed": unsubscribe_push(session, _attendee(caller), endpoint)}


@router.get("/vapid-public-key", summary="The applicationServerKey browsers subscribe with (public)")
def vapid_public_key(runtime: RuntimeDep) -> dict[str, str]:
    key = runtime.settings.vapid_private_key
    if key is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Web Push is not configured (TOUCHPOINTS_VAPID_PRIVATE_KEY)")
    return {"public_key": public_key_of(key.get_secret_value())}


def attendee_of_token(session: Session, token: str) -> str | None:
    row = session.exec(select(ApiToken).where(ApiToken.token_hash == hash_token(token))).first()
    if row is None or row.role != Role.ATTENDEE or row.revoked_at is not None or not row.subject:
        return None
    if row.expires_at is not None and row.expires_at <= time.time():
        return None
    return row.subject


def _attendee_of_token(engine: Any, token: str) -> str | None:
    with Session(engine) as session:
        return attendee_of_token(session, token)


@router.websocket("/ws")
async def stream(websocket: WebSocket, token: str = "") -> None:
    runtime = websocket.app.state.runtime
    # The token's row is read in the thread pool, as the app socket does: a database call on the event loop
    # holds up every other socket of the process while it waits.
    attendee_id = await run_in_threadpool(_attendee_of_token, runtime.engine, token) if token else None
    if attendee_id is None:
        await websocket.close(code=WS_POLICY_VIOLATION, reason="an attendee token is needed (?token=...)")
        return
    await websocket.accept()
    # In a thread: with scale-out the hub waits for Redis to confirm the channel (never on the event loop).
    sub = await subscribe_in_thread(runtime.hub, attendee_topic(attendee_id))
    receiving: asyncio.Future[str] | None = None
    try:
        await websocket.send_json({"type": "hello", "attendee_id": attendee_id})
        receiving = asyncio.ensure_future(websocket.receive_text())
        while True:
            getting = asyncio.ensure_future(sub.get())
            done, _ = await asyncio.wait({getting, receiving}, return_when=asyncio.FIRST_COMPLETED)
            if getting in done:
                await websocket.send_json(getting.result())
                if sub.overflowed:
                    await websocket.close(code=WS_TRY_AGAIN_LATER, reason="too slow: reconnect and read the inbox")
                    return
            else:
                getting.cancel()
            if receiving in done:  # the client spoke (pings are ignored) or went away (raises)
                receiving.result()
                receiving = asyncio.ensure_future(websocket.receive_text())
    except WebSocketDisconnect:
        pass
    finally:
        runtime.hub.unsubscribe(sub)
        if receiving is not None:
            receiving.cancel()
