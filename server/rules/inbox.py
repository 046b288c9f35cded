"""The notification inbox and Web Push subscriptions: service functions for the attendee app's API.

Every push the rules send is kept in ``notification`` (id = the decision id), whether or not a device was
connected, so an app that comes online catches up from here. Use from any API module (they take a SQLModel
``Session`` and commit themselves)::

    from server.rules.inbox import list_inbox, mark_read, mark_opened, mark_clicked, mark_dismissed

    items = list_inbox(session, "alice", unread_only=False, limit=50)      # newest first, dismissed left out
    unread_count(session, "alice")                       # the inbox badge
    mark_read(session, "alice", note_id, now)            # -> the Notification, or None if not hers
    mark_opened(session, "alice", note_id, now)          # also records a notification_opened touchpoint (once)
    mark_clicked(session, "alice", note_id, now)         # clicked implies opened
    mark_dismissed(session, "alice", note_id, now)
    subscribe_push(session, "alice", endpoint, p256dh, auth, now)   # idempotent by endpoint
    unsubscribe_push(session, "alice", endpoint)

Live delivery: the rules publish ``{"type": "notification", "notification": {...}}`` on the hub topic
``attendee:<id>`` (``runtime.hub.subscribe(...)`` in a WebSocket handler: the attendee app's socket,
``/app/v1/ws``). Opens and clicks feed journeys and rule metrics (mark the attendee's score dirty after them:
``runtime.pipeline.scores.mark([attendee_id])``).
"""

from __future__ import annotations

from sqlmodel import Session, col, func, select

from server.rules.delivery import attendee_topic, record_touchpoint
from server.store.models import TouchpointType
from server.store.rules_models import Notification, PushSubscription


def list_inbox(session: Session, attendee_id: str, *, unread_only: bool = False, limit: int = 50) -> list[Notification]:
    query = select(Notification).where(
        col(Notification.recipient) == attendee_topic(attendee_id), col(Notification.dismissed_at).is_(None)
    )
    if unread_only:
        query = query.where(col(Notification.read_at).is_(None))
    return list(session.exec(query.order_by(col(Notification.created_at).desc()).limit(limit)))


def unread_count(session: Session, attendee_id: str) -> int:
    """Unread, not dismissed: the badge on the app's inbox (counted in SQL, however long the inbox)."""
    query = select(func.count()).where(
        col(Notification.recipient) == attendee_topic(attendee_id),
        col(Notification.dismissed_at).is_(None),
        col(Notification.read_at).is_(None),
    )
    return int(session.exec(query).one())


def _own(session: Session, attendee_id: str, notification_id: str) -> Notification | None:
    note = session.get(Notification, notification_id)
    return note if note is not None and note.recipient == attendee_topic(attendee_id) else None


def _stamp_once(
    session: Session, attendee_id: str, notification_id: str, field: str, now: float
) -> Notification | None:
    """Set one of the attendee's own notification's timestamps, the first time only (retries change nothing)."""
    note = _own(session, attendee_id, notification_id)
    if note is not None and getattr(note, field) is None:
        setattr(note, field, now)
        session.add(note)
        session.commit()
        session.refresh(note)
    return note


def mark_read(session: Session, attendee_id: str, notification_id: str, now: float) -> Notification | None:
    return _stamp_once(session, attendee_id, notification_id, "read_at", now)


def mark_opened(
    session: Session, attendee_id: str, notification_id: str, now: float, *, clicked: bool = False
) -> Notification | None:
    """Opened (and clicked when ``clicked``); the first open is a ``notification_opened`` touchpoint."""
    note = _own(session, attendee_id, notification_id)
    if note is None:
        return None
    first_open = note.opened_at is None
    note.opened_at = note.opened_at or now
    note.read_at = note.read_at or now
    note.delivered_at = note.delivered_at or now  # opened proves it arrived
    if clicked and note.clicked_at is None:
        note.clicked_at = now
    session.add(note)
    if first_open:
        record_touchpoint(session.connection(), note.event_id, TouchpointType.NOTIFICATION_OPENED, attendee_id, now,
                          {"ref": note.id, "clicked": clicked})  # fmt: skip
    session.commit()
    session.refresh(note)
    return note


def mark_clicked(session: Session, attendee_id: str, notification_id: str, now: float) -> Notification | None:
    return mark_opened(session, attendee_id, notification_id, now, clicked=True)


def mark_dismissed(session: Session, attendee_id: str, notification_id: str, now: float) -> Notification | None:
    return _stamp_once(session, attendee_id, notification_id, "dismissed_at", now)


def subscribe_push(
    session: Session, attendee_id: str, endpoint: str, p256dh: str, auth: str, now: float
) -> PushSubscription:
    """Store (or move to this attendee, with fresh keys) a browser's subscription."""
    sub = session.exec(select(PushSubscription).where(col(PushSubscription.endpoint) == endpoint)).first()
    if sub is None:
        sub = PushSubscription(attendee_id=attendee_id, endpoint=endpoint, p256dh=p256dh, auth=auth, created_at=now)
    else:
        sub.attendee_id, sub.p256dh, sub.auth, sub.gone_at = attendee_id, p256dh, auth, None
    session.add(sub)
    session.commit()
    session.refresh(sub)
    return sub


def unsubscribe_push(session: Session, attendee_id: str, endpoint: str) -> bool:
    sub = session.exec(
        select(PushSubscription).where(
            col(PushSubscription.endpoint) == endpoint, col(PushSubscription.attendee_id) == attendee_id
        )
    ).first()
    if sub is None:
        return False
    session.delete(sub)
    session.commit()
    return True
