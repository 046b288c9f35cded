"""The Salesforce metadata the sync needs, as files an admin deploys: ``touchpoints crm metadata --out DIR``
writes a Metadata API package (``package.xml``, ``objects/*.object``, ``permissionsets/Touchpoints_Sync.
permissionset``); ``sf project deploy start --metadata-dir DIR --target-org <org>`` deploys it.

Every custom field the default mapping writes is here, with the type and length docs/salesforce.md gives,
and the permission set grants what the sync does: object Create/Edit (Delete where erasure needs it) and
field-level Edit on each field. Tasks' custom fields live on ``Activity``, as Salesforce keeps them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

API_VERSION = "62.0"
PERMISSION_SET = "Touchpoints_Sync"
HEADER = '<?xml version="1.0" encoding="UTF-8"?>\n'
NS = 'xmlns="http://soap.sforce.com/2006/04/metadata"'


@dataclass(frozen=True)
class CustomField:
    name: str
    label: str
    kind: str  # Text, Number, LongTextArea
    length: int = 0
    precision: int = 0
    scale: int = 0
    external_id: bool = False
    unique: bool = False
    description: str = ""

    def xml(self) -> str:
        parts = [f"<fullName>{self.name}</fullName>", f"<label>{escape(self.label)}</label>",
                 f"<description>{escape(self.description)}</description>", f"<type>{self.kind}</type>"]  # fmt: skip
        if self.kind == "Number":
            parts += [f"<precision>{self.precision}</precision>", f"<scale>{self.scale}</scale>"]
        else:
            parts.append(f"<length>{self.length}</length>")
        if self.kind == "LongTextArea":
            parts.append("<visibleLines>5</visibleLines>")
        if self.external_id:
            parts += ["<externalId>true</externalId>", f"<unique>{str(self.unique).lower()}</unique>"]
            if self.unique:
                parts.append("<caseSensitive>true</caseSensitive>")
        if self.kind != "LongTextArea":
            parts.append("<required>false</required>")
        return "    <fields>\n" + "".join(f"        {p}\n" for p in parts) + "    </fields>\n"


def key(unique: bool = True) -> CustomField:
    why = "<deployment>:<event>:<key>: the sync upserts on it (never a second record)"
    return CustomField("Touchpoints_Id__c", "Touchpoints Id", "Text", 255, external_id=True, unique=unique,
                       description=why)  # fmt: skip


ENGAGEMENT = [
    CustomField("Touchpoints_Engagement_Score__c", "Engagement Score", "Number", precision=6, scale=1,
                description="Engagement score 0-100 (docs/scoring.md)"),
    CustomField("Touchpoints_Grade__c", "Engagement Grade", "Text", 2, description="Fit grade A-D"),
    CustomField("Touchpoints_Stage__c", "Journey Stage", "Text", 32, description="Journey stage"),
    CustomField("Touchpoints_Interests__c", "Interests", "Text", 255, description="Interests, ;-separated"),
    CustomField("Touchpoints_Last_Touchpoint__c", "Last Touchpoint", "Text", 255,
                description="e.g. booth visit Acme 2026-05-28 10:12 UTC"),
    CustomField("Touchpoints_Journey_Summary__c", "Journey Summary", "LongTextArea", 32768,
                description="The journey in one paragraph"),
    CustomField("Touchpoints_Follow_Up__c", "Follow Up", "Text", 255, description="Post-event follow-up"),
]  # fmt: skip
OBJECTS: dict[str, list[CustomField]] = {
    "Lead": [key(), *ENGAGEMENT],
    "Contact": [key(unique=False), *ENGAGEMENT],
    "Campaign": [key()],
    "CampaignMember": [key()],
    "Activity": [key()],
    "Opportunity": [key()],
}
# (object, Read, Create, Edit, Delete): Delete where erasure deletes (docs/salesforce.md, Erasure).
OBJECT_RIGHTS = [
    ("Lead", True, True, True, True),
    ("Contact", True, False, True, False),
    ("Campaign", True, True, True, False),
    ("CampaignMember", True, True, True, True),
    ("Opportunity", True, True, True, True),
]
STANDARD_FIELDS = ["Lead.Email", "Lead.Title", "Lead.LeadSource", "Lead.Rating", "Opportunity.LeadSource",
                   "Opportunity.CampaignId", "Opportunity.Description", "Campaign.Type", "Campaign.StartDate",
                   "Campaign.EndDate", "Campaign.IsActive"]  # fmt: skip


def object_xml(fields: list[CustomField]) -> str:
    return f"{HEADER}<CustomObject {NS}>\n" + "".join(f.xml() for f in fields) + "</CustomObject>\n"


def _block(tag: str, values: dict[str, str]) -> str:
    inner = "".join(f"        <{k}>{v}</{k}>\n" for k, v in values.items())
    return f"    <{tag}>\n{inner}    </{tag}>\n"


def _bool(value: bool) -> str:
    return "true" if value else "false"


def permission_set_xml() -> str:
    lines = [
        "    <label>Touchpoints Sync</label>\n",
        "    <description>What the Touchpoints Salesforce sync needs (docs/salesforce.md)</description>\n",
        "    <hasActivationRequired>false</hasActivationRequired>\n",
    ]
    for sobject, read, create, edit, delete in OBJECT_RIGHTS:
        rights = {"allowCreate": create, "allowDelete": delete, "allowEdit": edit, "allowRead": read,
                  "modifyAllRecords": False}  # fmt: skip
        values = {k: _bool(v) for k, v in rights.items()} | {"object": sobject, "viewAllRecords": "false"}
        lines.append(_block("objectPermissions", values))
    names = [f"{o}.{f.name}" for o, fields in OBJECTS.items() for f in fields] + STANDARD_FIELDS
    for name in sorted(names):
        lines.append(_block("fieldPermissions", {"editable": "true", "field": name, "readable": "true"}))
    for permission in ("ApiEnabled", "EditTask"):
        lines.append(_block("userPermissions", {"enabled": "true", "name": permission}))
    return f"{HEADER}<PermissionSet {NS}>\n" + "".join(lines) + "</PermissionSet>\n"


def package_xml() -> str:
    members = "".join(f"        <members>{o}.{f.name}</members>\n" for o, fields in OBJECTS.items() for f in fields)
    types = f"    <types>\n{members}        <name>CustomField</name>\n    </types>\n"
    types += _block("types", {"members": PERMISSION_SET, "name": "PermissionSet"})
    return f"{HEADER}<Package {NS}>\n{types}    <version>{API_VERSION}</version>\n</Package>\n"


def write_package(out: Path) -> list[Path]:
    """Write the package under ``out``; the files written."""
    files = {out / "package.xml": package_xml(), out / "permissionsets" / f"{PERMISSION_SET}.permissionset":
             permission_set_xml()}  # fmt: skip
    files.update({out / "objects" / f"{o}.object": object_xml(fields) for o, fields in OBJECTS.items()})
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return sorted(files)
