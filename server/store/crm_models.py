"""Salesforce sync: the transactional outbox and per-record sync state (issue: Salesforce sync).

Tables of this area live here, beside server/store/models.py; server/store/registry.py imports them all.

The outbox says *which attendee changed* (written in the same transaction as the change); the worker rebuilds
that attendee's whole Salesforce footprint (Lead or Contact, CampaignMember, Tasks) from the current state,
so several changes of one attendee coalesce into one write with the latest values. ``crm_sync_state`` keeps,
per Salesforce record, where it stands: its Salesforce id, status, last error and a hash of what was sent
(an unchanged record is not sent again).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, Index
from sqlmodel import Field, SQLModel

from server.store.models import BigId, JsonType


class CrmOutbox(SQLModel, table=True):
    """One change that must reach Salesforce. Deleted once every record it implies is synced or parked."""

    __tablename__ = "crm_outbox"
    __table_args__ = (Index("ix_crm_outbox_due", "next_attempt_at", "id"),)

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True))
    event_id: str = Field(max_length=64)
    attendee_id: str = Field(max_length=64, index=True)
    reason: str = Field(default="change", max_length=32)  # score, registration, lead, rule, post_event, retry
    # Field values a caller sets explicitly (a rule's crm_update action), merged over the mapped values.
    fields: dict[str, Any] | None = Field(default=None, sa_column=Column(JsonType, nullable=True))
    created_at: float
    attempts: int = 0
    next_attempt_at: float = 0.0
    error: str | None = Field(default=None, max_length=2000)


class CrmSyncState(SQLModel, table=True):
    """Where one Salesforce record stands. ``record_key`` is ``<sObject>:<external id>``."""

    __tablename__ = "crm_sync_state"

    record_key: str = Field(primary_key=True, max_length=200)
    event_id: str = Field(max_length=64)
    attendee_id: str | None = Field(default=None, max_length=64, index=True)
    sobject: str = Field(max_length=40)
    external_id: str = Field(max_length=160)
    sf_id: str | None = Field(default=None, max_length=18)
    status: str = Field(default="pending", max_length=16, index=True)  # pending, synced, failed, parked
    error: str | None = Field(default=None, max_length=2000)
    payload_hash: str | None = Field(default=None, max_length=64)
    attempts: int = 0
    enqueued_at: float | None = None  # when the oldest change it carries was captured (lag = synced_at - this)
    updated_at: float
    synced_at: float | None = None


class CrmErasure(SQLModel, table=True):
    """An erased attendee's record to delete or anonymise in Salesforce: written in the erasure's transaction.

    It holds no personal data, only what finds the record again: the External ID value (the attendee id, which
    names nobody once the attendee row is gone) and the Salesforce id when one was known. Deleted once
    Salesforce has done it (or the record was not there), so it outlives the erasure only while Salesforce is
    unreachable. The column is deliberately not called ``attendee_id``: export and erasure find a person's
    rows by that name, and this row must survive the erasure that writes it.
    """

    __tablename__ = "crm_erasure"
    __table_args__ = (Index("ix_crm_erasure_due", "next_attempt_at", "id"),)

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True))
    event_id: str = Field(max_length=64)
    external_id: str = Field(max_length=160)  # the person's External ID value (Touchpoints_Id__c)
    sobject: str | None = Field(default=None, max_length=40)  # Lead or Contact, when the sync state knew it
    sf_id: str | None = Field(default=None, max_length=18)
    policy: str = Field(max_length=16)  # delete, anonymise (TOUCHPOINTS_SALESFORCE_ERASURE at erasure time)
    created_at: float
    attempts: int = 0
    next_attempt_at: float = 0.0
    error: str | None = Field(default=None, max_length=2000)
