"""My notifications inbox (read, open, dismiss) and my Web Push subscriptions, on the rules' tables."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import BaseModel, Field
from sqlmodel import Session, col, select

from mobile_api.deps import Me
from server.rules.delivery import attendee_topic
from server.rules.inbox import (
    mark_clicked,
    mark_dismissed,
    mark_opened,
    mark_read,
    subscribe_push,
    unread_count,
    unsubscribe_push,
)
from server.store.rules_models import Notification
from server.web.deps import RuntimeDep, SessionDep

router = APIRouter(prefix="/app/v1", tags=["app: notifications"])


class NotificationOut(BaseModel):
    id: str
    channel: str
    title: str
    body: str
    url: str | None
    data: dict[str, Any]
    created_at: float
    delivered_at: float | None
    read_at: float | None
    opened_at: float | None
    clicked_at: float | None
    dismissed_at: float | None


class Inbox(BaseModel):
    unread: int
    items: list[NotificationOut] = Field(description="Oldest first")


def notification_json(n: Notification) -> dict[str, Any]:
    return NotificationOut.model_validate(n, from_attributes=True).model_dump()


def missed_since(session: Session, attendee_id: str, last_id: str | None, since: float | None,
                 limit: int = 500) -> list[Notification]:  # fmt: skip
    return missed_since_topic(session, attendee_topic(attendee_id), last_id, since, limit)


def missed_since_topic(session: Session, topic: str, last_id: str | None, since: float | None,
                       limit: int = 500) -> list[Notification]:  # fmt: skip
    """Notifications after ``last_id`` (the last one the device saw) or after ``since``, oldest first.

    Ids are the rules' decision ids (not ordered), so "after" means after that notification's
    ``(created_at, id)``. An unknown ``last_id`` (erased, or from another account) replays nothing rather
    than everything; with neither, the newest ``limit`` are replayed.
    """
    query = select(Notification).where(col(Notification.recipient) == topic, col(Notification.dismissed_at).is_(None))
    if last_id is not None:
        last = session.get(Notification, last_id)
        if last is None or last.recipient != topic:
            return []
        query = query.where(
            (col(Notification.created_at) > last.created_at)
            | ((col(Notification.created_at) == last.created_at) & (col(Notification.id) > last.id))
        )
    elif since is not None:
        query = query.where(col(Notification.created_at) > since)
    rows = session.exec(query.order_by(col(Notification.created_at).desc(), col(Notification.id).desc()).limit(limit))
    return list(reversed(list(rows)))


@router.get("/me/notifications", response_model=Inbox, summary="My inbox (dismissed ones left out)")
def inbox(me: Me, session: SessionDep,
          after: Annotated[str | None, Query(max_length=255, description="Only those after this id")] = None,
          unread_only: bool = False,
          limit: Annotated[int, Query(ge=1, le=500)] = 100) -> Inbox:  # fmt: skip
    rows = missed_since(session, me.id, after, None, limit)
    if unread_only:
        rows = [n for n in rows if n.read_at is None]
    return Inbox(unread=unread_count(session, me.id), items=[NotificationOut(**notification_json(n)) for n in rows])


ACTIONS = {"read": mark_read, "open": mark_opened, "click": mark_clicked, "dismiss": mark_dismissed}


@router.post("/me/notifications/{notification_id}/{action}", response_model=NotificationOut,
             summary="Mark a notification read, opened, clicked or dismissed (idempotent)")  # fmt: skip
def act(notification_id: str, action: str, me: Me, session: SessionDep, runtime: RuntimeDep) -> NotificationOut:
    mark = ACTIONS.get(action)
    if mark is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"unknown action {action!r}: use {', '.join(ACTIONS)}")
    note = mark(session, me.id, notification_id, time.time())
    if note is None:  # not found, or someone else's: the same answer, so ids cannot be probed
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"notification {notification_id!r} not found")
    if action in ("open", "click") and runtime.pipeline.scores is not None:
        runtime.pipeline.scores.mark([me.id])
    return NotificationOut(**notification_json(note))


class PushKeys(BaseModel):
    p256dh: str = Field(min_length=16, max_length=255)
    auth: str = Field(min_length=8, max_length=255)


class PushSubscriptionIn(BaseModel):
    """Exactly what the browser's ``PushSubscription.toJSON()`` returns."""

    endpoint: str = Field(pattern=r"^https://", max_length=2048)
    keys: PushKeys
    expirationTime: float | None = None  # the browser's field name


class PushSubscriptionOut(BaseModel):
    id: int
    endpoint: str
    created_at: float


class PushConfig(BaseModel):
    enabled: bool
    public_key: str | None = Field(description="applicationServerKey for pushManager.subscribe()")


@router.get("/push/config", response_model=PushConfig, summary="The VAPID public key to subscribe with")
def push_config(runtime: RuntimeDep) -> PushConfig:
    key = runtime.settings.vapid_private_key
    if key is None:
        return PushConfig(enabled=False, public_key=None)
    from server.rules.webpush import public_key_of

    return PushConfig(enabled=True, public_key=public_key_of(key.get_secret_value()))


@router.post("/me/push-subscriptions", response_model=PushSubscriptionOut, status_code=201,
             summary="Register this browser for Web Push (idempotent by endpoint)")  # fmt: skip
def register_push(body: PushSubscriptionIn, me: Me, session: SessionDep) -> PushSubscriptionOut:
    sub = subscribe_push(session, me.id, body.endpoint, body.keys.p256dh, body.keys.auth, time.time())
    assert sub.id is not None
    return PushSubscriptionOut(id=sub.id, endpoint=sub.endpoint, created_at=sub.created_at)


class Unsubscribe(BaseModel):
    endpoint: str = Field(max_length=2048)


@router.post("/me/push-subscriptions/remove", status_code=204, summary="Unregister a browser from Web Push")
def unregister_push(body: Unsubscribe, me: Me, session: SessionDep) -> None:
    if not unsubscribe_push(session, me.id, body.endpoint):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such subscription of yours")
