"""Trigger rules, decisions, the notification inbox, push subscriptions, connections (issue: trigger rules).

Tables of this area live here, beside server/store/models.py; server/store/registry.py imports them all.

Why these shapes:

* ``rule`` is versioned: an edit inserts version N+1 and the old versions stay (what was running when a
  decision was taken is always known); pause/resume flips ``enabled`` of the latest version.
* ``rule_decision`` and ``notification`` are keyed by the engine's deterministic ``decision_id``: a replay or
  a retry inserts nothing twice, and delivery/open/click records refer to the same id.
* ``action_outbox`` holds what leaves the process (email, webhook, Web Push, CRM, lead) with an idempotency
  key ``<decision id>:<action index>[:<sub-key>]``: a worker delivers it with retries, another area's worker
  (CRM, leads) may read its own kind.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy import Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from server.store.models import BigId, JsonType


def _json_dict() -> Any:
    return Field(default_factory=dict, sa_column=Column(JsonType, nullable=False))


class RuleRow(SQLModel, table=True):
    """One version of a rule; the highest version of an id is the one that runs (when ``enabled``)."""

    __tablename__ = "rule"
    __table_args__ = (Index("ix_rule_event_owner", "event_id", "owner"),)

    id: str = Field(primary_key=True, max_length=64)
    version: int = Field(primary_key=True)
    event_id: str = Field(max_length=64)
    owner: str = Field(max_length=128)  # "organizer" or "exhibitor:<id>"
    campaign_id: str = Field(max_length=64, index=True)
    enabled: bool = True
    definition: dict[str, Any] = _json_dict()  # the rule as JSON (server.domain.rules.parse.dump_rule)
    created_at: float
    created_by: str = Field(default="system", max_length=128)
    updated_at: float  # pause/resume touch it: the engine reloads when it changes


class RuleEngineState(SQLModel, table=True):
    """The engine's memory (caps, sequences, open visits ...) saved periodically and at shutdown."""

    __tablename__ = "rule_engine_state"

    event_id: str = Field(primary_key=True, max_length=64)
    state: dict[str, Any] = _json_dict()
    updated_at: float


class RuleDecision(SQLModel, table=True):
    """Every decision of the engine: fired or suppressed with its reason (never silently dropped)."""

    __tablename__ = "rule_decision"
    __table_args__ = (
        Index("ix_rule_decision_rule", "rule_id", "at"),
        Index("ix_rule_decision_campaign", "campaign_id", "at"),
        Index("ix_rule_decision_attendee", "attendee_id", "at"),
    )

    decision_id: str = Field(primary_key=True, max_length=255)
    event_id: str = Field(max_length=64)
    rule_id: str = Field(max_length=64)
    rule_version: int
    campaign_id: str = Field(max_length=64)
    attendee_id: str = Field(max_length=64)
    action_index: int = 0
    channel: str = Field(max_length=32)
    outcome: str = Field(max_length=16)  # fired | suppressed
    reason: str | None = Field(default=None, max_length=64)
    trigger: str = Field(default="", max_length=64)
    at: float
    redacted: bool = False
    payload: dict[str, Any] = _json_dict()


class Notification(SQLModel, table=True):
    """The inbox: every push (and rep alert) kept with its life cycle. ``id`` is the decision id.

    ``recipient`` is the hub topic it went to: ``attendee:<id>`` (the attendee's inbox) or ``exhibitor:<id>``
    (a rep alert; then ``attendee_id`` is the attendee it is about, None when redacted).
    """

    __table_args__ = (Index("ix_notification_recipient", "recipient", "created_at"),)

    id: str = Field(primary_key=True, max_length=255)
    event_id: str = Field(max_length=64)
    recipient: str = Field(max_length=128)
    attendee_id: str | None = Field(default=None, max_length=64, index=True)
    rule_id: str | None = Field(default=None, max_length=64)
    campaign_id: str | None = Field(default=None, max_length=64)
    channel: str = Field(max_length=32)  # push | rep_alert
    title: str = ""
    body: str = ""
    url: str | None = None
    data: dict[str, Any] = _json_dict()
    created_at: float
    delivered_at: float | None = None
    read_at: float | None = None
    opened_at: float | None = None
    clicked_at: float | None = None
    dismissed_at: float | None = None


class PushSubscription(SQLModel, table=True):
    """A browser's Web Push subscription (endpoint + keys); removed when the push service says it is gone."""

    __tablename__ = "push_subscription"

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True))
    attendee_id: str = Field(max_length=64, index=True)
    endpoint: str = Field(max_length=2048, unique=True)
    p256dh: str = Field(max_length=255)
    auth: str = Field(max_length=255)
    created_at: float
    last_success_at: float | None = None
    gone_at: float | None = None


class ConnectionStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"


class AttendeeConnection(SQLModel, table=True):
    """Two attendees who agreed to be connected (mutual opt-in); ``attendee_a`` < ``attendee_b``."""

    __tablename__ = "connection"
    __table_args__ = (UniqueConstraint("attendee_a", "attendee_b", name="uq_connection_pair"),)

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True))
    event_id: str = Field(max_length=64, index=True)
    attendee_a: str = Field(max_length=64)
    attendee_b: str = Field(max_length=64)
    status: str = Field(default=ConnectionStatus.PENDING.value, max_length=16)
    requested_by: str = Field(max_length=64)
    requested_at: float
    accepted_at: float | None = None


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    DEAD = "dead"  # gave up after the last attempt (kept with its error for an operator)


class ActionOutbox(SQLModel, table=True):
    """An action to perform outside the transaction that decided it: email, webhook, webpush, crm, lead."""

    __tablename__ = "action_outbox"
    __table_args__ = (Index("ix_action_outbox_due", "status", "kind", "next_attempt_at"),)

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True))
    idempotency_key: str = Field(max_length=300, unique=True)
    event_id: str = Field(max_length=64)
    kind: str = Field(max_length=32)
    decision_id: str | None = Field(default=None, max_length=255)
    attendee_id: str | None = Field(default=None, max_length=64)
    payload: dict[str, Any] = _json_dict()
    status: str = Field(default=OutboxStatus.PENDING.value, max_length=16)
    attempts: int = 0
    next_attempt_at: float
    last_error: str | None = Field(default=None, max_length=2000)
    created_at: float
    done_at: float | None = None
