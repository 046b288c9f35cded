"""Records shaped for the org they go to, from its describe: what may be sent on create and on update, values
cut to the field's length, addresses Salesforce refuses sent as no address, each change noted.

A real org refuses a whole record for one bad value (STRING_TOO_LONG, INVALID_EMAIL_ADDRESS) and refuses an
update that carries a field settable on create only (INVALID_FIELD_FOR_INSERT_UPDATE on
``CampaignMember.CampaignId``, even unchanged). So before a record is written:

* its *mode*: ``update`` by Id when we know its Salesforce id and it carries create-only fields (a campaign
  member whose status changes: Status only), or when its External ID value changed (a record written before
  External IDs were namespaced is moved to the new value, not duplicated); ``create`` when it carries
  create-only fields and has no id yet; else ``upsert`` on its External ID;
* its body: fields the integration user cannot set in that mode are left out (noted); text longer than the
  field is cut (noted); an email Salesforce would refuse is sent empty (noted); a value outside a restricted
  picklist is left out (noted: the admin adds the value, docs/salesforce.md).

Notes go to the record's sync state (``error`` of a synced record, prefixed ``note:``), so an operator sees
what Salesforce got that differs from Touchpoints.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from server.crm.mapping import SfRecord
from server.crm.sender import Sender

NOTE = "note: "  # sync state ``error`` of a record synced with changes starts with this
EMAIL_MAX = 80  # Salesforce's Email fields hold 80 characters: a longer address cannot be cut, only dropped
_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_LABEL = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?")
OMIT = object()  # a value left out of the body (the org keeps what it has)
TEXT_TYPES = frozenset({"string", "textarea", "email", "picklist", "combobox", "phone", "url", "multipicklist"})


def salesforce_email(address: str) -> bool:
    """Whether Salesforce takes this address: ASCII only, one ``@``, a dotted domain whose last label is a TLD
    (``jane.doe@example`` and ``zoe@exämple.com`` are refused with INVALID_EMAIL_ADDRESS)."""
    if len(address) > EMAIL_MAX or not address.isascii() or address.count("@") != 1:
        return False
    local, domain = address.split("@")
    labels = domain.split(".")
    if not _LOCAL.fullmatch(local) or len(labels) < 2 or not all(_LABEL.fullmatch(label) for label in labels):
        return False
    tld = labels[-1]
    return (tld.isalpha() and len(tld) >= 2) or tld.lower().startswith("xn--")


@dataclass(frozen=True)
class FieldInfo:
    name: str
    type: str
    length: int
    createable: bool
    updateable: bool
    restricted: bool
    values: frozenset[str]
    external_id: bool

    @classmethod
    def of(cls, meta: dict[str, Any]) -> FieldInfo:
        return cls(
            meta["name"],
            str(meta.get("type", "string")),
            int(meta.get("length") or 0),
            bool(meta.get("createable", True)),
            bool(meta.get("updateable", True)),
            bool(meta.get("restrictedPicklist", False)),
            frozenset(v["value"] for v in meta.get("picklistValues") or [] if v.get("active", True)),
            bool(meta.get("externalId", False)),
        )


class Describes:
    """Each object's describe, fetched once per worker (one API call per object the sync writes)."""

    def __init__(self, sender: Sender) -> None:
        self.sender = sender
        self._fields: dict[str, dict[str, FieldInfo]] = {}

    def fields(self, sobject: str) -> dict[str, FieldInfo]:
        if sobject not in self._fields:
            answer: Any = self.sender.restful(f"sobjects/{sobject}/describe")
            self._fields[sobject] = {f["name"]: FieldInfo.of(f) for f in answer.get("fields", [])}
        return self._fields[sobject]


def shape(record: SfRecord, fields: dict[str, FieldInfo], sf_id: str | None, known_ext: str | None) -> None:
    """Set ``record.mode``, ``record.sent`` and ``record.notes`` (see the module's docstring).

    ``sf_id``: the record's Salesforce id if a sync learned it; ``known_ext``: the External ID value it was
    last written with.
    """
    body = {k: v for k, v in {**record.values, **record.resolved}.items() if k != "Id"}
    create_only = {k for k in body if k in fields and fields[k].createable and not fields[k].updateable}
    rekey = sf_id is not None and record.ext_field is not None and known_ext not in (None, record.ext_value)
    if record.ext_field is None or (sf_id is not None and (create_only or rekey)):
        record.mode = "update"
    elif create_only:
        record.mode = "create"
    else:
        record.mode = "upsert"
    if record.ext_field is None:
        sf_id = record.values.get("Id") or sf_id
    notes: list[str] = []
    sent: dict[str, Any] = {}
    for name, value in body.items():
        info = fields.get(name)
        if info is None:
            sent[name] = value  # unknown to the describe: let the org say so (INVALID_FIELD), never drop silently
            continue
        allowed = info.updateable if record.mode == "update" else info.createable
        if record.mode == "upsert":
            allowed = info.createable and info.updateable
        if not allowed:
            if not (record.mode == "update" and name in create_only):  # expected: a member's campaign and person
                notes.append(f"{name} is not editable by the integration user: not sent")
            continue
        shaped = _value(info, value, notes)
        if shaped is not OMIT:
            sent[name] = shaped
    if record.mode == "update":
        sent["Id"] = sf_id
    record.sent, record.notes = sent, notes


def _value(info: FieldInfo, value: Any, notes: list[str]) -> Any:
    if not isinstance(value, str) or info.type not in TEXT_TYPES:
        return value
    if info.type == "email":
        if not salesforce_email(value):
            notes.append(f"{info.name} is not an address Salesforce takes: sent empty")
            return None
        return value
    if info.type == "picklist" and info.restricted and value not in info.values:
        notes.append(f"{info.name} {value!r} is not one of the picklist's values: not sent (add it in Setup)")
        return OMIT
    if info.length and len(value) > info.length:
        notes.append(f"{info.name} cut from {len(value)} to {info.length} characters")
        return _cut(value, info.length)
    return value


def _cut(value: str, length: int) -> str:
    """At most ``length`` characters; a ``;``-list (interests) loses whole items when it can."""
    cut = value[:length]
    if ";" in value and value[length : length + 1] not in ("", ";") and ";" in cut:
        return cut.rsplit(";", 1)[0]
    return cut
