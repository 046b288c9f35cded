"""Registration import over HTTP: the same rows, checks and report as `touchpoints import registrations`."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool

from server.api.routes.venue import venue_changed
from server.usecases.registrations import (
    RegistrationFileError,
    import_registrations,
    parse_registrations_csv,
    parse_registrations_json,
)
from server.venue.report import ImportReport
from server.web.deps import Organizer, RuntimeDep

router = APIRouter(prefix="/api/v1/registrations", tags=["registrations"])

CSV_EXAMPLE = (
    "id,name,email,company,job_title,country,role,badge_uid,badge_id,beacon_id,tags,interests,"
    "consent_tracking,consent_push,consent_crm,sessions\n"
    "ada,Ada Adams,ada@example.com,Globex,CTO,DE,attendee,04a1b2c3d4e5f6,B0001,"
    "ibeacon:f7826da6-4fa2-4e98-8024-bc5b71e0893e:1:1,vip,ai;cloud,yes,yes,no,s-keynote;s-a-1030\n"
)
JSON_EXAMPLE = [
    {"id": "ada", "name": "Ada Adams", "email": "ada@example.com", "tags": ["vip"], "consent_tracking": True}
]


@router.post(
    "",
    response_model=ImportReport,
    summary="Import registrations from CSV (text/csv) or JSON; bad rows are reported, good rows imported",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "text/csv": {"schema": {"type": "string"}, "example": CSV_EXAMPLE},
                "application/json": {"schema": {"type": "array", "items": {"type": "object"}}, "example": JSON_EXAMPLE},
            },
        }
    },
    responses={415: {"description": "neither text/csv nor application/json"}},
)
async def post_registrations(request: Request, runtime: RuntimeDep, _caller: Organizer) -> ImportReport:
    """Idempotent: posting the same file twice reports every row `unchanged` the second time. The report
    lists refused rows as `{"line": n, "reason": "..."}` (CSV lines count the header as 1, JSON items from 1);
    a request with refused rows still answers 200, since the good rows were imported."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = await request.body()
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "the body is not UTF-8 text") from None
    warnings: list[str] = []
    try:
        if media_type in ("text/csv", "text/plain"):
            rows = list(parse_registrations_csv(text, warnings))
        elif media_type == "application/json":
            rows = list(parse_registrations_json(_json(text), warnings))
        else:
            raise HTTPException(
                status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, f"send text/csv or application/json, not {media_type!r}"
            )
    except RegistrationFileError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    event_id = runtime.settings.event_id
    try:
        report = await run_in_threadpool(
            import_registrations, runtime.engine, event_id, rows, warnings=warnings, publish=runtime.pipeline.publish
        )
    except LookupError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    # New badges are recognized by ingest from the next message on. In a thread: with scale-out this tells the
    # other processes through Redis, a blocking call that must not stall the loop.
    await run_in_threadpool(venue_changed, runtime)
    return report


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"the body is not JSON: {exc}") from None
