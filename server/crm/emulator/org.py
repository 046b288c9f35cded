"""The emulated org: records per sObject, checked as a real org checks them (:mod:`.schema` says what a field
allows), External ID upserts, assignment rules, lead conversion, and the SOQL the sync uses.

What it refuses, with Salesforce's codes: unknown fields (INVALID_FIELD), fields that cannot be set on create
or on update, whatever their value (INVALID_FIELD_FOR_INSERT_UPDATE: ``CampaignMember.CampaignId`` on an
update), missing required fields (REQUIRED_FIELD_MISSING), text over the field's length (STRING_TOO_LONG),
addresses that are not valid email (INVALID_EMAIL_ADDRESS), values outside a restricted picklist
(INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST), duplicate unique External IDs and campaign members
(DUPLICATE_VALUE; several matches make an upsert answer 300), updates of a converted Lead
(CANNOT_UPDATE_CONVERTED_LEAD), a Task owned by a queue, and references that do not exist.

An org is set up as docs/salesforce.md tells an admin to (the fields exist, "Event" is a Lead Source, the
integration user is a Marketing User); a test breaks one setting to see what a real org does then:
``missing_fields``, ``field_overrides`` (``set_field``), ``undeletable``, ``marketing_user``,
``assignment_queue`` (an active Lead assignment rule handing every Lead it runs on to that queue).
"""

from __future__ import annotations

import copy
import itertools
import threading
from dataclasses import dataclass, field, replace
from typing import Any

from server.crm.emulator.rules import RecordError, checked, coerce, valid_id
from server.crm.emulator.schema import QUEUE_PREFIX, SCHEMA, USER_PREFIX, Field
from server.crm.emulator.soql import QueryError, parse

INTEGRATION_USER = "005000000000001AAA"
REP_USER = "005000000000002AAA"  # a sales rep who takes Leads from the queue
LEAD_QUEUE = "00G000000000001AAA"  # "Event Leads", a queue an assignment rule may hand Leads to
FLS_MESSAGE = (
    "Unable to create/update fields: {}. Please check the security settings of this field and verify that it is "
    "read/write for your profile or permission set."
)


class MultipleMatches(Exception):
    def __init__(self, ids: list[str]) -> None:
        super().__init__(f"{len(ids)} records match")
        self.ids = ids


@dataclass
class Org:
    """Records per sObject, guarded by one lock (the HTTP app and test code read and write concurrently)."""

    records: dict[str, dict[str, dict[str, Any]]] = field(default_factory=lambda: {name: {} for name in SCHEMA})
    missing_fields: set[tuple[str, str]] = field(default_factory=set)  # (object, field) the org lacks (crm check)
    field_overrides: dict[tuple[str, str], Field] = field(default_factory=dict)  # what an admin changed
    # Objects the integration user's profile has no Delete permission on: their describe says deletable=false.
    undeletable: set[str] = field(default_factory=set)
    marketing_user: bool = True  # without "Marketing User" on the user, Campaigns cannot be created or edited
    assignment_queue: str | None = None  # an active Lead assignment rule: Leads it runs on go to this queue
    deleted: set[str] = field(default_factory=set)  # ids of deleted records (the recycle bin)
    lock: threading.RLock = field(default_factory=threading.RLock)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    clock: str = "2026-01-01T00:00:00.000+0000"
    # (sObject, field) -> value -> ids, for External IDs and campaign membership ("_member": (campaign, who)):
    # a 10,000-record Bulk job must not scan the org per record.
    _index: dict[tuple[str, str], dict[Any, set[str]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for user, name in ((INTEGRATION_USER, "Integration"), (REP_USER, "Sam Rep")):
            self.records["User"][user] = {"Id": user, "Name": name, "Username": name.lower().replace(" ", ".")}
        self.records["Group"][LEAD_QUEUE] = {"Id": LEAD_QUEUE, "Name": "Event Leads", "Type": "Queue"}

    # --- schema
    def fields(self, sobject: str) -> dict[str, Field]:
        if sobject not in SCHEMA:
            raise RecordError("NOT_FOUND", f"The requested resource does not exist: sObject {sobject}", [], 404)
        out = {}
        for name, spec in SCHEMA[sobject].fields.items():
            if (sobject, name) in self.missing_fields:
                continue
            spec = self.field_overrides.get((sobject, name), spec)
            if sobject == "Campaign" and not self.marketing_user and name != "Id":
                spec = replace(spec, createable=False, updateable=False)
            out[name] = spec
        return out

    def fields_of(self, sobject: str) -> dict[str, str]:
        return {name: spec.type for name, spec in self.fields(sobject).items()}

    def set_field(self, sobject: str, name: str, **changes: Any) -> None:
        """Change a field as an admin would (``createable=False``: no edit access; ``picklist=(...)``)."""
        self.field_overrides[(sobject, name)] = replace(self.fields(sobject)[name], **changes)

    def describe(self, sobject: str) -> dict[str, Any]:
        fields = self.fields(sobject)
        writable = not (sobject == "Campaign" and not self.marketing_user)
        return {
            "name": sobject,
            "keyPrefix": SCHEMA[sobject].prefix,
            "createable": writable,
            "updateable": writable,
            "deletable": sobject not in self.undeletable and writable,
            "queryable": True,
            "fields": [
                {
                    "name": name,
                    "label": spec.label or name,
                    "type": spec.type,
                    "length": spec.length,
                    "precision": spec.precision,
                    "scale": spec.scale,
                    "createable": spec.createable,
                    "updateable": spec.updateable,
                    "nillable": not spec.required and spec.type != "boolean",
                    "defaultedOnCreate": spec.default is not None or spec.type == "boolean",
                    "externalId": spec.external_id,
                    "unique": spec.unique,
                    "custom": name.endswith("__c"),
                    "restrictedPicklist": spec.restricted,
                    "picklistValues": [
                        {"value": v, "label": v, "active": True, "defaultValue": v == spec.default}
                        for v in spec.picklist
                    ],
                }
                for name, spec in fields.items()
            ],
        }

    def _new_id(self, sobject: str) -> str:
        return f"{SCHEMA[sobject].prefix}{next(self._ids):012d}AAA"

    def _check(self, sobject: str, values: dict[str, Any], creating: bool) -> dict[str, Any]:
        """The values as stored, or the first error a real org reports for them."""
        known = self.fields(sobject)
        out: dict[str, Any] = {}
        for name, value in values.items():
            if name == "attributes":
                continue
            spec = known.get(name)
            if spec is None:
                raise RecordError("INVALID_FIELD", f"No such column '{name}' on sobject of type {sobject}", [name])
            if name == "Id" and creating:
                raise RecordError("INVALID_FIELD_FOR_INSERT_UPDATE", "Cannot specify Id in an insert call", ["Id"])
            if name != "Id" and not (spec.createable if creating else spec.updateable):
                raise RecordError("INVALID_FIELD_FOR_INSERT_UPDATE", FLS_MESSAGE.format(name), [name])
            out[name] = checked(spec, name, coerce(spec.type, value))
        if creating:
            for name, spec in known.items():
                if spec.default is not None and out.get(name) is None:
                    out[name] = spec.default
        return out

    def _required(self, sobject: str, merged: dict[str, Any]) -> None:
        missing = sorted(n for n, s in self.fields(sobject).items() if s.required and merged.get(n) in (None, ""))
        if missing:
            raise RecordError("REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]", missing)

    # --- writes
    def create(self, sobject: str, values: dict[str, Any], assign: bool = False) -> str:
        """``assign``: assignment rules run (REST without ``Sforce-Auto-Assign: FALSE``)."""
        with self.lock:
            data = self._check(sobject, values, creating=True)
            self._required(sobject, data)
            for ext in SCHEMA[sobject].externals():
                if (
                    data.get(ext) is not None
                    and self.fields(sobject)[ext].unique
                    and self.find(sobject, ext, data[ext])
                ):
                    other = self.find(sobject, ext, data[ext])[0]
                    raise RecordError(
                        "DUPLICATE_VALUE", f"duplicate value found: {ext} duplicates value on record with id: {other}",
                        [ext],
                    )  # fmt: skip
            if "OwnerId" in SCHEMA[sobject].fields:
                data.setdefault("OwnerId", INTEGRATION_USER)
            self._assign(sobject, data, assign)
            self._validate(sobject, data, None)
            record_id = self._new_id(sobject)
            record = {"Id": record_id, "CreatedDate": self.clock, "LastModifiedDate": self.clock, **data}
            self.records[sobject][record_id] = record
            self._reindex(sobject, record_id, {}, record)
            self._after_create(sobject, record)
            return record_id

    def update(self, sobject: str, record_id: str, values: dict[str, Any], assign: bool = False) -> None:
        with self.lock:
            record = self.records.get(sobject, {}).get(record_id)
            if record is None:
                if record_id and not valid_id(record_id):
                    raise RecordError("MALFORMED_ID", f"malformed id {record_id}", ["Id"])
                raise RecordError(
                    "ENTITY_IS_DELETED" if record_id in self.deleted else "INVALID_CROSS_REFERENCE_KEY",
                    f"entity is deleted or does not exist: {record_id}",
                    [],
                )
            if record.get("IsConverted"):
                raise RecordError("CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead", [])
            data = self._check(sobject, {k: v for k, v in values.items() if k != "Id"}, creating=False)
            merged = {**record, **data}
            self._required(sobject, merged)
            self._assign(sobject, merged, assign)
            self._validate(sobject, merged, record_id)
            before = dict(record)
            record.update(merged)
            self._reindex(sobject, record_id, before, record)
            record["LastModifiedDate"] = self.clock

    def upsert(
        self, sobject: str, ext_field: str, ext_value: str, values: dict[str, Any], assign: bool = False
    ) -> tuple[str, bool]:
        """(id, created). Several records with the value raise :class:`MultipleMatches` (HTTP 300). A match is
        an update: every field sent must be updateable, even one whose value would not change."""
        with self.lock:
            spec = self.fields(sobject).get(ext_field)
            if ext_field != "Id" and (spec is None or not spec.external_id):
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
                self.update(sobject, matches[0], body, assign)
                return matches[0], False
            body[ext_field] = ext_value
            return self.create(sobject, body, assign), True

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

    def convert_lead(self, lead_id: str) -> str:
        """A rep converts the Lead: a new Contact; the Lead becomes read-only (IsConverted, ConvertedContactId);
        its campaign memberships get the Contact too and its activities move to the Contact. The Contact id."""
        with self.lock:
            lead = self.records["Lead"][lead_id]
            contact = {k: lead.get(k) for k in ("FirstName", "LastName", "Email", "Title") if lead.get(k)}
            contact_id = self.create("Contact", contact)
            lead.update(IsConverted=True, ConvertedContactId=contact_id, Status="Closed - Converted")
            for member in self.records["CampaignMember"].values():
                if member.get("LeadId") == lead_id:
                    member["ContactId"] = contact_id
            for task in self.records["Task"].values():
                if task.get("WhoId") == lead_id:
                    task["WhoId"] = contact_id
            return contact_id

    def snapshot(self) -> Any:
        with self.lock:
            return copy.deepcopy((self.records, self._index, self.deleted))

    def restore(self, snapshot: Any) -> None:
        """allOrNone: a request with a failed record leaves the org as it was before the request."""
        with self.lock:
            self.records, self._index, self.deleted = snapshot

    def _assign(self, sobject: str, data: dict[str, Any], assign: bool) -> None:
        if sobject == "Lead" and assign and self.assignment_queue:
            data["OwnerId"] = self.assignment_queue

    def _exists(self, record_id: Any, *sobjects: str) -> bool:
        return any(record_id in self.records[s] for s in sobjects)

    def _converted(self, record_id: Any) -> bool:
        return bool(self.records["Lead"].get(record_id, {}).get("IsConverted"))

    def _validate(self, sobject: str, data: dict[str, Any], own_id: str | None) -> None:
        owner = data.get("OwnerId")
        if owner is not None and not self._exists(owner, "User", "Group"):
            raise RecordError("INVALID_CROSS_REFERENCE_KEY", f"invalid cross reference id: {owner}", ["OwnerId"])
        if sobject == "CampaignMember":
            campaign = data.get("CampaignId")
            if campaign not in self.records["Campaign"]:
                raise RecordError(
                    "FIELD_INTEGRITY_EXCEPTION", "Campaign ID: id value of incorrect type", ["CampaignId"]
                )
            who = data.get("LeadId") or data.get("ContactId")
            if not self._exists(who, "Lead", "Contact"):
                raise RecordError(
                    "REQUIRED_FIELD_MISSING", "Required fields are missing: [LeadId or ContactId]", ["LeadId"]
                )
            if own_id is None and self._converted(data.get("LeadId")):
                raise RecordError("FIELD_INTEGRITY_EXCEPTION", "Lead ID: cannot reference converted lead", ["LeadId"])
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
            if who is not None and (not self._exists(who, "Lead", "Contact") or self._converted(who)):
                raise RecordError(
                    "FIELD_INTEGRITY_EXCEPTION", "Name ID: id value of incorrect type: " + str(who), ["WhoId"]
                )
            if str(owner or "").startswith(QUEUE_PREFIX):
                raise RecordError(
                    "FIELD_INTEGRITY_EXCEPTION", f"Assigned To ID: owner cannot be a queue: {owner}", ["OwnerId"]
                )
        elif sobject == "Opportunity":
            if data.get("CampaignId") is not None and data["CampaignId"] not in self.records["Campaign"]:
                raise RecordError("FIELD_INTEGRITY_EXCEPTION", "Campaign ID: id value of incorrect type",
                                  ["CampaignId"])  # fmt: skip
            if str(owner or "").startswith(QUEUE_PREFIX):
                raise RecordError("FIELD_INTEGRITY_EXCEPTION", f"Owner ID: owner cannot be a queue: {owner}",
                                  ["OwnerId"])  # fmt: skip
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
        keys = {f: record.get(f) for f in SCHEMA[sobject].externals()}
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
            if sobject in SCHEMA and name in SCHEMA[sobject].externals():
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
        try:
            sobject, fields, conditions, limit = parse(soql, lambda s: set(self.fields_of(s)))
        except QueryError as exc:
            raise RecordError(exc.code, exc.message, []) from None
        with self.lock:
            rows = [r for r in self.records[sobject].values() if all(test(r) for test in conditions)]
        rows = rows[:limit] if limit is not None else rows
        if fields == ["COUNT()"]:
            return len(rows), []
        out = [
            {
                "attributes": {"type": sobject, "url": f"/services/data/v62.0/sobjects/{sobject}/{r['Id']}"},
                **{f: r.get(f) for f in fields},
            }
            for r in rows
        ]
        return len(out), out


__all__ = ["INTEGRATION_USER", "LEAD_QUEUE", "REP_USER", "USER_PREFIX", "MultipleMatches", "Org", "RecordError"]
