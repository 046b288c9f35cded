"""The emulated org: sObjects with a schema, External ID upserts, validation, and the SOQL the sync uses.

Behaviour follows the REST API's documented rules where the sync depends on them: required fields
(REQUIRED_FIELD_MISSING), unknown fields (INVALID_FIELD), unique External IDs (DUPLICATE_VALUE; several
matches make an upsert answer 300), CampaignMember status picklists per campaign (a new Campaign gets "Sent"
and "Responded", as in Salesforce), and references that must exist.
"""

from __future__ import annotations

import itertools
import re
import threading
from dataclasses import dataclass, field
from typing import Any

INTEGRATION_USER = "005000000000001AAA"

# name -> (key prefix, {field: type}, required, external ids, create-only fields)
_COMMON = {"Id": "id", "OwnerId": "reference", "CreatedDate": "datetime", "LastModifiedDate": "datetime"}
TP = "Touchpoints_"
PERSON_CUSTOM = {
    f"{TP}Id__c": "string",
    f"{TP}Engagement_Score__c": "double",
    f"{TP}Grade__c": "string",
    f"{TP}Stage__c": "string",
    f"{TP}Interests__c": "string",
    f"{TP}Last_Touchpoint__c": "string",
    f"{TP}Journey_Summary__c": "textarea",
    f"{TP}Follow_Up__c": "string",
}
SCHEMA: dict[str, tuple[str, dict[str, str], set[str], set[str], set[str]]] = {
    "Lead": (
        "00Q",
        {
            **_COMMON,
            "FirstName": "string",
            "LastName": "string",
            "Email": "email",
            "Company": "string",
            "Title": "string",
            "LeadSource": "string",
            "Status": "string",
            "CountryCode": "string",
            **PERSON_CUSTOM,
        },
        {"LastName", "Company"},
        {f"{TP}Id__c"},
        set(),
    ),
    "Contact": (
        "003",
        {
            **_COMMON,
            "FirstName": "string",
            "LastName": "string",
            "Email": "email",
            "AccountId": "reference",
            "Title": "string",
            **PERSON_CUSTOM,
        },
        {"LastName"},
        {f"{TP}Id__c"},
        set(),
    ),
    "Campaign": (
        "701",
        {
            **_COMMON,
            "Name": "string",
            "Type": "string",
            "StartDate": "date",
            "EndDate": "date",
            "IsActive": "boolean",
            f"{TP}Id__c": "string",
        },
        {"Name"},
        {f"{TP}Id__c"},
        set(),
    ),
    "CampaignMember": (
        "00v",
        {
            **_COMMON,
            "CampaignId": "reference",
            "LeadId": "reference",
            "ContactId": "reference",
            "Status": "string",
            "HasResponded": "boolean",
            f"{TP}Id__c": "string",
        },
        {"CampaignId"},
        {f"{TP}Id__c"},
        {"CampaignId", "LeadId", "ContactId"},
    ),
    "CampaignMemberStatus": (
        "01Y",
        {
            "Id": "id",
            "CampaignId": "reference",
            "Label": "string",
            "IsDefault": "boolean",
            "HasResponded": "boolean",
            "SortOrder": "int",
        },
        {"CampaignId", "Label"},
        set(),
        {"CampaignId"},
    ),
    "Task": (
        "00T",
        {
            **_COMMON,
            "Subject": "string",
            "WhoId": "reference",
            "WhatId": "reference",
            "ActivityDate": "date",
            "Status": "string",
            "Priority": "string",
            "Description": "textarea",
            f"{TP}Id__c": "string",
        },
        set(),
        {f"{TP}Id__c"},
        set(),
    ),
    "User": ("005", {"Id": "id", "Name": "string", "Username": "string"}, set(), set(), set()),
}
SYSTEM_FIELDS = {"Id", "CreatedDate", "LastModifiedDate"}


class RecordError(Exception):
    """A per-record failure, reported as ``{"statusCode", "message", "fields"}`` (``errorCode`` at top level)."""

    def __init__(self, code: str, message: str, fields: list[str] | None = None, http_status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.fields, self.http_status = code, message, fields or [], http_status

    def top_level(self) -> list[dict[str, Any]]:
        return [{"message": self.message, "errorCode": self.code, "fields": self.fields}]

    def per_record(self) -> dict[str, Any]:
        return {"statusCode": self.code, "message": self.message, "fields": self.fields}


class MultipleMatches(Exception):
    def __init__(self, ids: list[str]) -> None:
        super().__init__(f"{len(ids)} records match")
        self.ids = ids


@dataclass
class Org:
    """Records per sObject, guarded by one lock (the HTTP app and test code read and write concurrently)."""

    records: dict[str, dict[str, dict[str, Any]]] = field(default_factory=lambda: {name: {} for name in SCHEMA})
    missing_fields: set[tuple[str, str]] = field(default_factory=set)  # (object, field) the org lacks (crm check)
    # Objects the integration user's profile has no Delete permission on: their describe says deletable=false.
    undeletable: set[str] = field(default_factory=set)
    deleted: set[str] = field(default_factory=set)  # ids of deleted records (the recycle bin)
    lock: threading.RLock = field(default_factory=threading.RLock)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    clock: str = "2026-01-01T00:00:00.000+0000"
    # (sObject, field) -> value -> ids, for External IDs and campaign membership ("_member": (campaign, who)):
    # a 10,000-record Bulk job must not scan the org per record.
    _index: dict[tuple[str, str], dict[Any, set[str]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.records["User"][INTEGRATION_USER] = {"Id": INTEGRATION_USER, "Name": "Integration", "Username": "api"}

    # --- schema
    def fields_of(self, sobject: str) -> dict[str, str]:
        if sobject not in SCHEMA:
            raise RecordError("NOT_FOUND", f"The requested resource does not exist: sObject {sobject}", [], 404)
        return {f: t for f, t in SCHEMA[sobject][1].items() if (sobject, f) not in self.missing_fields}

    def describe(self, sobject: str) -> dict[str, Any]:
        fields = self.fields_of(sobject)
        ext = SCHEMA[sobject][3]
        return {
            "name": sobject,
            "keyPrefix": SCHEMA[sobject][0],
            "createable": True,
            "updateable": True,
            "deletable": sobject not in self.undeletable,
            "fields": [
                {
                    "name": f,
                    "type": t,
                    "externalId": f in ext,
                    "custom": f.endswith("__c"),
                    "nillable": f not in SCHEMA[sobject][2],
                }
                for f, t in fields.items()
            ],
        }

    def _new_id(self, sobject: str) -> str:
        return f"{SCHEMA[sobject][0]}{next(self._ids):012d}AAA"

    def _clean(self, sobject: str, values: dict[str, Any]) -> dict[str, Any]:
        known = self.fields_of(sobject)
        out: dict[str, Any] = {}
        for name, value in values.items():
            if name == "attributes":
                continue
            if name not in known:
                raise RecordError("INVALID_FIELD", f"No such column '{name}' on sobject of type {sobject}", [name])
            out[name] = _coerce(known[name], value)
        return out

    # --- writes
    def create(self, sobject: str, values: dict[str, Any]) -> str:
        with self.lock:
            data = self._clean(sobject, values)
            if "Id" in data:
                raise RecordError("INVALID_FIELD_FOR_INSERT_UPDATE", "Cannot specify Id in an insert call", ["Id"])
            missing = sorted(f for f in SCHEMA[sobject][2] if data.get(f) in (None, ""))
            if missing:
                raise RecordError(
                    "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]", missing
                )
            for ext in SCHEMA[sobject][3]:
                if data.get(ext) is not None and self.find(sobject, ext, data[ext]):
                    raise RecordError(
                        "DUPLICATE_VALUE",
                        f"duplicate value found: {ext} duplicates value on record "
                        f"with id: {self.find(sobject, ext, data[ext])[0]}",
                        [ext],
                    )
            self._validate(sobject, data, None)
            record_id = self._new_id(sobject)
            record = {"Id": record_id, "CreatedDate": self.clock, "LastModifiedDate": self.clock, **data}
            if "OwnerId" in SCHEMA[sobject][1]:
                record.setdefault("OwnerId", INTEGRATION_USER)
            self.records[sobject][record_id] = record
            self._reindex(sobject, record_id, {}, record)
            self._after_create(sobject, record)
            return record_id

    def update(self, sobject: str, record_id: str, values: dict[str, Any]) -> None:
        with self.lock:
            record = self.records.get(sobject, {}).get(record_id)
            if record is None:
                raise RecordError(
                    "ENTITY_IS_DELETED" if record_id else "MISSING_ARGUMENT",
                    f"entity is deleted or does not exist: {record_id}",
                    [],
                    404,
                )
            data = self._clean(sobject, {k: v for k, v in values.items() if k != "Id"})
            for name in SCHEMA[sobject][4]:
                if name in data and data[name] != record.get(name):
                    raise RecordError(
                        "INVALID_FIELD_FOR_INSERT_UPDATE",
                        f"Unable to create/update fields: {name}. Please check the security settings of this field.",
                        [name],
                    )
            merged = {**record, **data}
            missing = sorted(f for f in SCHEMA[sobject][2] if merged.get(f) in (None, ""))
            if missing:
                raise RecordError(
                    "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]", missing
                )
            self._validate(sobject, merged, record_id)
            before = dict(record)
            record.update(data)
            self._reindex(sobject, record_id, before, record)
            record["LastModifiedDate"] = self.clock

    def upsert(self, sobject: str, ext_field: str, ext_value: str, values: dict[str, Any]) -> tuple[str, bool]:
        """(id, created). Several records with the value raise :class:`MultipleMatches` (HTTP 300)."""
        with self.lock:
            if ext_field != "Id" and ext_field not in SCHEMA.get(sobject, ("", {}, set(), set()))[3]:
                raise RecordError(
                    "NOT_FOUND",
                    f"Provided external ID field does not exist or is not accessible: {ext_field}",
                    [ext_field],
                    404,
                )
            matches = self.find(sobject, ext_field, ext_value)
            if len(matches) > 1:
                raise MultipleMatches(matches)
            body = {k: v for k, v in values.items() if k != "attributes"}
            if body.get(ext_field) not in (None, ext_value):
                raise RecordError(
                    "INVALID_FIELD", f"The value of {ext_field} in the body does not match the URL", [ext_field]
                )
            if matches:
                body.pop(ext_field, None)
                self.update(sobject, matches[0], body)
                return matches[0], False
            body[ext_field] = ext_value
            return self.create(sobject, body), True

    def delete(self, sobject: str, record_id: str) -> None:
        """Delete a record as Salesforce does: a Lead or Contact takes its campaign memberships and its activities
        (Tasks whose ``WhoId`` it is) with it. A deleted id answers ENTITY_IS_DELETED (it sits in the recycle
        bin), an unknown one NOT_FOUND, both 404."""
        with self.lock:
            record = self.records.get(sobject, {}).pop(record_id, None)
            if record is None:
                if record_id in self.deleted:
                    raise RecordError("ENTITY_IS_DELETED", "entity is deleted", [], 404)
                raise RecordError("NOT_FOUND", "The requested resource does not exist", [], 404)
            self.deleted.add(record_id)
            for name, value in self._keys(sobject, record).items():
                if value is not None:
                    self._index.get((sobject, name), {}).get(value, set()).discard(record_id)
            if sobject in ("Lead", "Contact"):
                who = "LeadId" if sobject == "Lead" else "ContactId"
                for child, link in (("CampaignMember", who), ("Task", "WhoId")):
                    for child_id in [i for i, r in self.records[child].items() if r.get(link) == record_id]:
                        self.delete(child, child_id)

    def _validate(self, sobject: str, data: dict[str, Any], own_id: str | None) -> None:
        if sobject == "CampaignMember":
            campaign = data.get("CampaignId")
            if campaign not in self.records["Campaign"]:
                raise RecordError(
                    "FIELD_INTEGRITY_EXCEPTION", "Campaign ID: id value of incorrect type", ["CampaignId"]
                )
            who = data.get("LeadId") or data.get("ContactId")
            if who not in self.records["Lead"] and who not in self.records["Contact"]:
                raise RecordError(
                    "REQUIRED_FIELD_MISSING", "Required fields are missing: [LeadId or ContactId]", ["LeadId"]
                )
            statuses = {
                s["Label"]: s for s in self.records["CampaignMemberStatus"].values() if s["CampaignId"] == campaign
            }
            if data.get("Status") is None:
                data["Status"] = next((label for label, s in statuses.items() if s.get("IsDefault")), None)
            if data["Status"] not in statuses:
                raise RecordError(
                    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                    f"Status: bad value for restricted picklist field: {data['Status']}",
                    ["Status"],
                )
            data["HasResponded"] = bool(statuses[data["Status"]].get("HasResponded"))
            if self._index.get(("CampaignMember", "_member"), {}).get((campaign, who), set()) - {own_id}:
                raise RecordError("DUPLICATE_VALUE", "Already a campaign member.", [])
        elif sobject == "Task":
            who = data.get("WhoId")
            if who is not None and who not in self.records["Lead"] and who not in self.records["Contact"]:
                raise RecordError(
                    "FIELD_INTEGRITY_EXCEPTION", "Name ID: id value of incorrect type: " + str(who), ["WhoId"]
                )
        elif sobject == "CampaignMemberStatus":
            campaign = data.get("CampaignId")
            for other_id, other in self.records["CampaignMemberStatus"].items():
                if other_id != own_id and other["CampaignId"] == campaign and other["Label"] == data.get("Label"):
                    raise RecordError("DUPLICATE_VALUE", f"duplicate value found: Label {data['Label']}", ["Label"])
            if data.get("IsDefault"):
                for other_id, other in self.records["CampaignMemberStatus"].items():
                    if other_id != own_id and other["CampaignId"] == campaign:
                        other["IsDefault"] = False

    def _after_create(self, sobject: str, record: dict[str, Any]) -> None:
        if sobject == "Campaign":  # Salesforce gives every new campaign these two statuses
            for order, (label, default, responded) in enumerate((("Sent", True, False), ("Responded", False, True))):
                sid = self._new_id("CampaignMemberStatus")
                self.records["CampaignMemberStatus"][sid] = {
                    "Id": sid,
                    "CampaignId": record["Id"],
                    "Label": label,
                    "IsDefault": default,
                    "HasResponded": responded,
                    "SortOrder": order + 1,
                }

    # --- reads
    def _keys(self, sobject: str, record: dict[str, Any]) -> dict[str, Any]:
        keys = {f: record.get(f) for f in SCHEMA[sobject][3]}
        if sobject == "CampaignMember":
            keys["_member"] = (record.get("CampaignId"), record.get("LeadId") or record.get("ContactId"))
        return keys

    def _reindex(self, sobject: str, record_id: str, before: dict[str, Any], after: dict[str, Any]) -> None:
        old, new = self._keys(sobject, before) if before else {}, self._keys(sobject, after)
        for name, value in new.items():
            if old.get(name) == value and before:
                continue
            index = self._index.setdefault((sobject, name), {})
            if before and old.get(name) is not None:
                index.get(old[name], set()).discard(record_id)
            if value is not None:
                index.setdefault(value, set()).add(record_id)

    def find(self, sobject: str, name: str, value: Any) -> list[str]:
        with self.lock:
            if name in SCHEMA.get(sobject, ("", {}, set(), set()))[3]:
                return sorted(self._index.get((sobject, name), {}).get(value, set()))
            return [
                rid for rid, r in self.records.get(sobject, {}).items() if value is not None and r.get(name) == value
            ]

    def get(self, sobject: str, record_id: str) -> dict[str, Any] | None:
        with self.lock:
            record = self.records.get(sobject, {}).get(record_id)
            return dict(record) if record is not None else None

    def all(self, sobject: str) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(r) for r in self.records[sobject].values()]

    def query(self, soql: str) -> tuple[int, list[dict[str, Any]]]:
        """``SELECT f, ... | COUNT() FROM X [WHERE a = 'v' AND b IN ('x', 'y') AND c != null] [LIMIT n]``."""
        match = SOQL.fullmatch(soql.strip())
        if not match:
            raise RecordError("MALFORMED_QUERY", f"unexpected token in: {soql[:200]}", [])
        fields = [f.strip() for f in match.group("fields").split(",")]
        sobject = match.group("sobject")
        known = self.fields_of(sobject)
        count_only = fields == ["COUNT()"]
        for name in [] if count_only else fields:
            if name not in known:
                raise RecordError("INVALID_FIELD", f"No such column '{name}' on entity '{sobject}'", [])
        conditions = (
            [_parse_condition(c, known, sobject) for c in re.split(r"\s+AND\s+", match.group("where"), flags=re.I)]
            if match.group("where")
            else []
        )
        with self.lock:
            rows = [r for r in self.records[sobject].values() if all(test(r) for test in conditions)]
        if match.group("limit"):
            rows = rows[: int(match.group("limit"))]
        if count_only:
            return len(rows), []
        out = [
            {
                "attributes": {"type": sobject, "url": f"/services/data/v62.0/sobjects/{sobject}/{r['Id']}"},
                **{f: r.get(f) for f in fields},
            }
            for r in rows
        ]
        return len(out), out


SOQL = re.compile(
    r"SELECT\s+(?P<fields>.+?)\s+FROM\s+(?P<sobject>\w+)(?:\s+WHERE\s+(?P<where>.+?))?"
    r"(?:\s+LIMIT\s+(?P<limit>\d+))?",
    re.I | re.S,
)
CONDITION = re.compile(r"(?P<field>\w+)\s*(?P<op>=|!=|\bIN\b)\s*(?P<value>.+)", re.I | re.S)
STRING = re.compile(r"'((?:[^'\\]|\\.)*)'")


def _parse_condition(text: str, known: dict[str, str], sobject: str) -> Any:
    match = CONDITION.fullmatch(text.strip())
    if not match or match.group("field") not in known:
        raise RecordError("MALFORMED_QUERY", f"cannot parse condition {text[:100]!r} on {sobject}", [])
    name, op, raw = match.group("field"), match.group("op").upper(), match.group("value").strip()
    if op == "IN":
        values = {_unescape(v) for v in STRING.findall(raw)}
        return lambda r: r.get(name) in values
    quoted = STRING.fullmatch(raw)
    value: Any = raw
    if raw.lower() == "null":
        value = None
    elif raw.lower() in ("true", "false"):
        value = raw.lower() == "true"
    elif quoted is not None:
        value = _unescape(quoted.group(1))
    if op == "=":
        return lambda r: r.get(name) == value
    return lambda r: r.get(name) != value


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", r"\1", value)


def _coerce(kind: str, value: Any) -> Any:
    """Bulk CSV sends strings: turn them into the field's type, as the API stores them."""
    if value is None or not isinstance(value, str):
        return value
    if kind == "double":
        return float(value) if value not in ("", "#N/A") else None
    if kind == "int":
        return int(value) if value not in ("", "#N/A") else None
    if kind == "boolean":
        return value.lower() == "true"
    return None if value == "#N/A" else value
