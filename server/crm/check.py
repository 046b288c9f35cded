"""`touchpoints crm check`: can we log in, does the org have every object and field the mapping writes, and may
the integration user delete Leads when erasure deletes them?

Object permissions come from the describe call's flags (``GET /sobjects/Lead/describe`` answers
``"deletable": false`` for a profile without Delete on Lead). The flag says what the profile allows; deleting a
Lead someone else now owns also needs the role hierarchy or "Modify All" (docs/salesforce.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from server.crm.mapping import Mapping
from server.crm.sender import CallFailed, Sender


@dataclass(frozen=True)
class CheckRow:
    sobject: str
    field: str  # "" for the object itself
    ok: bool
    detail: str = ""


DELETE_PERMISSION = "(delete permission)"  # the row's "field" when the row is about the Delete permission


def check_org(sender: Sender, mapping: Mapping, erasure: str = "delete") -> list[CheckRow]:
    """One row per object and field the mapping needs, and one for Delete on each object an erasure deletes
    records of (``_erasure_deletes``: the Lead when ``erasure``, TOUCHPOINTS_SALESFORCE_ERASURE, is ``delete``);
    a failed login raises CallFailed."""
    rows: list[CheckRow] = []
    limits: Any = sender.restful("limits")
    daily = (limits or {}).get("DailyApiRequests", {})
    rows.append(
        CheckRow(
            "(org)",
            "login",
            True,
            f"{sender.conn.config.auth_flow} login; API {daily.get('Remaining')}/{daily.get('Max')} left",
        )
    )
    for sobject, fields in sorted(mapping.required_fields().items()):
        try:
            describe: Any = sender.restful(f"sobjects/{sobject}/describe")
        except CallFailed as exc:
            if exc.kind != "permanent":
                raise
            rows.append(CheckRow(sobject, "", False, "object not found or not accessible"))
            rows.extend(CheckRow(sobject, f, False, "object missing") for f in sorted(fields))
            continue
        have = {f["name"]: f for f in describe.get("fields", [])}
        rows.append(CheckRow(sobject, "", True))
        for name in sorted(fields):
            meta = have.get(name)
            if meta is None:
                rows.append(CheckRow(sobject, name, False, "field missing (docs/salesforce.md says how to create it)"))
            elif name == mapping.person_ext_field and sobject == mapping.lead_object and not meta.get("externalId"):
                rows.append(CheckRow(sobject, name, False, "exists but is not an External ID"))
            else:
                rows.append(CheckRow(sobject, name, True))
        why = _erasure_deletes(mapping, erasure).get(sobject)
        if why is not None:
            rows.append(_delete_permission(sobject, describe, why))
    return rows


def _erasure_deletes(mapping: Mapping, erasure: str) -> dict[str, str]:
    """The objects an erasure deletes records of (server/crm/erasure.py), with what the grant is for: the Lead
    when erasure deletes (not when it anonymises); a matched Contact's CampaignMember and our Tasks on it under
    either policy (the Contact is the sales team's: we take back only what we created)."""
    deletes = {}
    if erasure == "delete":
        deletes[mapping.lead_object] = "TOUCHPOINTS_SALESFORCE_ERASURE=delete needs it, or set it to anonymise"
    if mapping.match_contact_by:
        contact = f"erasing an attendee matched to a {mapping.contact_object} deletes our records about them"
        deletes["CampaignMember"] = contact
        deletes[mapping.tasks["object"]] = contact
    return deletes


def _delete_permission(sobject: str, describe: dict[str, Any], why: str) -> CheckRow:
    """Without Delete every such erasure is refused and retried: the outbox never empties."""
    if describe.get("deletable"):
        return CheckRow(sobject, DELETE_PERMISSION, True, "erasure deletes them (TOUCHPOINTS_SALESFORCE_ERASURE)")
    refused = f"the integration user cannot delete {sobject} records: {why}; grant Delete on {sobject}"
    return CheckRow(sobject, DELETE_PERMISSION, False, refused)
