"""The emulator's Bulk API 2.0 ingest jobs: create, upload CSV, close (processed at once), status, results.

Operations upsert (on the job's External ID field), insert and update (by the ``Id`` column); an empty cell
leaves a field as it is, ``#N/A`` empties it; Bulk runs no assignment rules unless a job names one.
"""

from __future__ import annotations

import csv
import io
import uuid
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from server.crm.emulator.faults import MESSAGES
from server.crm.emulator.org import MultipleMatches, RecordError
from server.crm.emulator.schema import SCHEMA

if TYPE_CHECKING:
    from server.crm.emulator.app import Emulator


def record_fault(emu: Emulator, ext_value: str | None, index: int, path: str = "") -> str | None:
    return emu.faults.for_record(ext_value, index, path)


async def bulk(emu: Emulator, request: Request, rest: list[str], body: Any) -> Response:
    if not rest and request.method == "POST":
        job_id = "750" + uuid.uuid4().hex[:12].upper()
        emu.jobs[job_id] = {
            "id": job_id,
            "operation": body.get("operation"),
            "object": body.get("object"),
            "externalIdFieldName": body.get("externalIdFieldName"),
            "state": "Open",
            "contentType": "CSV",
            "lineEnding": body.get("lineEnding", "LF"),
            "columnDelimiter": body.get("columnDelimiter", "COMMA"),
            "numberRecordsProcessed": 0,
            "numberRecordsFailed": 0,
            "data": "",
            "success": [],
            "failed": [],
        }
        return JSONResponse(_job_info(emu.jobs[job_id]))
    job = emu.jobs.get(rest[0]) if rest else None
    if job is None:
        raise RecordError("NOT_FOUND", "The requested resource does not exist", [], 404)
    if rest[1:] == ["batches"] and request.method == "PUT":
        if job["state"] != "Open":
            raise RecordError("INVALIDJOBSTATE", f"Job is not open: {job['state']}", [], 409)
        job["data"] += (await request.body()).decode("utf-8")
        return Response(status_code=201)
    if len(rest) == 1 and request.method == "PATCH":
        state = body.get("state")
        if state == "UploadComplete":
            _run_job(emu, job)
        elif state == "Aborted":
            job["state"] = "Aborted"
        return JSONResponse(_job_info(job))
    if len(rest) == 1 and request.method == "DELETE":
        emu.jobs.pop(rest[0])
        return Response(status_code=204)
    if len(rest) == 1:
        return JSONResponse(_job_info(job))
    kind = rest[1]
    rows = {"successfulResults": job["success"], "failedResults": job["failed"], "unprocessedrecords": []}.get(kind)
    if rows is None:
        raise RecordError("NOT_FOUND", "The requested resource does not exist", [], 404)
    return PlainTextResponse(_csv(rows), media_type="text/csv")


def _job_info(job: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in job.items() if k not in ("data", "success", "failed")}


def _run_job(emu: Emulator, job: dict[str, Any]) -> None:
    """Process the uploaded CSV at once (a real org takes seconds to minutes): JobComplete, or Failed."""
    reader = csv.DictReader(io.StringIO(job["data"]))
    ext_field, sobject = job["externalIdFieldName"], job["object"]
    known = emu.org.fields_of(sobject)
    unknown = [f for f in reader.fieldnames or [] if f not in known and "." not in f]
    if unknown:
        job.update(state="Failed", errorMessage=f"InvalidBatch : Field name not found : {unknown[0]}")
        return
    operation = job["operation"]
    for index, row in enumerate(reader):
        values = {k: v for k, v in row.items() if v != ""}  # an empty cell leaves the field as it is
        try:
            externals = [row.get(c) for c in row if c in SCHEMA[sobject].externals() and row.get(c)]
            fault_key = row.get(ext_field) if ext_field else (externals[0] if externals else row.get("Id"))
            code = record_fault(emu, fault_key, index, f"/jobs/ingest/{sobject}")
            if code:
                raise RecordError(code, MESSAGES.get(code, code), [])
            # Bulk API runs assignment rules only when the job names one (assignmentRuleId): never here.
            if operation == "insert":
                record_id, created = emu.org.create(sobject, values), True
            elif operation == "update":
                record_id, created = values.pop("Id", ""), False
                emu.org.update(sobject, record_id, values)
            else:
                record_id, created = emu.org.upsert(sobject, ext_field, row[ext_field], values)
            job["success"].append({"sf__Id": record_id, "sf__Created": str(created).lower(), **row})
        except RecordError as exc:
            job["failed"].append(
                {"sf__Id": "", "sf__Error": f"{exc.code}:{exc.message}:{'--'.join(exc.fields)}", **row}
            )
        except MultipleMatches as exc:
            job["failed"].append({"sf__Id": "", "sf__Error": f"DUPLICATE_EXTERNAL_ID:{len(exc.ids)} match:", **row})
        job["numberRecordsProcessed"] += 1
    job["numberRecordsFailed"] = len(job["failed"])
    job["state"] = "JobComplete"


def _csv(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return ""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()
