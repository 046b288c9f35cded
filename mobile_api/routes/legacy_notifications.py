"""The old attendee notification paths, ``/api/v1/notifications/*``, kept working until release 0.2.0.

They were a second notifications API beside the app's ``/app/v1`` (with a push-subscription model that let
``http://`` endpoints through). There is one API now, the attendee app's; these paths answer with a redirect
that keeps the method and body (308), so a client that follows redirects lands on the new route with its
token and gets the new route's answer and validation. Two cannot redirect and call the new handler instead:
the WebSocket (browsers do not follow redirects on a WebSocket handshake) and ``DELETE
.../push-subscriptions?endpoint=`` (the new route takes the endpoint in a POST body).

Removal: delete this module (and its ``install`` line) in 0.2.0; docs/app-api.md and docs/api.md say so.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Response, WebSocket
from fastapi.responses import RedirectResponse
from starlette import status

from mobile_api.deps import Me
from mobile_api.routes.inbox import Unsubscribe, unregister_push
from mobile_api.ws import serve_socket
from server.web.deps import SessionDep

OLD = "/api/v1/notifications"
REMOVED_IN = "0.2.0"
router = APIRouter(
    prefix=OLD, tags=[f"deprecated: removed in {REMOVED_IN}"], deprecated=True, default_response_class=RedirectResponse
)
PERMANENT = status.HTTP_308_PERMANENT_REDIRECT  # keeps the method and the body, unlike 301/302
TEMPORARY = status.HTTP_307_TEMPORARY_REDIRECT  # the key's answer changes with configuration: not cacheable
MOVED: dict[int | str, dict[str, Any]] = {PERMANENT: {"description": "Moved: follow Location (method and body kept)"}}


@router.post(
    "/{note_id}/opened",
    status_code=PERMANENT,
    responses=MOVED,
    summary="Moved to POST /app/v1/me/notifications/{id}/open",
)
def opened(note_id: str) -> RedirectResponse:
    return RedirectResponse(f"/app/v1/me/notifications/{quote(note_id, safe='')}/open", PERMANENT)


@router.post(
    "/{note_id}/clicked",
    status_code=PERMANENT,
    responses=MOVED,
    summary="Moved to POST /app/v1/me/notifications/{id}/click",
)
def clicked(note_id: str) -> RedirectResponse:
    return RedirectResponse(f"/app/v1/me/notifications/{quote(note_id, safe='')}/click", PERMANENT)


@router.post(
    "/push-subscriptions", status_code=PERMANENT, responses=MOVED, summary="Moved to POST /app/v1/me/push-subscriptions"
)
def add_subscription() -> RedirectResponse:
    return RedirectResponse("/app/v1/me/push-subscriptions", PERMANENT)


@router.get("/vapid-public-key", status_code=TEMPORARY, summary="Moved to GET /app/v1/push/config")
def vapid_public_key() -> RedirectResponse:
    return RedirectResponse("/app/v1/push/config", TEMPORARY)


@router.delete(
    "/push-subscriptions",
    status_code=204,
    response_class=Response,
    summary="Use POST /app/v1/me/push-subscriptions/remove",
)
def remove_subscription(endpoint: str, me: Me, session: SessionDep) -> None:
    unregister_push(Unsubscribe(endpoint=endpoint), me, session)


@router.websocket("/ws")
async def stream(websocket: WebSocket) -> None:
    """``/app/v1/ws`` in its old dialect (see :mod:`mobile_api.ws`)."""
    await serve_socket(websocket, legacy=True)
