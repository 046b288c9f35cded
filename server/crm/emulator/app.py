"""The emulator's HTTP surface: OAuth token and SOAP login, REST sObjects, Collections, SOQL, Bulk API 2.0.

Answers are shaped as Salesforce shapes them: errors as ``[{"message", "errorCode", "fields"}]``; upsert by
External ID 201 (created) / 200 (updated, API 46.0+) / 300 (several matches); delete by Id or External ID
204 (404 NOT_FOUND, or ENTITY_IS_DELETED once deleted); Collections results in request
order with ``statusCode`` per error; every data response carries ``Sforce-Limit-Info: api-usage=N/M``.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from server.crm.emulator.bulk import bulk
from server.crm.emulator.faults import MESSAGES, Faults
from server.crm.emulator.org import MultipleMatches, Org, RecordError

COLLECTION_MAX = 200
URI_MAX = 16_384  # Salesforce refuses longer request URIs (long SOQL must be split)


@dataclass
class Emulator:
    """The org, its users and sessions, API usage and the fault plan. One per emulated Salesforce."""

    org: Org = field(default_factory=Org)
    faults: Faults = field(default_factory=Faults)
    username: str = "sync@touchpoints.example"
    password: str = "secret"
    security_token: str = "token"
    client_id: str = "touchpoints-client"
    client_secret: str = "client-secret"
    api_max: int = 100_000
    api_used: int = 0
    sessions: set[str] = field(default_factory=set)
    logins: int = 0
    requests: list[tuple[str, str]] = field(default_factory=list)  # (method, path) of every data API call
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    base_url: str = "https://127.0.0.1"
    lock: threading.Lock = field(default_factory=threading.Lock)

    def new_session(self) -> str:
        token = "00D000000000001!" + secrets.token_urlsafe(24)
        with self.lock:
            self.sessions.add(token)
            self.logins += 1
        return token

    def api_calls(self, path_part: str = "") -> int:
        return sum(1 for _m, p in self.requests if path_part in p)


def error(status: int, code: str, message: str | None = None, headers: dict[str, str] | None = None) -> Response:
    body = [{"message": message or MESSAGES.get(code, code), "errorCode": code, "fields": []}]
    return JSONResponse(body, status_code=status, headers=headers)


def build_app(emu: Emulator) -> Starlette:
    async def token(request: Request) -> Response:
        form = parse_qs((await request.body()).decode())
        get = lambda k: (form.get(k) or [""])[0]  # noqa: E731
        grant = get("grant_type")
        ok = False
        if grant == "password":
            ok = (
                get("username") == emu.username
                and get("password") == emu.password + emu.security_token
                and get("client_id") == emu.client_id
            )
        elif grant == "client_credentials":
            ok = get("client_id") == emu.client_id and get("client_secret") == emu.client_secret
        elif grant == "urn:ietf:params:oauth:grant-type:jwt-bearer":
            ok = _valid_jwt(get("assertion"), emu)
        if not ok:
            return JSONResponse({"error": "invalid_grant", "error_description": "authentication failure"}, 400)
        return JSONResponse(
            {
                "access_token": emu.new_session(),
                "instance_url": emu.base_url,
                "token_type": "Bearer",
                "id": f"{emu.base_url}/id/00D000000000001AAA/005000000000001AAA",
                "issued_at": str(int(time.time() * 1000)),
                "signature": "emulated",
            }
        )

    async def soap_login(request: Request) -> Response:
        text = (await request.body()).decode()
        user = re.search(r"<(?:\w+:)?username>([^<]*)<", text)
        password = re.search(r"<(?:\w+:)?password>([^<]*)<", text)
        if (
            not user
            or not password
            or user.group(1) != emu.username
            or password.group(1) != emu.password + emu.security_token
        ):
            fault = (
                "<soapenv:Fault><faultcode>sf:INVALID_LOGIN</faultcode><faultstring>INVALID_LOGIN: Invalid "
                "username, password, security token; or user locked out.</faultstring></soapenv:Fault>"
            )
            return Response(_soap(fault), 500, media_type="text/xml")
        version = request.path_params["version"]
        result = (
            f"<loginResponse><result><serverUrl>{emu.base_url}/services/Soap/u/{version}/00D000000000001"
            f"</serverUrl><sessionId>{emu.new_session()}</sessionId><userId>005000000000001AAA</userId>"
            "</result></loginResponse>"
        )
        return Response(_soap(result), 200, media_type="text/xml")

    async def data(request: Request) -> Response:
        path = request.url.path
        if len(str(request.url)) > URI_MAX:
            return error(414, "URI_TOO_LONG", "The request URI is too long")
        delay = 0.0
        for fault in emu.faults.for_request(request.method, path):
            if fault.kind == "expire":
                emu.sessions.clear()
            elif fault.kind == "slow":
                delay = max(delay, fault.delay_s)
            elif fault.kind == "limit":
                return error(403, "REQUEST_LIMIT_EXCEEDED")
            elif fault.kind == "status":
                return error(fault.status, "SERVER_UNAVAILABLE" if fault.status >= 500 else "BAD_REQUEST")
        auth = request.headers.get("authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] not in emu.sessions:
            return error(401, "INVALID_SESSION_ID")
        with emu.lock:
            if emu.api_used >= emu.api_max:
                return error(403, "REQUEST_LIMIT_EXCEEDED")
            emu.api_used += 1
            emu.requests.append((request.method, path))
        limit = {"Sforce-Limit-Info": f"api-usage={emu.api_used}/{emu.api_max}"}
        try:
            response = await _dispatch(emu, request, path.split("/")[4:])
        except RecordError as exc:
            response = JSONResponse(exc.top_level(), exc.http_status)
        except MultipleMatches as exc:
            response = JSONResponse([f"/services/data/v62.0/sobjects/x/{i}" for i in exc.ids], 300)
        response.headers.update(limit)
        if delay:
            await asyncio.sleep(delay)
        return response

    async def summary(_request: Request) -> Response:
        return JSONResponse({name: len(rows) for name, rows in emu.org.records.items()} | {"api_used": emu.api_used})

    return Starlette(
        routes=[
            Route("/services/oauth2/token", token, methods=["POST"]),
            Route("/services/Soap/u/{version}", soap_login, methods=["POST"]),
            Route("/services/data/{rest:path}", data, methods=["GET", "POST", "PATCH", "PUT", "DELETE"]),
            Route("/__emulator/summary", summary),
        ]
    )


def _soap(body: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv='
        f'"http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>'
    )


def _valid_jwt(assertion: str, emu: Emulator) -> bool:
    import jwt

    try:  # the emulator does not hold the connected app's certificate: it checks the claims only
        claims = jwt.decode(assertion, options={"verify_signature": False}, algorithms=["RS256"])
        header = jwt.get_unverified_header(assertion)
    except jwt.PyJWTError:
        return False
    return (
        header.get("alg") == "RS256"
        and claims.get("iss") == emu.client_id
        and claims.get("sub") == emu.username
        and claims.get("exp", 0) > time.time()
    )


async def _dispatch(emu: Emulator, request: Request, parts: list[str]) -> Response:
    """``parts`` is the path after ``/services/data/vXX.X/``."""
    method, org = request.method, emu.org
    body: Any = None
    if method in ("POST", "PATCH") and not (parts[:2] == ["jobs", "ingest"] and len(parts) == 4):
        raw = await request.body()
        body = __import__("json").loads(raw) if raw else {}
    if parts == ["limits"] or parts == ["limits", ""]:
        return JSONResponse(
            {
                "DailyApiRequests": {"Max": emu.api_max, "Remaining": emu.api_max - emu.api_used},
                "DailyBulkV2QueryJobs": {"Max": 10000, "Remaining": 10000},
            }
        )
    if parts[:1] == ["query"]:
        total, records = org.query(request.query_params.get("q", ""))
        return JSONResponse({"totalSize": total, "done": True, "records": records})
    assign = _auto_assign(request)
    if parts[:2] == ["composite", "sobjects"]:
        return _collection(emu, method, parts[2:], body, assign, request.url.path)
    if parts[:2] == ["jobs", "ingest"]:
        return await bulk(emu, request, parts[2:], body)
    if parts[:1] == ["sobjects"] and len(parts) >= 2:
        sobject, rest = parts[1], [p for p in parts[2:] if p]
        if rest == ["describe"]:
            return JSONResponse(org.describe(sobject))
        if not rest and method == "POST":
            return JSONResponse({"id": org.create(sobject, body, assign), "success": True, "errors": []}, 201)
        if len(rest) == 1:
            if method == "PATCH":
                org.update(sobject, rest[0], body, assign)
                return Response(status_code=204)
            if method == "DELETE":
                org.delete(sobject, rest[0])
                return Response(status_code=204)
            record = org.get(sobject, rest[0])
            if record is None:
                raise RecordError("NOT_FOUND", "The requested resource does not exist", [], 404)
            return JSONResponse({"attributes": {"type": sobject}, **record})
        if len(rest) == 2:
            if method == "PATCH":
                code = _record_fault(emu, rest[1], 0, request.url.path)
                if code:
                    raise RecordError(code, MESSAGES.get(code, code), [], 400)
                record_id, created = org.upsert(sobject, rest[0], rest[1], body, assign)
                return JSONResponse(
                    {"id": record_id, "success": True, "errors": [], "created": created}, 201 if created else 200
                )
            ids = org.find(sobject, rest[0], rest[1])
            if not ids:
                raise RecordError("NOT_FOUND", "The requested resource does not exist", [], 404)
            if len(ids) > 1:
                raise MultipleMatches(ids)
            if method == "DELETE":  # DELETE /sobjects/X/<External ID field>/<value>: 204, as by Id
                org.delete(sobject, ids[0])
                return Response(status_code=204)
            return JSONResponse({"attributes": {"type": sobject}, **(org.get(sobject, ids[0]) or {})})
    raise RecordError("NOT_FOUND", "The requested resource does not exist", [], 404)


def _record_fault(emu: Emulator, ext_value: str | None, index: int, path: str = "") -> str | None:
    return emu.faults.for_record(ext_value, index, path)


def _auto_assign(request: Request) -> bool:
    """REST runs a Lead's active assignment rule on create and update unless ``Sforce-Auto-Assign: FALSE``
    (absent means TRUE; an assignment rule id also means run)."""
    return request.headers.get("sforce-auto-assign", "TRUE").strip().upper() not in ("FALSE", "0")


ROLLED_BACK = {
    "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "message": "Record rolled back because not all records were valid and the request was using AllOrNone header",
    "fields": [],
}


def _collection(emu: Emulator, method: str, rest: list[str], body: dict[str, Any], assign: bool, path: str) -> Response:
    records = body.get("records") or []
    if len(records) > COLLECTION_MAX:
        raise RecordError(
            "EXCEEDED_ID_LIMIT",
            f"record limit reached. cannot submit more than {COLLECTION_MAX} records into this call",
            [],
        )
    all_or_none = bool(body.get("allOrNone"))
    snapshot = emu.org.snapshot() if all_or_none else None
    results: list[dict[str, Any]] = []
    for index, record in enumerate(records):
        sobject = (record.get("attributes") or {}).get("type") or (rest[0] if rest else None)
        if sobject is None:
            raise RecordError("INVALID_TYPE", "Each record must have an attributes.type", [])
        ext_field = rest[1] if len(rest) == 2 else None
        ext_value = record.get(ext_field) if ext_field else record.get("Id")
        try:
            code = _record_fault(emu, ext_value, index, path)
            if code:
                raise RecordError(code, MESSAGES.get(code, code), [])
            if method == "PATCH" and ext_field:
                record_id, created = emu.org.upsert(sobject, ext_field, ext_value, record, assign)
                results.append({"id": record_id, "success": True, "errors": [], "created": created})
            elif method == "PATCH":
                emu.org.update(sobject, record.get("Id"), record, assign)
                results.append({"id": record.get("Id"), "success": True, "errors": []})
            else:
                results.append({"id": emu.org.create(sobject, record, assign), "success": True, "errors": []})
        except RecordError as exc:
            if exc.code == "INVALID_FIELD" and exc.message.startswith("No such column"):
                raise  # an unknown field fails the whole request, as Salesforce's JSON deserialiser does
            results.append({"id": None, "success": False, "errors": [exc.per_record()]})
        except MultipleMatches as exc:
            results.append(
                {
                    "id": None,
                    "success": False,
                    "errors": [
                        {
                            "statusCode": "DUPLICATE_EXTERNAL_ID",
                            "message": f"{len(exc.ids)} records match",
                            "fields": [ext_field],
                        }
                    ],
                }
            )
    if snapshot is not None and not all(r["success"] for r in results):
        emu.org.restore(snapshot)  # allOrNone: nothing of this request stays; the valid records say why
        results = [r if not r["success"] else {"id": None, "success": False, "errors": [ROLLED_BACK]} for r in results]
    return JSONResponse(results)
