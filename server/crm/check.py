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
    """One row per object and field the mapping needs, and one for Delete on the Lead object when ``erasure``
    (TOUCHPOINTS_SALESFORCE_ERASURE) is ``delete``; a failed login raises CallFailed."""
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
        if erasure == "delete" and sobject == mapping.lead_object:
            rows.append(_delete_permission(sobject, describe))
    return rows


def _delete_permission(sobject: str, describe: dict[str, Any]) -> CheckRow:
    """Erasure deletes the Lead (server/crm/erasure.py): without Delete every erasure is refused and retried."""
    if describe.get("deletable"):
        return CheckRow(sobject, DELETE_PERMISSION, True, "erasure deletes them (TOUCHPOINTS_SALESFORCE_ERASURE)")
    return CheckRow(
        sobject,
        DELETE_PERMISSION,
        False,
        f"the integration user cannot delete {sobject} records, which TOUCHPOINTS_SALESFORCE_ERASURE=delete needs: "
        "grant Delete on it, or set the erasure to anonymise",
    )
