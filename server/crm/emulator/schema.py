"""The emulated org's schema, written from Salesforce's object reference (not from our client): per field its
type, length, whether it can be set on create and on update, whether it is required, its picklist values.

The standard fields and their properties are those the SOAP/REST object reference documents ("Properties:
Create, Filter, Group, Nillable, Sort, Update" and so on). For example, ``CampaignMember.CampaignId`` and
``LeadId``/``ContactId`` are *Create* only: a real org refuses an update that carries them with
INVALID_FIELD_FOR_INSERT_UPDATE, whatever their value. The custom fields are those docs/salesforce.md tells an
admin to create (``Touchpoints_*__c``), with the lengths given there.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

QUEUE_PREFIX = "00G"  # key prefix of Group (a queue): records can be owned by one, Tasks cannot
USER_PREFIX = "005"
TEXT_MAX = 255  # Text fields hold at most 255 characters (docs/salesforce.md asks for that on every key)


@dataclass(frozen=True)
class Field:
    type: str  # id, reference, string, email, picklist, textarea, double, int, date, datetime, boolean
    length: int = 0  # characters, for the text types
    createable: bool = True
    updateable: bool = True
    required: bool = False  # on create: nillable false and no default
    picklist: tuple[str, ...] = ()
    restricted: bool = False  # a restricted picklist refuses values outside ``picklist``
    default: str | None = None  # a picklist's default value, set on create when none is given
    external_id: bool = False
    unique: bool = False
    label: str = ""
    precision: int = 0  # for double: digits in all, ``scale`` of them after the point
    scale: int = 0

    def text(self) -> bool:
        return self.type in ("string", "email", "picklist", "textarea", "combobox", "phone", "url")


READ_ONLY = Field("datetime", createable=False, updateable=False)
SYSTEM = {
    "Id": Field("id", 18, createable=False, updateable=False, label="Record ID"),
    "CreatedDate": READ_ONLY,
    "LastModifiedDate": READ_ONLY,
}
OWNER = {"OwnerId": Field("reference", 18, label="Owner ID")}
TP = "Touchpoints_"
KEY = Field("string", TEXT_MAX, external_id=True, unique=True, label="Touchpoints Id")
PERSON_CUSTOM = {
    f"{TP}Id__c": KEY,
    f"{TP}Engagement_Score__c": Field("double", precision=6, scale=1, label="Engagement Score"),
    f"{TP}Grade__c": Field("string", 2, label="Grade"),
    f"{TP}Stage__c": Field("string", 32, label="Stage"),
    f"{TP}Interests__c": Field("string", 255, label="Interests"),
    f"{TP}Last_Touchpoint__c": Field("string", 255, label="Last Touchpoint"),
    f"{TP}Journey_Summary__c": Field("textarea", 32768, label="Journey Summary"),
    f"{TP}Follow_Up__c": Field("string", 255, label="Follow Up"),
}
# Lead Source in a new org: "Event" is not among them until an admin adds it (docs/salesforce.md).
LEAD_SOURCES = ("Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other", "Event")
LEAD_STATUSES = ("Open - Not Contacted", "Working - Contacted", "Closed - Converted", "Closed - Not Converted")
TASK_STATUSES = ("Not Started", "In Progress", "Completed", "Waiting on someone else", "Deferred")
PRIORITIES = ("High", "Normal", "Low")
STAGES = (
    "Prospecting", "Qualification", "Needs Analysis", "Value Proposition", "Id. Decision Makers",
    "Perception Analysis", "Proposal/Price Quote", "Negotiation/Review", "Closed Won", "Closed Lost",
)  # fmt: skip
CAMPAIGN_TYPES = ("Conference", "Webinar", "Trade Show", "Public Relations", "Partners", "Referral Program",
                  "Advertisement", "Banner Ads", "Direct Mail", "Email", "Telemarketing", "Other")  # fmt: skip
NAMES = {
    "FirstName": Field("string", 40, label="First Name"),
    "LastName": Field("string", 80, required=True, label="Last Name"),
    "Email": Field("email", 80, label="Email"),
    "Title": Field("string", 128, label="Title"),
}


@dataclass(frozen=True)
class SObject:
    prefix: str
    fields: dict[str, Field]

    def externals(self) -> set[str]:
        return {name for name, f in self.fields.items() if f.external_id}


def _schema() -> dict[str, SObject]:
    lead_source = Field("picklist", 255, picklist=LEAD_SOURCES, restricted=True, label="Lead Source")
    return {
        "Lead": SObject(
            "00Q",
            {
                **SYSTEM,
                **OWNER,
                **NAMES,
                "Company": Field("string", 255, required=True, label="Company"),
                "LeadSource": lead_source,
                "Status": Field(
                    "picklist", 255, picklist=LEAD_STATUSES, restricted=True, default=LEAD_STATUSES[0], label="Status"
                ),
                "Rating": Field("picklist", 255, picklist=("Hot", "Warm", "Cold"), label="Rating"),
                "CountryCode": Field("string", 10, label="Country Code"),
                "IsConverted": Field("boolean", createable=False, updateable=False, label="Converted"),
                "ConvertedContactId": Field(
                    "reference", 18, createable=False, updateable=False, label="Converted Contact ID"
                ),
                **PERSON_CUSTOM,
            },
        ),
        "Contact": SObject(
            "003",
            {
                **SYSTEM,
                **OWNER,
                **NAMES,
                "AccountId": Field("reference", 18, label="Account ID"),
                **PERSON_CUSTOM,
                f"{TP}Id__c": replace(KEY, unique=False),
            },
        ),
        "Campaign": SObject(
            "701",
            {
                **SYSTEM,
                **OWNER,
                "Name": Field("string", 80, required=True, label="Name"),
                "Type": Field("picklist", 255, picklist=CAMPAIGN_TYPES, label="Type"),
                "StartDate": Field("date", label="Start Date"),
                "EndDate": Field("date", label="End Date"),
                "IsActive": Field("boolean", label="Active"),
                f"{TP}Id__c": KEY,
            },
        ),
        "CampaignMember": SObject(
            "00v",
            {
                **SYSTEM,
                "CampaignId": Field("reference", 18, updateable=False, required=True, label="Campaign ID"),
                "LeadId": Field("reference", 18, updateable=False, label="Lead ID"),
                "ContactId": Field("reference", 18, updateable=False, label="Contact ID"),
                "Status": Field("picklist", 40, label="Status"),  # values are the campaign's CampaignMemberStatus
                "HasResponded": Field("boolean", createable=False, updateable=False, label="Responded"),
                f"{TP}Id__c": KEY,
            },
        ),
        "CampaignMemberStatus": SObject(
            "01Y",
            {
                "Id": SYSTEM["Id"],
                "CampaignId": Field("reference", 18, updateable=False, required=True, label="Campaign ID"),
                "Label": Field("string", 765, required=True, label="Member Status"),
                "IsDefault": Field("boolean", label="Default"),
                "HasResponded": Field("boolean", label="Responded"),
                "SortOrder": Field("int", label="Sort Order"),
            },
        ),
        "Task": SObject(
            "00T",
            {
                **SYSTEM,
                **OWNER,
                "Subject": Field("combobox", 255, label="Subject"),
                "WhoId": Field("reference", 18, label="Name ID"),
                "WhatId": Field("reference", 18, label="Related To ID"),
                "ActivityDate": Field("date", label="Due Date Only"),
                "Status": Field(
                    "picklist", 255, picklist=TASK_STATUSES, restricted=True, default="Not Started", label="Status"
                ),
                "Priority": Field(
                    "picklist", 255, picklist=PRIORITIES, restricted=True, default="Normal", label="Priority"
                ),
                "Description": Field("textarea", 32000, label="Description"),
                f"{TP}Id__c": KEY,
            },
        ),
        "Opportunity": SObject(
            "006",
            {
                **SYSTEM,
                **OWNER,
                "Name": Field("string", 120, required=True, label="Name"),
                "StageName": Field("picklist", 255, picklist=STAGES, restricted=True, required=True, label="Stage"),
                "CloseDate": Field("date", required=True, label="Close Date"),
                "LeadSource": lead_source,
                "CampaignId": Field("reference", 18, label="Campaign ID"),
                "Description": Field("textarea", 32000, label="Description"),
                "Amount": Field("double", precision=18, scale=2, label="Amount"),
                f"{TP}Id__c": KEY,
            },
        ),
        "User": SObject(
            USER_PREFIX, {"Id": SYSTEM["Id"], "Name": Field("string", 121), "Username": Field("string", 80)}
        ),
        "Group": SObject(QUEUE_PREFIX, {"Id": SYSTEM["Id"], "Name": Field("string", 40), "Type": Field("string", 40)}),
    }


SCHEMA = _schema()
