"""Carrying out fired decisions, in the transaction that records them; live fan-out after the commit.

One fired decision becomes:

* ``push`` -> a ``notification`` row (the inbox). When the attendee has a live connection, the message goes
  to every connected device over the hub (``attendee:<id>``) right after the commit, and it counts as
  delivered (``delivered_at`` + a ``notification_sent`` touchpoint). Otherwise one ``webpush`` outbox row
  per Web Push subscription; the outbox worker sends it and records the delivery.
* ``email`` -> an ``email`` outbox row (the worker sends it through the Mailer; the address is looked up at
  send time, so no copy of it is kept in the outbox).
* ``rep_alert`` -> a ``notification`` for ``exhibitor:<id>`` published on that hub topic (the booth app).
  When no booth app is connected, a ``rep_email`` outbox row per active booth staff account as well: the
  rep hears of the hot prospect at their booth even with the phone in a pocket.
* ``add_tag`` -> the attendee's tags. ``lead`` / ``crm_update`` / ``webhook`` -> outbox rows of kind
  ``lead`` / ``crm`` / ``webhook`` (key ``<decision id>``): the webhook worker here, the lead and CRM
  workers of their areas read their kinds.

Why publish after the commit: a device must never show a notification the inbox does not have.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, select, update
from sqlmodel import col

from server.domain.rules.events import Decision
from server.domain.rules.guards import Channel
from server.store.app_models import ExhibitorUser
from server.store.db import dialect_insert, insert_new
from server.store.models import Attendee, Touchpoint, TouchpointType
from server.store.rules_models import ActionOutbox, Notification, PushSubscription

NOTIFICATION = Notification.__table__  # type: ignore[attr-defined]
OUTBOX = ActionOutbox.__table__  # type: ignore[attr-defined]
TOUCHPOINT = Touchpoint.__table__  # type: ignore[attr-defined]
OUTBOX_KIND = {Channel.LEAD: "lead", Channel.CRM_UPDATE: "crm", Channel.WEBHOOK: "webhook", Channel.EMAIL: "email"}


def attendee_topic(attendee_id: str) -> str:
    return f"attendee:{attendee_id}"


def exhibitor_topic(exhibitor_id: str) -> str:
    return f"exhibitor:{exhibitor_id}"


@dataclass
class AfterCommit:
    """What to do once the transaction is committed."""

    publishes: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    outbox_added: bool = False
    journeys_changed: set[str] = field(default_factory=set)


def notification_message(row: dict[str, Any]) -> dict[str, Any]:
    """What a connected device receives (the same fields the inbox lists)."""
    keys = ("id", "channel", "title", "body", "url", "rule_id", "campaign_id", "attendee_id", "data", "created_at")
    return {"type": "notification", "notification": {k: row.get(k) for k in keys}}


def record_touchpoint(
    conn: Connection, event_id: str, kind: TouchpointType, attendee_id: str, at: float, data: dict[str, Any]
) -> None:
    conn.execute(
        dialect_insert(conn, TOUCHPOINT).values(
            event_id=event_id,
            type=kind.value,
            occurred_at=at,
            received_at=time.time(),
            attendee_id=attendee_id,
            idx=0,
            data=data,
        )
    )


def enqueue(
    conn: Connection, event_id: str, kind: str, key: str, payload: dict[str, Any], now: float,
    decision_id: str | None = None, attendee_id: str | None = None,
) -> bool:  # fmt: skip
    """Add an outbox row unless its idempotency key is already there; True when added."""
    values = {
        "idempotency_key": key, "event_id": event_id, "kind": kind, "decision_id": decision_id,
        "attendee_id": attendee_id, "payload": payload, "status": "pending", "attempts": 0,
        "next_attempt_at": now, "created_at": now,
    }  # fmt: skip
    return insert_new(conn, OUTBOX, values)


def _notify(conn: Connection, row: dict[str, Any], connected: bool, after: AfterCommit) -> bool:
    if not insert_new(conn, NOTIFICATION, row, key=["id"]):
        return False
    if connected:
        after.publishes.append((row["recipient"], notification_message(row)))
    return True


def execute(
    conn: Connection, decision: Decision, event_id: str, connected: bool, after: AfterCommit, now: float
) -> None:
    """Carry out one fired decision (already recorded) inside ``conn``'s transaction.

    ``connected``: the recipient has a live connection now (for pushes: the attendee; rep alerts: the booth).
    """
    payload = dict(decision.payload)
    attendee_id = decision.attendee_id
    base = {
        "id": decision.decision_id, "event_id": event_id, "rule_id": decision.rule_id,
        "campaign_id": decision.campaign_id, "channel": decision.channel.value, "created_at": now,
    }  # fmt: skip
    if decision.channel is Channel.PUSH:
        data = {k: v for k, v in payload.items() if k not in ("title", "body", "url")}
        row = base | {
            "recipient": attendee_topic(attendee_id), "attendee_id": attendee_id,
            "title": str(payload.get("title", "")), "body": str(payload.get("body", "")), "url": payload.get("url"),
            "data": data, "delivered_at": now if connected else None,
        }  # fmt: skip
        if not _notify(conn, row, connected, after):
            return
        if connected:
            record_touchpoint(conn, event_id, TouchpointType.NOTIFICATION_SENT, attendee_id, now,
                              {"ref": decision.decision_id, "channel": "websocket"})  # fmt: skip
            after.journeys_changed.add(attendee_id)
            return
        subscriptions = conn.execute(
            select(col(PushSubscription.id)).where(
                col(PushSubscription.attendee_id) == attendee_id, col(PushSubscription.gone_at).is_(None)
            )
        ).scalars()
        for sub_id in subscriptions:
            key = f"{decision.decision_id}:webpush:{sub_id}"
            body = {"notification_id": decision.decision_id, "subscription_id": sub_id}
            after.outbox_added |= enqueue(conn, event_id, "webpush", key, body, now, decision.decision_id, attendee_id)
    elif decision.channel is Channel.REP_ALERT:
        exhibitor_id = payload.get("exhibitor_id")
        if not exhibitor_id:
            return  # nobody to alert: the rule fired outside any exhibitor's booth
        message = str(payload.get("message", ""))
        data = {k: v for k, v in payload.items() if k not in ("message",)}
        row = base | {
            "recipient": exhibitor_topic(str(exhibitor_id)), "attendee_id": payload.get("attendee_id"),
            "title": message, "body": str(payload.get("opener", "")), "url": None, "data": data,
            "delivered_at": now if connected else None,
        }  # fmt: skip
        if not _notify(conn, row, connected, after) or connected:
            return
        staff = conn.execute(
            select(col(ExhibitorUser.id)).where(
                col(ExhibitorUser.exhibitor_id) == str(exhibitor_id), col(ExhibitorUser.disabled_at).is_(None)
            )
        ).scalars()
        for user_id in staff:  # one row per rep: each is sent (and retried) on its own, at most once
            body = {"exhibitor_user_id": user_id, "notification_id": decision.decision_id}
            after.outbox_added |= enqueue(conn, event_id, "rep_email", f"{decision.decision_id}:rep:{user_id}", body,
                                          now, decision.decision_id, attendee_id)  # fmt: skip
    elif decision.channel is Channel.ADD_TAG:
        tag = str(payload.get("tag", ""))
        tags = conn.execute(select(col(Attendee.tags)).where(col(Attendee.id) == attendee_id)).scalar_one_or_none()
        if tags is not None and tag and tag not in tags:
            conn.execute(update(Attendee).where(col(Attendee.id) == attendee_id).values(tags=[*tags, tag]))
    else:
        kind = OUTBOX_KIND[decision.channel]
        after.outbox_added |= enqueue(
            conn, event_id, kind, decision.decision_id, payload, now, decision.decision_id, attendee_id
        )
