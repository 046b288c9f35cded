"""`touchpoints crm check`: does the org give the integration user everything the sync needs, and if not, what
to change in Setup.

Read from the describe calls (``GET /sobjects/<X>/describe``), which answer for the logged-in user: the object's
``createable``/``updateable``/``deletable`` flags (its profile's object permissions; a Campaign is createable
only for a Marketing User), and per field ``createable``/``updateable`` (field-level security), ``externalId``,
``length`` and the picklist's values. Checked, per object the mapping writes:

* the object exists and may be created / edited as the sync does;
* every field exists and is editable where the sync sets it (on create, on update, or both: a CampaignMember's
  CampaignId/LeadId/ContactId are set on create only, as Salesforce allows);
* the External ID fields are flagged External ID and hold the keys (``<deployment>:<event>:<key>``, up to
  160 characters);
* text fields shorter than docs/salesforce.md asks are reported (values are cut to them: not an error);
* constant picklist values the mapping sends exist (LeadSource "Event", Task Status/Priority, StageName);
* Delete where erasure needs it (the Lead with erasure=delete; a matched Contact's member and our Tasks);
* once a sync made the event's Campaign, its member statuses (Registered, Attended, No-show).

Deleting a Lead someone else now owns also needs the role hierarchy or "Modify All", which no flag shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from server.crm.mapping import EXT_MAX, Mapping
from server.crm.sender import CallFailed, Sender, soql_quote


@dataclass(frozen=True)
class CheckRow:
    sobject: str
    field: str  # "" for the object itself
    ok: bool
    detail: str = ""


DELETE_PERMISSION = "(delete permission)"  # the row's "field" when the row is about the Delete permission
FLS = "Setup > Object Manager > {o} > Fields & Relationships > {f} > Set Field-Level Security: Edit for the " \
      "integration user's profile or permission set"  # fmt: skip
CREATE_ONLY = {("CampaignMember", "CampaignId"), ("CampaignMember", "LeadId"), ("CampaignMember", "ContactId"),
               ("CampaignMemberStatus", "CampaignId")}  # fmt: skip
# Lengths docs/salesforce.md asks for: shorter fields get values cut (noted per record), so say so up front.
ASKED_LENGTH = {"Touchpoints_Interests__c": 255, "Touchpoints_Last_Touchpoint__c": 255, "Touchpoints_Follow_Up__c": 255,
                "Touchpoints_Stage__c": 32}  # fmt: skip


def check_org(sender: Sender, mapping: Mapping, erasure: str = "delete", event_id: str | None = None) -> list[CheckRow]:
    """One row per object, field, flag and permission the sync needs (and, with ``event_id``, the event's
    campaign member statuses); a failed login raises CallFailed."""
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
    externals = _external_ids(mapping)
    values = _constant_values(mapping)
    for sobject, fields in sorted(mapping.required_fields().items()):
        try:
            describe: Any = sender.restful(f"sobjects/{sobject}/describe")
        except CallFailed as exc:
            if exc.kind != "permanent":
                raise
            rows.append(CheckRow(sobject, "", False, "object not found or not accessible"))
            rows.extend(CheckRow(sobject, f, False, "object missing") for f in sorted(fields))
            continue
        rows.append(_object_row(sobject, describe, mapping))
        access = rows[-1].ok  # without the object's rights its fields say not editable: one row says why
        have = {f["name"]: f for f in describe.get("fields", [])}
        for name in sorted(fields):
            meta = have.get(name)
            if meta is None:
                rows.append(CheckRow(sobject, name, False, "field missing (docs/salesforce.md: fields to create)"))
                continue
            external = name in externals.get(sobject, ())
            rows.append(_field_row(sobject, name, meta, sobject == mapping.contact_object, external, access))
            wanted = values.get((sobject, name))
            if wanted:
                rows.append(_picklist_row(sobject, name, meta, wanted))
        why = _erasure_deletes(mapping, erasure).get(sobject)
        if why is not None:
            rows.append(_delete_permission(sobject, describe, why))
    if event_id is not None and mapping.deployment and all(r.ok for r in rows if r.sobject == "Campaign"):
        rows.extend(_campaign_statuses(sender, mapping, event_id))
    return rows


def _campaign_statuses(sender: Sender, mapping: Mapping, event_id: str) -> list[CheckRow]:
    """The event's Campaign, once a sync made it, has every member status the mapping uses."""
    camp = mapping.campaign
    found = sender.query(
        f"SELECT Id FROM {camp['object']} WHERE {camp['external_id_field']} = {soql_quote(mapping.ext(event_id))}"
    )
    if not found:
        return [CheckRow("CampaignMemberStatus", "(event campaign)", True, "the first sync creates the Campaign")]
    campaign_id = found[0]["Id"]
    have = {r["Label"] for r in sender.query(
        f"SELECT Id, Label FROM CampaignMemberStatus WHERE CampaignId = {soql_quote(campaign_id)}")}  # fmt: skip
    rows = []
    for spec in mapping.statuses.values():
        ok = spec.label in have
        how = "" if ok else (f"missing on Campaign {campaign_id}: the sync adds it at its next drain (if refused, "
                             "the members say why); by hand: the Campaign > Advanced Setup > Add Status")  # fmt: skip
        rows.append(CheckRow("CampaignMemberStatus", spec.label, ok, how))
    return rows


def _object_row(sobject: str, describe: dict[str, Any], mapping: Mapping) -> CheckRow:
    needs_create = sobject != mapping.contact_object  # a matched Contact is only ever updated
    if needs_create and not describe.get("createable", True):
        if sobject == mapping.campaign["object"]:
            return CheckRow(sobject, "", False, "the integration user cannot create Campaigns: tick Marketing User "
                            "on the user (Setup > Users > Edit) and give Create/Edit on Campaign")  # fmt: skip
        return CheckRow(sobject, "", False, f"grant Create on {sobject} to the integration user's profile")
    if sobject != "CampaignMemberStatus" and not describe.get("updateable", True):
        return CheckRow(sobject, "", False, f"grant Edit on {sobject} to the integration user's profile")
    return CheckRow(sobject, "", True)


def _field_row(
    sobject: str, name: str, meta: dict[str, Any], update_only: bool, external: bool, access: bool = True
) -> CheckRow:
    create_only = (sobject, name) in CREATE_ONLY or sobject == "CampaignMemberStatus"  # statuses: created only
    if name in ("Id",):
        return CheckRow(sobject, name, True)
    missing = []
    if not update_only and not meta.get("createable", True):
        missing.append("create")
    if not create_only and not meta.get("updateable", True) and not (external and update_only):
        missing.append("edit")
    if (update_only and name == "Email") or not access:  # Email is only read (Contacts are matched on it)
        missing = []
    if missing:
        return CheckRow(sobject, name, False, f"no {'/'.join(missing)} access: " + FLS.format(o=sobject, f=name))
    if external:
        if not meta.get("externalId"):
            return CheckRow(sobject, name, False, f"not an External ID: edit {sobject}.{name} in Setup > Object "
                            "Manager and tick External ID and Unique")  # fmt: skip
        if meta.get("length") and int(meta["length"]) < EXT_MAX:
            return CheckRow(sobject, name, False, f"Text({meta['length']}) cannot hold every key (up to {EXT_MAX} "
                            "characters): change it to Text(255)")  # fmt: skip
    asked = ASKED_LENGTH.get(name)
    if asked and meta.get("length") and int(meta["length"]) < asked:
        return CheckRow(sobject, name, True, f"Text({meta['length']}): longer values are cut (Text({asked}) asked)")
    return CheckRow(sobject, name, True)


def _picklist_row(sobject: str, name: str, meta: dict[str, Any], wanted: set[str]) -> CheckRow:
    have = {v.get("value") for v in meta.get("picklistValues") or [] if v.get("active", True)}
    lacking = sorted(wanted - have)
    if lacking and meta.get("type") == "picklist":
        how = f"Setup > Object Manager > {sobject} > Fields & Relationships > {name} > Values: add " + ", ".join(
            repr(v) for v in lacking
        )
        return CheckRow(sobject, f"{name} values", False, how)
    return CheckRow(sobject, f"{name} values", True, ", ".join(sorted(wanted)))


def _external_ids(mapping: Mapping) -> dict[str, set[str]]:
    out = {
        mapping.lead_object: {mapping.person_ext_field},
        mapping.campaign["object"]: {mapping.campaign["external_id_field"]},
        "CampaignMember": {mapping.campaign["member_external_id_field"]},
        mapping.tasks["object"]: {mapping.tasks["external_id_field"]},
    }
    if mapping.opportunity.get("enabled"):
        out[mapping.opportunity["object"]] = {mapping.opportunity["external_id_field"]}
    return out


def _constant_values(mapping: Mapping) -> dict[tuple[str, str], set[str]]:
    """Picklist values the sync sends as they are: they must exist in the org."""
    out: dict[tuple[str, str], set[str]] = {}
    for sf_field, source in mapping.person_fields.items():
        if str(source).startswith("="):
            out[(mapping.lead_object, sf_field)] = {str(source)[1:]}
    out[(mapping.tasks["object"], "Status")] = {"Completed", "Not Started"}
    out[(mapping.tasks["object"], "Priority")] = {"High", "Normal"}
    if mapping.campaign.get("type"):
        out[(mapping.campaign["object"], "Type")] = {str(mapping.campaign["type"])}
    opportunity = mapping.opportunity
    if opportunity.get("enabled"):
        out[(opportunity["object"], "StageName")] = {str(opportunity.get("stage", "Qualification"))}
        out[(opportunity["object"], "LeadSource")] = {str(opportunity.get("lead_source", "Event"))}
    return out


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
