"""``/app/v1/ws``: live notifications for the app, with authentication, heartbeats and resume.

Protocol (JSON text frames; docs/app-api.md has the full shapes):

1. Authenticate: ``?token=<access token>`` on the URL, or a first message
   ``{"type": "auth", "token": "...", "last_id": "<last notification id seen>" | null}`` within
   ``AUTH_TIMEOUT_S``. An attendee's token listens on ``attendee:<id>``; booth staff on ``exhibitor:<id>``.
2. Server: ``{"type": "hello", "topic": ..., "heartbeat_s": N}``.
3. Resume: every inbox notification after ``last_id`` (or after ``since``) is sent, oldest first, as
   ``{"type": "notification", "notification": {...}, "replayed": true}``, then
   ``{"type": "replayed", "count": n, "last_id": ...}``. The hub subscription is opened *before* the inbox
   is read, so nothing published in between is lost; what both paths carry is sent once.
4. Live: ``{"type": "notification", "notification": {...}}`` (and other hub messages, e.g. ``hot_lead``).
5. Heartbeat: the server sends ``{"type": "ping", "at": t}`` every ``heartbeat_s``; the client answers
   ``{"type": "pong"}`` (any message counts). Silence for ``2 * heartbeat_s + GRACE_S`` closes with 4408. A
   client may send ``{"type": "ping"}`` and gets ``{"type": "pong"}``. At each ping the token is checked
   again: signed out or expired closes with 4401.
6. A client that cannot keep up (its hub queue overflowed) is closed with 4409; it reconnects with its last
   id and catches up from the inbox.

The deprecated ``/api/v1/notifications/ws?token=`` (until release 0.2.0) is the same socket in its old
dialect (:data:`LEGACY`): attendee tokens only, ``{"type": "hello", "attendee_id": ...}``, then the live
messages alone — no replay, no pings — so the clients written for it keep working unchanged.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import time
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool

from mobile_api.routes.inbox import missed_since_topic, notification_json
from server.core.security import hash_token
from server.live.hub import subscribe_in_thread
from server.runtime import Runtime
from server.store.models import ApiToken, Role

router = APIRouter()

AUTH_TIMEOUT_S = 10.0
HEARTBEAT_S = 25.0  # under the 30-60 s idle timeouts of common proxies and mobile carriers
GRACE_S = 5.0

CLOSE_AUTH = 4401  # no, bad, expired or revoked token
CLOSE_BAD_MESSAGE = 4400  # the first message was not an auth message
CLOSE_HEARTBEAT = 4408  # the client stopped answering pings
CLOSE_SLOW = 4409  # the client could not keep up; reconnect with last_id
LEGACY_CLOSE_POLICY = 1008  # the old socket's answer to a missing or non-attendee token
LEGACY_CLOSE_SLOW = 1013  # the old socket's "try again later" for a client that could not keep up


@dataclass(frozen=True)
class Listener:
    token_id: int | None
    token_hash: str
    topic: str


def _authenticate(runtime: Runtime, token: str) -> Listener | None:
    with Session(runtime.engine) as session:
        row = session.exec(select(ApiToken).where(col(ApiToken.token_hash) == hash_token(token))).first()
    if row is None or not _valid(row) or not row.subject:
        return None
    if row.role == Role.ATTENDEE.value:
        return Listener(row.id, row.token_hash, f"attendee:{row.subject}")
    if row.role == Role.EXHIBITOR.value:
        return Listener(row.id, row.token_hash, f"exhibitor:{row.subject}")
    return None


def _valid(row: ApiToken) -> bool:
    return row.revoked_at is None and (row.expires_at is None or row.expires_at > time.time())


def _still_valid(runtime: Runtime, listener: Listener) -> bool:
    with Session(runtime.engine) as session:
        row = session.get(ApiToken, listener.token_id) if listener.token_id is not None else None
    return row is not None and _valid(row)


def _missed(runtime: Runtime, topic: str, last_id: str | None, since: float | None) -> list[dict[str, Any]]:
    if last_id is None and since is None:
        return []  # a first connection: the client reads the inbox over HTTP, then resumes from its newest id
    with Session(runtime.engine) as session:
        return [notification_json(n) for n in missed_since_topic(session, topic, last_id, since)]


async def _send(ws: WebSocket, message: dict[str, Any]) -> None:
    await ws.send_text(json.dumps(message, default=str))


@router.websocket("/app/v1/ws")
async def app_socket(ws: WebSocket) -> None:
    await serve_socket(ws, legacy=False)


async def serve_socket(ws: WebSocket, *, legacy: bool) -> None:
    """The one notification socket; ``legacy`` speaks the old ``/api/v1/notifications/ws`` dialect."""
    runtime: Runtime = ws.app.state.runtime
    if legacy:
        await _serve_legacy(ws, runtime)
        return
    heartbeat_s: float = getattr(ws.app.state.mobile, "heartbeat_s", HEARTBEAT_S)
    await ws.accept()
    token = ws.query_params.get("token")
    last_id = ws.query_params.get("last_id")
    since_text = ws.query_params.get("since")
    try:
        if not token:
            try:
                first = json.loads(await asyncio.wait_for(ws.receive_text(), AUTH_TIMEOUT_S))
            except (TimeoutError, ValueError):
                await ws.close(CLOSE_BAD_MESSAGE, 'send {"type": "auth", "token": ...} first')
                return
            if not isinstance(first, dict) or first.get("type") != "auth" or not isinstance(first.get("token"), str):
                await ws.close(CLOSE_BAD_MESSAGE, 'the first message must be {"type": "auth", "token": ...}')
                return
            token, last_id = first["token"], first.get("last_id") or last_id
            since_text = first.get("since", since_text)
        listener = await run_in_threadpool(_authenticate, runtime, token)
        if listener is None:
            await ws.close(CLOSE_AUTH, "invalid or expired token")
            return
        try:
            since = float(since_text) if since_text is not None else None
        except ValueError:
            since = None
        await _serve(ws, runtime, listener, str(last_id) if last_id else None, since, heartbeat_s)
    except WebSocketDisconnect:
        return


async def _serve_legacy(ws: WebSocket, runtime: Runtime) -> None:
    token = ws.query_params.get("token")
    listener = await run_in_threadpool(_authenticate, runtime, token) if token else None
    if listener is None or not listener.topic.startswith("attendee:"):
        await ws.close(code=LEGACY_CLOSE_POLICY, reason="an attendee token is needed (?token=...)")
        return
    await ws.accept()
    sub = await subscribe_in_thread(runtime.hub, listener.topic)
    try:
        await _send(ws, {"type": "hello", "attendee_id": listener.topic.removeprefix("attendee:")})
        # No heartbeat: the old clients never answered pings, and took the first message after hello as a push.
        await _pump(ws, runtime, listener, sub, set(), math.inf, slow_code=LEGACY_CLOSE_SLOW)
    except WebSocketDisconnect:
        return
    finally:
        runtime.hub.unsubscribe(sub)


async def _serve(ws: WebSocket, runtime: Runtime, listener: Listener, last_id: str | None, since: float | None,
                 heartbeat_s: float) -> None:  # fmt: skip
    # Before reading the inbox: nothing falls in between. In a thread: with scale-out the hub waits for Redis
    # to confirm the channel, which must not stall the loop's other connections.
    sub = await subscribe_in_thread(runtime.hub, listener.topic)
    try:
        await _send(ws, {"type": "hello", "topic": listener.topic, "heartbeat_s": heartbeat_s})
        replayed = await run_in_threadpool(_missed, runtime, listener.topic, last_id, since)
        sent: set[str] = set()
        for note in replayed:
            await _send(ws, {"type": "notification", "notification": note, "replayed": True})
            sent.add(note["id"])
        await _send(
            ws, {"type": "replayed", "count": len(replayed), "last_id": replayed[-1]["id"] if replayed else last_id}
        )
        await _pump(ws, runtime, listener, sub, sent, heartbeat_s)
    finally:
        runtime.hub.unsubscribe(sub)


async def _pump(ws: WebSocket, runtime: Runtime, listener: Listener, sub: Any, sent: set[str],
                heartbeat_s: float, slow_code: int = CLOSE_SLOW) -> None:  # fmt: skip
    last_heard = time.monotonic()
    closed = asyncio.Event()

    async def receive() -> None:
        nonlocal last_heard
        try:
            while True:
                text = await ws.receive_text()
                last_heard = time.monotonic()
                with contextlib.suppress(ValueError):
                    message = json.loads(text)
                    if isinstance(message, dict) and message.get("type") == "ping":
                        await _send(ws, {"type": "pong", "at": time.time()})
        except (WebSocketDisconnect, RuntimeError):
            closed.set()

    receiver = asyncio.create_task(receive())
    next_ping = time.monotonic() + heartbeat_s
    try:
        while not closed.is_set():
            if sub.overflowed:
                await ws.close(slow_code, "too slow: reconnect with your last notification id")
                return
            try:
                message = await asyncio.wait_for(sub.get(), timeout=max(0.05, min(1.0, next_ping - time.monotonic())))
            except TimeoutError:
                message = None
            if message is not None:
                note = message.get("notification") if isinstance(message, dict) else None
                note_id = note.get("id") if isinstance(note, dict) else None
                if note_id is not None and note_id in sent:
                    sent.discard(note_id)  # already sent by the replay
                    continue
                await _send(ws, message)
            now = time.monotonic()
            if now - last_heard > 2 * heartbeat_s + GRACE_S:
                await ws.close(CLOSE_HEARTBEAT, "no pong: connection considered dead")
                return
            if now >= next_ping:
                if not await run_in_threadpool(_still_valid, runtime, listener):
                    await ws.close(CLOSE_AUTH, "token expired or signed out")
                    return
                await _send(ws, {"type": "ping", "at": time.time()})
                next_ping = now + heartbeat_s
    except (WebSocketDisconnect, RuntimeError):
        return
    finally:
        receiver.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await receiver
