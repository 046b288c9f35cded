"""`touchpoints crm check`: can we log in, and does the org have every object and field the mapping writes?"""

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


def check_org(sender: Sender, mapping: Mapping) -> list[CheckRow]:
    """One row per object and field the mapping needs; a failed login raises CallFailed."""
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
    return rows
