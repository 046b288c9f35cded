"""Fault injection for the emulator: what a real org and network do on a bad day, on demand.

Request faults fire on matching API requests (``after`` lets that many pass first, ``times`` bounds them):

* ``status``  — answer ``status`` (503 SERVER_UNAVAILABLE by default) without doing anything;
* ``expire``  — every session ends now: this request and later ones get 401 INVALID_SESSION_ID until a login;
* ``limit``   — 403 REQUEST_LIMIT_EXCEEDED;
* ``slow``    — do the work, then answer after ``delay_s`` (a client timing out has still changed the org).

Record faults (``record``) fail single records of a write with ``code`` (UNABLE_TO_LOCK_ROW,
DUPLICATES_DETECTED ...), picked by External ID value or every ``every``-th record, ``times`` hits in all
(``path``: only in requests whose path holds it; a Bulk job's records count as ``/jobs/ingest/<sObject>``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

MESSAGES = {
    "UNABLE_TO_LOCK_ROW": "unable to obtain exclusive access to this record or 1 records",
    "DUPLICATES_DETECTED": "Use one of these records?",
    "REQUEST_LIMIT_EXCEEDED": "TotalRequests Limit exceeded.",
    "SERVER_UNAVAILABLE": "Service Unavailable: the server is temporarily unable to handle the request.",
    "INVALID_SESSION_ID": "Session expired or invalid",
}


@dataclass
class Fault:
    kind: str  # status, expire, limit, slow, record
    times: int = 1
    after: int = 0
    path: str = ""  # substring of the request path; "" matches every data API request
    method: str | None = None
    status: int = 503
    delay_s: float = 0.0
    code: str = "UNABLE_TO_LOCK_ROW"
    ext_values: set[str] | None = None
    every: int = 0
    fired: int = 0
    _seen: int = 0


@dataclass
class Faults:
    plan: list[Fault] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, *faults: Fault) -> None:
        with self.lock:
            self.plan.extend(faults)

    def clear(self) -> None:
        with self.lock:
            self.plan.clear()

    def for_request(self, method: str, path: str) -> list[Fault]:
        """The request faults firing on this request (each counted)."""
        fired = []
        with self.lock:
            for fault in self.plan:
                if fault.kind == "record" or fault.fired >= fault.times:
                    continue
                if fault.path not in path or (fault.method and fault.method != method):
                    continue
                fault._seen += 1
                if fault._seen > fault.after:
                    fault.fired += 1
                    fired.append(fault)
        return fired

    def for_record(self, ext_value: str | None, index: int, path: str = "") -> str | None:
        """The error code a record fault gives this record (the ``index``-th of its request), if any."""
        with self.lock:
            for fault in self.plan:
                if fault.kind != "record" or fault.fired >= fault.times or fault.path not in path:
                    continue
                hit = (fault.ext_values is not None and ext_value in fault.ext_values) or (
                    fault.ext_values is None and fault.every > 0 and (index + 1) % fault.every == 0
                )
                if hit:
                    fault.fired += 1
                    return fault.code
        return None
