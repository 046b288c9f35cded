"""The mapping as configuration, and the pure functions that turn Touchpoints facts into Salesforce records.

The default mapping is ``defaults/mapping.yaml``; an operator's file replaces it section by section. A field's
value names a source in :class:`PersonFacts` (``score``, ``journey_summary`` ...) or, after ``=``, a constant:
``LeadSource: "=Event"``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import orjson
import yaml

PERSON_SOURCES = (
    "id",
    "event_id",
    "first_name",
    "last_name",
    "name",
    "email",
    "company",
    "job_title",
    "country",
    "interests",
    "score",
    "grade",
    "stage",
    "last_touchpoint",
    "last_touchpoint_at",
    "journey_summary",
    "follow_up",
    "lead_rating",
)
EXT_MAX = 160  # External ID values at most this long: crm_sync_state.external_id holds 160
MISSING_COMPANY = "[not provided]"  # Lead.Company is required by Salesforce; an attendee may have none


class MappingError(ValueError):
    """The mapping file is invalid; the message says where."""


@dataclass(frozen=True)
class StatusSpec:
    label: str
    default: bool = False
    responded: bool = False


@dataclass(frozen=True)
class Mapping:
    raw: dict[str, Any]
    # This deployment's namespace in every External ID value we write (server/crm/deployment.py): a second
    # event, deployment or rebuilt database writing to the same org never reaches another's records.
    deployment: str = ""

    def ext(self, event_id: str, local: str | None = None) -> str:
        """The External ID value of a record: ``<deployment>:<event>[:<local key>]``, hashed down when longer
        than EXT_MAX (Text(255) holds it; sync state keeps 160)."""
        value = ":".join(p for p in (self.deployment, event_id, local) if p)
        if len(value) <= EXT_MAX:
            return value
        return value[: EXT_MAX - 17] + "~" + hashlib.sha256(value.encode()).hexdigest()[:16]

    @property
    def person(self) -> dict[str, Any]:
        return dict(self.raw["person"])

    @property
    def lead_object(self) -> str:
        return str(self.raw["person"]["lead_object"])

    @property
    def contact_object(self) -> str:
        return str(self.raw["person"]["contact_object"])

    @property
    def person_ext_field(self) -> str:
        return str(self.raw["person"]["external_id_field"])

    @property
    def match_contact_by(self) -> str | None:
        return self.raw["person"].get("match_contact_by") or None

    @property
    def person_fields(self) -> dict[str, str]:
        return {str(k): str(v) for k, v in self.raw["person"]["fields"].items()}

    @property
    def contact_fields(self) -> list[str]:
        return [str(f) for f in self.raw["person"].get("contact_fields", [])]

    @property
    def campaign(self) -> dict[str, Any]:
        return dict(self.raw["campaign"])

    @property
    def statuses(self) -> dict[str, StatusSpec]:
        return {k: StatusSpec(**v) for k, v in self.raw["campaign"]["statuses"].items()}

    @property
    def tasks(self) -> dict[str, Any]:
        return dict(self.raw["tasks"])

    @property
    def opportunity(self) -> dict[str, Any]:
        return dict(self.raw.get("opportunity") or {})

    @property
    def post_event(self) -> dict[str, Any]:
        return dict(self.raw["post_event"])

    def required_fields(self) -> dict[str, set[str]]:
        """sObject -> fields the mapping writes (what `touchpoints crm check` looks for)."""
        need: dict[str, set[str]] = {self.lead_object: set(self.person_fields) | {self.person_ext_field}}
        if self.match_contact_by:
            need[self.contact_object] = set(self.contact_fields) | {self.match_contact_by}
        camp = self.campaign
        need[camp["object"]] = {camp["external_id_field"], "Name", "StartDate", "EndDate", "IsActive", "Type"}
        opportunity = self.opportunity
        if opportunity.get("enabled"):
            need[opportunity["object"]] = {opportunity["external_id_field"], "Name", "StageName", "CloseDate",
                                           "LeadSource", "CampaignId", "Description", "OwnerId"}  # fmt: skip
        need["CampaignMember"] = {camp["member_external_id_field"], "CampaignId", "LeadId", "ContactId", "Status"}
        need["CampaignMemberStatus"] = {"CampaignId", "Label", "IsDefault", "HasResponded"}
        tasks = self.tasks
        need[tasks["object"]] = {
            tasks["external_id_field"],
            "Subject",
            "WhoId",
            "ActivityDate",
            "Status",
            "Priority",
            "Description",
            "OwnerId",
        }
        return need


def load_mapping(path: Path | None = None) -> Mapping:
    """The shipped mapping, with the sections of ``path`` (YAML) replacing its own."""
    text = resources.files("server.crm.defaults").joinpath("mapping.yaml").read_text()
    raw: dict[str, Any] = yaml.safe_load(text)
    if path is not None:
        try:
            override = yaml.safe_load(Path(path).read_text()) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise MappingError(f"{path}: {exc}") from None
        if not isinstance(override, dict):
            raise MappingError(f"{path}: expected a mapping of sections")
        unknown = set(override) - set(raw)
        if unknown:
            raise MappingError(f"{path}: unknown sections {sorted(unknown)} (known: {sorted(raw)})")
        raw.update(override)
    for sf_field, source in raw["person"]["fields"].items():
        if not str(source).startswith("=") and source not in PERSON_SOURCES:
            raise MappingError(f"person.fields.{sf_field}: unknown source {source!r} (known: {PERSON_SOURCES})")
    return Mapping(raw)


@dataclass(frozen=True)
class PersonFacts:
    """What Touchpoints knows about one attendee, in the terms a mapping's sources use."""

    id: str
    event_id: str
    name: str
    email: str | None = None
    company: str | None = None
    job_title: str | None = None
    country: str | None = None
    interests: tuple[str, ...] = ()
    score: float | None = None
    grade: str | None = None
    stage: str | None = None
    last_touchpoint: str | None = None
    last_touchpoint_at: float | None = None
    journey_summary: str | None = None
    follow_up: str | None = None
    lead_rating: int | None = None

    @property
    def first_name(self) -> str | None:
        parts = self.name.strip().rsplit(" ", 1)
        return parts[0] if len(parts) == 2 else None

    @property
    def last_name(self) -> str:
        return self.name.strip().rsplit(" ", 1)[-1] or self.id

    def source(self, name: str) -> Any:
        if name.startswith("="):
            return name[1:]
        value = getattr(self, name)
        if name == "interests":
            return ";".join(value) or None
        if name == "score" and value is not None:
            return round(float(value), 1)
        if name == "last_touchpoint_at" and value is not None:
            return iso_datetime(value)
        if name == "company" and not value:
            return MISSING_COMPANY
        return value


@dataclass
class SfRecord:
    """One Salesforce record to write. ``links`` fill id fields from other records once those have ids."""

    key: str  # crm_sync_state.record_key: "<sObject>:<external id>"
    sobject: str
    ext_field: str | None  # upsert on this External ID; None: update by Id (``values["Id"]``)
    ext_value: str
    attendee_id: str | None
    values: dict[str, Any]
    links: dict[str, str] = field(default_factory=dict)  # field -> record key whose Salesforce id goes there
    owner_from: str | None = None  # record key whose OwnerId becomes this record's OwnerId (follow-up tasks)
    resolved: dict[str, Any] = field(default_factory=dict)  # links and owner, filled in just before sending
    # How it is written (server/crm/shape.py): upsert on the External ID; create (it carries fields that can be
    # set on create only, CampaignMember.CampaignId); update by Id (a Contact, a known member, a re-keyed record).
    mode: str = "upsert"
    sent: dict[str, Any] | None = None  # the body as shaped for the org (lengths, emails, editable fields)
    notes: list[str] = field(default_factory=list)  # what shaping changed, kept in sync state

    def body(self) -> dict[str, Any]:
        """What is sent: the shaped body, else the mapped values and the resolved ids (the hash covers the
        values, not the ids)."""
        return self.sent if self.sent is not None else {**self.values, **self.resolved}

    def payload_hash(self) -> str:
        body = orjson.dumps([self.sobject, self.values, self.links, self.owner_from], option=orjson.OPT_SORT_KEYS)
        return hashlib.sha256(body).hexdigest()


def record_key(sobject: str, ext_value: str) -> str:
    return f"{sobject}:{ext_value}"


def iso_date(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d")


def iso_datetime(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def person_record(mapping: Mapping, facts: PersonFacts, contact_id: str | None, extra: dict[str, Any]) -> SfRecord:
    """A Lead upserted on the External ID, or (``contact_id``) the matched Contact updated by Id."""
    fields = mapping.person_fields
    if contact_id is not None:
        allowed = set(mapping.contact_fields)
        values = {f: facts.source(src) for f, src in fields.items() if f in allowed}
        values.update({k: v for k, v in extra.items() if k in allowed})
        values["Id"] = contact_id
        return SfRecord(
            record_key(mapping.contact_object, facts.id), mapping.contact_object, None, facts.id, facts.id, values
        )
    values = {f: facts.source(src) for f, src in fields.items()}
    values.update(extra)
    ext = mapping.ext(facts.event_id, facts.id)
    values[mapping.person_ext_field] = ext
    return SfRecord(
        record_key(mapping.lead_object, facts.id), mapping.lead_object, mapping.person_ext_field, ext, facts.id, values
    )


def campaign_record(mapping: Mapping, event_id: str, event_name: str, starts_at: float, ends_at: float) -> SfRecord:
    camp = mapping.campaign
    ext = mapping.ext(event_id)
    values = {
        camp["external_id_field"]: ext,
        "Name": str(camp["name"]).format(event_name=event_name, event_id=event_id)[:80],
        "Type": camp.get("type"),
        "StartDate": iso_date(starts_at),
        "EndDate": iso_date(ends_at),
        "IsActive": True,
    }
    return SfRecord(record_key(camp["object"], event_id), camp["object"], camp["external_id_field"], ext, None, values)


def member_record(mapping: Mapping, event_id: str, person: SfRecord, status: str) -> SfRecord:
    """Campaign membership with the status label for ``status`` (registered, attended or no_show)."""
    camp = mapping.campaign
    attendee_id = person.attendee_id or person.ext_value
    ext = mapping.ext(event_id, attendee_id)
    who = "ContactId" if person.sobject == mapping.contact_object else "LeadId"
    values = {camp["member_external_id_field"]: ext, "Status": mapping.statuses[status].label}
    links = {who: person.key, "CampaignId": record_key(camp["object"], event_id)}
    return SfRecord(
        record_key("CampaignMember", f"{event_id}:{attendee_id}"),
        "CampaignMember",
        camp["member_external_id_field"],
        ext,
        person.attendee_id,
        values,
        links,
    )


@dataclass(frozen=True)
class TaskFacts:
    """A key touchpoint (or the follow-up) as a Task. ``key`` is stable: the same touchpoint, the same Task."""

    key: str
    kind: str  # booth_visit, session, lead, follow_up
    at: float
    params: dict[str, Any]
    description: str = ""
    completed: bool = True
    priority: str = "Normal"


def task_record(mapping: Mapping, event_id: str, person: SfRecord, task: TaskFacts) -> SfRecord:
    spec = mapping.tasks
    ext_field = spec["external_id_field"]
    ext = mapping.ext(event_id, task.key)
    values = {
        ext_field: ext,
        "Subject": str(spec[task.kind]["subject"]).format(**task.params)[:255],
        "ActivityDate": iso_date(task.at),
        "Status": "Completed" if task.completed else "Not Started",
        "Priority": task.priority,
        "Description": task.description[:32000] or None,
    }
    owner = person.key if task.kind == "follow_up" else None
    return SfRecord(
        record_key(spec["object"], task.key),
        spec["object"],
        ext_field,
        ext,
        person.attendee_id,
        values,
        {"WhoId": person.key},
        owner_from=owner,
    )
