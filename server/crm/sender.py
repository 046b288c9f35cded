"""Writing records to Salesforce: sObject Collections (<= 200 a call) or Bulk API 2.0, and the lookups.

Every call goes through :meth:`SalesforceConnection.call` (session renewal) and its failure is classified
once, here (:class:`CallFailed`): ``limit`` (REQUEST_LIMIT_EXCEEDED: pause everything), ``transient``
(5xx, timeouts, connection errors: retry later), ``auth`` (login refused: pause, an operator must act) or
``permanent`` (400 and the like: retrying the same request cannot help). Per-record errors come back as
:class:`Result` with ``transient`` set for UNABLE_TO_LOCK_ROW and its kin.
"""

from __future__ import annotations

import csv
import io
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote_plus

import requests
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceError

from server.crm.connection import CrmAuthError, SalesforceConnection
from server.crm.mapping import SfRecord

log = logging.getLogger(__name__)
T = TypeVar("T")

# Per-record errors worth retrying: the record was fine, the org was busy.
TRANSIENT_CODES = frozenset(
    {
        "UNABLE_TO_LOCK_ROW",
        "SERVER_UNAVAILABLE",
        "REQUEST_RUNNING_TOO_LONG",
        "QUERY_TIMEOUT",
        "TXN_SECURITY_METERING_ERROR",
    }
)
URI_BUDGET = 15_500  # URL-encoded SOQL per GET: Salesforce refuses URIs over 16,384 (host and path fit the rest)
BULK_POLL_MAX_S = 10.0  # between job status polls, at most (they start at 0.5 s and double)
BULK_WAIT_MAX_S = 600.0  # a job not done by then is retried as a whole (upserts make that harmless)


class CallFailed(Exception):
    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind, self.message = kind, message  # kind: limit, transient, auth, permanent


@dataclass(frozen=True)
class Result:
    key: str
    ok: bool
    sf_id: str | None = None
    created: bool | None = None
    code: str | None = None
    message: str | None = None

    @property
    def transient(self) -> bool:
        return not self.ok and self.code in TRANSIENT_CODES

    @property
    def error(self) -> str:
        return f"{self.code}: {self.message}" if self.code else (self.message or "")


def classify(exc: Exception) -> CallFailed:
    if isinstance(exc, CallFailed):
        return exc
    if isinstance(exc, CrmAuthError):
        return CallFailed("auth", str(exc))
    if isinstance(exc, requests.Timeout | requests.ConnectionError):
        return CallFailed("transient", f"{type(exc).__name__}: {str(exc)[:300]}")
    if isinstance(exc, SalesforceError):
        content = exc.content
        first: dict[str, Any] = (
            content[0] if isinstance(content, list) and content and isinstance(content[0], dict) else {}
        )
        code, message = first.get("errorCode", f"HTTP_{exc.status}"), first.get("message", str(content)[:300])
        if code == "REQUEST_LIMIT_EXCEEDED":
            return CallFailed("limit", f"{code}: {message}")
        if exc.status >= 500 or exc.status == 401 or code in TRANSIENT_CODES:
            return CallFailed("transient", f"{code} ({exc.status}): {message}")
        return CallFailed("permanent", f"{code} ({exc.status}): {message}")
    raise exc


def soql_quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class Sender:
    def __init__(self, conn: SalesforceConnection, batch_size: int = 200, bulk_threshold: int = 2000) -> None:
        self.conn = conn
        self.batch_size = min(batch_size, 200)
        self.bulk_threshold = bulk_threshold
        self.sleep: Callable[[float], None] = time.sleep

    def _call(self, action: Callable[[Salesforce], T]) -> T:
        try:
            return self.conn.call(action)
        except Exception as exc:  # classified: CallFailed, or re-raised when it is a bug of ours
            raise classify(exc) from exc

    # --- reads
    def restful(self, path: str, **kwargs: Any) -> Any:
        return self._call(lambda sf: sf.restful(path, **kwargs))

    def query(self, soql: str) -> list[dict[str, Any]]:
        result = self._call(lambda sf: sf.query_all(soql))
        return [dict(r) for r in result.get("records", [])]

    def query_in(self, prefix: str, values: Iterable[str]) -> list[dict[str, Any]]:
        """``prefix`` + ``IN (...)``, split so that every request URI stays under Salesforce's limit."""
        rows: list[dict[str, Any]] = []
        chunk: list[str] = []
        size = len(quote_plus(prefix + " IN ()"))
        for value in dict.fromkeys(values):
            quoted = soql_quote(value)
            cost = len(quote_plus(quoted + ", "))  # as it travels, URL-encoded in ?q=
            if chunk and size + cost > URI_BUDGET:
                rows.extend(self.query(f"{prefix} IN ({', '.join(chunk)})"))
                chunk, size = [], len(quote_plus(prefix + " IN ()"))
            chunk.append(quoted)
            size += cost
        if chunk:
            rows.extend(self.query(f"{prefix} IN ({', '.join(chunk)})"))
        return rows

    def match_contacts(self, contact_object: str, email_field: str, emails: Iterable[str]) -> dict[str, str]:
        """lower-cased email -> Contact Id (the oldest, when several Contacts share an email)."""
        found: dict[str, str] = {}
        for row in sorted(
            self.query_in(
                f"SELECT Id, {email_field} FROM {contact_object} WHERE {email_field}", [e for e in emails if e]
            ),
            key=lambda r: r["Id"],
        ):
            found.setdefault(str(row[email_field]).lower(), row["Id"])
        return found

    def owners(self, ids_by_object: dict[str, list[str]]) -> dict[str, str]:
        out = {}
        for sobject, ids in ids_by_object.items():
            for row in self.query_in(f"SELECT Id, OwnerId FROM {sobject} WHERE Id", ids):
                out[row["Id"]] = row["OwnerId"]
        return out

    # --- writes
    def upsert_one(self, record: SfRecord) -> str:
        """One record by External ID (the Campaign): its Salesforce id."""
        path = f"sobjects/{record.sobject}/{record.ext_field}/{record.ext_value}"
        body = {k: v for k, v in record.body().items() if k != record.ext_field}
        answer: Any = self._call(lambda sf: sf.restful(path, method="PATCH", json=body))
        return str(answer["id"])

    def write(self, records: list[SfRecord]) -> tuple[list[Result], CallFailed | None]:
        """Write ``records`` (links already resolved into ``values``): the results obtained, and the failure that
        stopped the rest, if any (the caller keeps what succeeded and retries the others later).

        Records are grouped by sObject and External ID field; a group above the bulk threshold goes through
        Bulk API 2.0, the rest in Collections calls of ``batch_size``.
        """
        groups: dict[tuple[str, str | None, str], list[SfRecord]] = defaultdict(list)
        for record in records:
            mode = "update" if record.ext_field is None else record.mode
            groups[(record.sobject, record.ext_field, mode)].append(record)
        results: list[Result] = []
        try:
            for (sobject, ext_field, mode), group in groups.items():
                if ext_field is not None and len(group) > self.bulk_threshold:
                    try:
                        results.extend(self.bulk_job(mode, sobject, ext_field, group))
                    except CallFailed as exc:
                        if exc.kind != "permanent":
                            raise
                        results.extend(Result(r.key, False, code="REFUSED", message=exc.message) for r in group)
                    continue
                for start in range(0, len(group), self.batch_size):
                    chunk = group[start : start + self.batch_size]
                    results.extend(self._collection_bisect(sobject, ext_field if mode == "upsert" else None, chunk,
                                                           mode))  # fmt: skip
        except CallFailed as exc:
            return results, exc
        return results, None

    def _collection_bisect(
        self, sobject: str, ext_field: str | None, records: list[SfRecord], mode: str = "upsert"
    ) -> list[Result]:
        """A request refused as a whole (400) is split in halves until the bad record stands alone."""
        try:
            return self.collection(sobject, ext_field, records, mode)
        except CallFailed as exc:
            if exc.kind != "permanent":
                raise
            if len(records) == 1:
                return [Result(records[0].key, False, code="REFUSED", message=exc.message)]
            mid = len(records) // 2
            return self._collection_bisect(sobject, ext_field, records[:mid], mode) + self._collection_bisect(
                sobject, ext_field, records[mid:], mode
            )

    def collection(
        self, sobject: str, ext_field: str | None, records: list[SfRecord], mode: str = "upsert"
    ) -> list[Result]:
        """One Collections call: upsert on ``ext_field``, update by Id (PATCH), or create (POST). allOrNone is
        false: each record stands or falls alone (with true, one bad record would roll back the 199 others)."""
        path = f"composite/sobjects/{sobject}/{ext_field}" if ext_field else "composite/sobjects"
        body = {"allOrNone": False, "records": [{"attributes": {"type": sobject}, **r.body()} for r in records]}
        method = "POST" if mode == "create" else "PATCH"
        answer = self._call(lambda sf: sf.restful(path, method=method, json=body))
        if not isinstance(answer, list) or len(answer) != len(records):
            raise CallFailed("transient", f"unexpected Collections answer: {str(answer)[:200]}")
        out = []
        for record, item in zip(records, answer, strict=True):
            if item.get("success"):
                created = True if mode == "create" else item.get("created")
                out.append(Result(record.key, True, item.get("id"), created))
            else:
                err = (item.get("errors") or [{}])[0]
                out.append(
                    Result(
                        record.key,
                        False,
                        code=err.get("statusCode") or err.get("errorCode"),
                        message=err.get("message"),
                    )
                )
        return out

    def create(self, sobject: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        body = {"allOrNone": False, "records": [{"attributes": {"type": sobject}, **r} for r in rows]}
        return list(self._call(lambda sf: sf.restful("composite/sobjects", method="POST", json=body)) or [])

    def bulk_upsert(self, sobject: str, ext_field: str, records: list[SfRecord]) -> list[Result]:
        return self.bulk_job("upsert", sobject, ext_field, records)

    def bulk_job(self, mode: str, sobject: str, ext_field: str, records: list[SfRecord]) -> list[Result]:
        """One Bulk API 2.0 ingest job (``mode``: upsert on ``ext_field``, create = insert, update by Id):
        create, upload CSV, close, poll, then successful and failed results, matched back by ``ext_field``
        (or Id for updates)."""
        data = to_csv([r.body() for r in records])
        key_column = "Id" if mode == "update" else ext_field
        by_ext = {str(r.body().get(key_column)): r.key for r in records}
        operation = {"create": "insert", "update": "update"}.get(mode, "upsert")

        def run(sf: Salesforce) -> tuple[str, str, dict[str, Any]]:
            client = getattr(sf.bulk2, sobject)._client
            job = client.create_job(operation, external_id_field=ext_field if operation == "upsert" else None)
            job_id = job["id"]
            client.upload_job_data(job_id, data)
            client.close_job(job_id)
            info = self._wait(client, job_id)
            if info["state"] != "JobComplete":
                return job_id, "", info
            succeeded = client.get_ingest_results(job_id, "successfulResults")
            # Failed rows are fetched only when the job says there are some (one API call saved per job).
            failed = client.get_ingest_results(job_id, "failedResults") if info.get("numberRecordsFailed") else ""
            return succeeded, failed, info

        succeeded, failed, info = self._call(run)
        if info["state"] != "JobComplete":
            message = f"Bulk API job {info.get('id')} {info['state']}: {info.get('errorMessage', '')}"
            raise CallFailed("permanent" if info["state"] == "Failed" else "transient", message)
        results = []
        for row in csv.DictReader(io.StringIO(succeeded)):
            results.append(Result(by_ext.pop(row[key_column]), True, row["sf__Id"], row["sf__Created"] == "true"))
        for row in csv.DictReader(io.StringIO(failed)):
            code, _, message = row["sf__Error"].partition(":")
            results.append(Result(by_ext.pop(row[key_column]), False, code=code, message=message.rstrip(":")))
        # Neither succeeded nor failed (unprocessed): try again later.
        results.extend(
            Result(key, False, code="SERVER_UNAVAILABLE", message="not processed") for key in by_ext.values()
        )
        return results

    def _wait(self, client: Any, job_id: str) -> dict[str, Any]:
        delay, waited = 0.05, 0.0
        while True:
            info = dict(client.get_job(job_id, False))
            if info["state"] in ("JobComplete", "Failed", "Aborted") or waited > BULK_WAIT_MAX_S:
                return info
            self.sleep(delay)
            waited += delay
            delay = min(max(delay * 2, 0.5), BULK_POLL_MAX_S)


def to_csv(rows: list[dict[str, Any]]) -> str:
    """Bulk API 2.0 CSV: one header of every field, ``#N/A`` for null (an empty cell would mean "leave it")."""
    fields = list(dict.fromkeys(name for row in rows for name in row))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(fields)
    for row in rows:
        writer.writerow([_cell(row.get(name)) for name in fields])
    return out.getvalue()


def _cell(value: Any) -> str:
    if value is None:
        return "#N/A"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
