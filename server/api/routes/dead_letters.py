"""The dead-letter store: every refused message with its reason and raw bytes.

Paging is by cursor, not offset: rows arrive while an operator reads, and an offset would skip or repeat
them. A page lists the most recent first; the next page is ``before=<the last id of this one>``, until a
page is shorter than ``limit``. Of senders we cannot hold to account only an excerpt is kept
(server/ingest/budget.py): then ``truncated`` is true and ``size`` is the whole payload's length.
"""

from __future__ import annotations

import base64
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlalchemy import func
from sqlmodel import col, select

from server.store.models import DeadLetter, DeadLetterReason
from server.web.deps import OrganizerOrStaff, SessionDep

MAX_ID = 2**63 - 1  # ids are BIGINT: a larger cursor is a client error (422), not a database overflow

router = APIRouter(prefix="/api/v1/dead-letters", tags=["dead letters"])


class DeadLetterOut(BaseModel):
    id: int
    received_at: float
    topic: str
    reason: str
    detail: str
    device_id: str | None
    size: int  # the whole payload's length in bytes
    truncated: bool  # only the payload's first bytes were kept (the detail names the whole's SHA-256)
    payload_base64: str
    payload_text: str | None  # the payload when it is valid UTF-8 (most are JSON)


@router.get("", response_model=list[DeadLetterOut], summary="Most recent refused messages first")
def list_dead_letters(
    session: SessionDep,
    _caller: OrganizerOrStaff,
    reason: DeadLetterReason | None = None,
    device_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    before: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="Cursor: only ids below this (the last id of a page)")
    ] = None,
) -> list[DeadLetterOut]:
    query = select(DeadLetter)
    if before is not None:
        query = query.where(col(DeadLetter.id) < before)
    if reason is not None:
        query = query.where(DeadLetter.reason == reason.value)
    if device_id is not None:
        query = query.where(DeadLetter.device_id == device_id)
    rows = session.exec(query.order_by(col(DeadLetter.id).desc()).limit(limit))
    out = []
    for row in rows:
        try:
            text: str | None = row.payload.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        out.append(
            DeadLetterOut(
                id=row.id or 0,
                received_at=row.received_at,
                topic=row.topic,
                reason=str(row.reason),
                detail=row.detail,
                device_id=row.device_id,
                size=row.size,
                truncated=row.size > len(row.payload),
                payload_base64=base64.b64encode(row.payload).decode(),
                payload_text=text,
            )
        )
    return out


@router.get("/counts", response_model=dict[str, int], summary="Refused messages per reason")
def count_dead_letters(session: SessionDep, _caller: OrganizerOrStaff) -> dict[str, int]:
    rows = session.exec(select(DeadLetter.reason, func.count()).group_by(DeadLetter.reason))
    return {str(reason): int(n) for reason, n in rows}
