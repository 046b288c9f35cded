"""Salesforce sync, for operators: status per record, counts and lag, re-drive of parked records, dry run."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import BaseModel
from sqlmodel import col, select

from server.crm import erasure, outbox
from server.store.crm_models import CrmSyncState
from server.web.deps import Organizer, RuntimeDep, SessionDep

router = APIRouter(prefix="/api/v1/crm", tags=["salesforce sync"])


class RecordOut(BaseModel):
    record_key: str
    attendee_id: str | None
    sobject: str
    external_id: str
    sf_id: str | None
    status: str  # pending, synced, failed (retrying), parked (waits for an operator)
    error: str | None
    attempts: int
    enqueued_at: float | None
    synced_at: float | None
    updated_at: float


class StatusOut(BaseModel):
    records: dict[str, int]
    outbox_rows: int
    attendees_waiting: int
    erasures_waiting: int  # erased attendees whose Lead Salesforce has yet to delete or anonymise
    lag_s: float
    worker_running: bool
    paused_until: float | None
    pause_reason: str | None


class RetryIn(BaseModel):
    attendee_id: str | None = None
    record_key: str | None = None
    all: bool = False


@router.get("/status", response_model=StatusOut, summary="Records per sync status, outbox depth and lag")
def sync_status(runtime: RuntimeDep, session: SessionDep, _caller: Organizer) -> StatusOut:
    conn = session.connection()
    stats = outbox.outbox_stats(conn, _wall())  # lag is wall-clock: it is about Salesforce, not the event
    crm = runtime.pipeline.crm
    paused = crm.paused_until if crm is not None and crm.paused_until > _wall() else None
    return StatusOut(
        records=outbox.state_counts(conn),
        outbox_rows=int(stats["outbox_rows"]),
        attendees_waiting=int(stats["attendees_waiting"]),
        erasures_waiting=erasure.waiting(conn),
        lag_s=stats["lag_s"],
        worker_running=crm is not None,
        paused_until=paused,
        pause_reason=crm.pause_reason if crm is not None and paused else None,
    )


@router.get("/records", response_model=list[RecordOut], summary="Sync state per Salesforce record")
def list_records(
    session: SessionDep,
    _caller: Organizer,
    status_: Annotated[str | None, Query(alias="status", pattern="^(pending|synced|failed|parked)$")] = None,
    attendee_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[RecordOut]:
    query = select(CrmSyncState).where(col(CrmSyncState.attendee_id).is_not(None))
    if status_ is not None:
        query = query.where(col(CrmSyncState.status) == status_)
    if attendee_id is not None:
        query = query.where(col(CrmSyncState.attendee_id) == attendee_id)
    rows = session.exec(query.order_by(col(CrmSyncState.updated_at).desc()).limit(limit))
    return [RecordOut.model_validate(row, from_attributes=True) for row in rows]


@router.post("/retry", summary="Re-drive parked records: one attendee, one record, or all")
def retry(body: RetryIn, runtime: RuntimeDep, session: SessionDep, _caller: Organizer) -> dict[str, Any]:
    if not (body.all or body.attendee_id or body.record_key):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "say what to retry: all, attendee_id or record_key")
    count = outbox.redrive(session, attendee_id=body.attendee_id, record_key=body.record_key, now=_wall())
    session.commit()
    return {"attendees": count}


@router.get("/preview", summary="Dry run: the records the next drain would send (nothing is sent)")
def preview(
    runtime: RuntimeDep, _caller: Organizer, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> list[dict[str, Any]]:
    from server.crm.service import build_sync

    records = build_sync(runtime.settings, runtime.engine, connect=False).preview()
    return [
        {
            "record_key": r.key,
            "sobject": r.sobject,
            "upsert_on": r.ext_field or "Id",
            "values": r.values,
            "links": r.links,
        }
        for r in records[:limit]
    ]


def _wall() -> float:
    import time

    return time.time()
