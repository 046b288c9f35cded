"""The emulator refuses what a real org refuses (Salesforce's object reference and REST API docs), over HTTPS.

These tests talk to the emulator with plain ``requests``, not with our client: each one states a documented
rule and shows the org's answer (status code and error shape) when a request breaks it.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests

from server.crm.emulator.org import LEAD_QUEUE, REP_USER
from server.crm.emulator.server import EmulatorServer

API = "/services/data/v62.0"


class Rest:
    def __init__(self, server: EmulatorServer) -> None:
        emu = server.emulator
        self.url, self.http = server.url, requests.Session()
        self.verify = str(server.ca_path)  # per request: REQUESTS_CA_BUNDLE would override the session's
        token = self.http.post(
            f"{self.url}/services/oauth2/token",
            data={"grant_type": "password", "client_id": emu.client_id, "username": emu.username,
                  "password": emu.password + emu.security_token}, verify=self.verify,
        ).json()["access_token"]  # fmt: skip
        self.http.headers["Authorization"] = f"Bearer {token}"

    def call(self, method: str, path: str, body: Any = None, **headers: str) -> requests.Response:
        return self.http.request(
            method, f"{self.url}{API}/{path}", json=body, headers=headers, timeout=10, verify=self.verify
        )


@pytest.fixture
def rest(emulator: EmulatorServer) -> Rest:
    return Rest(emulator)


def refused(answer: requests.Response, status: int, code: str) -> dict[str, Any]:
    """The one error of a refused REST call, in Salesforce's shape."""
    assert answer.status_code == status, answer.text
    [error] = answer.json()
    assert set(error) == {"message", "errorCode", "fields"} and error["errorCode"] == code
    return dict(error)


def lead(rest: Rest, key: str = "k1", **values: Any) -> str:
    answer = rest.call("PATCH", f"sobjects/Lead/Touchpoints_Id__c/{key}", {"LastName": "Doe", "Company": "Acme",
                                                                          **values})  # fmt: skip
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def campaign(rest: Rest) -> str:
    answer = rest.call("POST", "sobjects/Campaign", {"Name": "Touch Conf"})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def test_campaign_member_campaign_and_lead_are_create_only(rest: Rest):
    described = {f["name"]: f for f in rest.call("GET", "sobjects/CampaignMember/describe").json()["fields"]}
    assert [(described[n]["createable"], described[n]["updateable"]) for n in ("CampaignId", "LeadId", "Status")] == [
        (True, False), (True, False), (True, True)]  # fmt: skip
    lead_id, campaign_id = lead(rest), campaign(rest)
    member = {"CampaignId": campaign_id, "LeadId": lead_id, "Status": "Sent"}
    assert rest.call("PATCH", "sobjects/CampaignMember/Touchpoints_Id__c/m1", member).status_code == 201
    # The same values again, through the upsert's update path: refused although nothing would change.
    error = refused(rest.call("PATCH", "sobjects/CampaignMember/Touchpoints_Id__c/m1", member), 400,
                    "INVALID_FIELD_FOR_INSERT_UPDATE")  # fmt: skip
    assert error["fields"] == ["CampaignId"]
    answer = rest.call("PATCH", "sobjects/CampaignMember/Touchpoints_Id__c/m1", {"Status": "Responded"})
    assert answer.status_code == 200 and answer.json()["created"] is False


def test_one_membership_per_campaign_and_person(rest: Rest):
    lead_id, campaign_id = lead(rest), campaign(rest)
    assert rest.call("POST", "sobjects/CampaignMember", {"CampaignId": campaign_id, "LeadId": lead_id}).ok
    again = rest.call("POST", "sobjects/CampaignMember", {"CampaignId": campaign_id, "LeadId": lead_id})
    assert refused(again, 400, "DUPLICATE_VALUE")["message"] == "Already a campaign member."


@pytest.mark.parametrize(
    ("field", "value"),
    [("LastName", "x" * 81), ("FirstName", "y" * 41), ("Company", "c" * 256), ("Touchpoints_Interests__c", "i" * 256)],
)
def test_text_longer_than_the_field_is_refused(rest: Rest, field: str, value: str):
    answer = rest.call(
        "PATCH", "sobjects/Lead/Touchpoints_Id__c/k1", {"LastName": "Doe", "Company": "Acme", field: value}
    )
    error = refused(answer, 400, "STRING_TOO_LONG")
    assert error["fields"] == [field] and "max length=" in error["message"]


@pytest.mark.parametrize("email", ["jane.doe@example", "zoe@exämple.com", "two@@example.com", "sp ace@example.com"])
def test_addresses_salesforce_does_not_take_are_refused(rest: Rest, email: str):
    answer = rest.call("PATCH", "sobjects/Lead/Touchpoints_Id__c/k1", {"LastName": "D", "Company": "A", "Email": email})
    assert refused(answer, 400, "INVALID_EMAIL_ADDRESS")["fields"] == ["Email"]


def test_valid_addresses_are_taken(rest: Rest):
    lead(rest, Email="o'neil+events@mail.example.co.uk")


def test_a_value_outside_a_restricted_picklist_is_refused(rest: Rest, emulator: EmulatorServer):
    emulator.emulator.org.set_field("Lead", "LeadSource", picklist=("Web", "Other"))  # "Event" never added
    answer = rest.call("PATCH", "sobjects/Lead/Touchpoints_Id__c/k1", {"LastName": "D", "Company": "A",
                                                                       "LeadSource": "Event"})  # fmt: skip
    assert refused(answer, 400, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST")["fields"] == ["LeadSource"]


def test_required_fields_and_fields_without_edit_access(rest: Rest, emulator: EmulatorServer):
    answer = rest.call("PATCH", "sobjects/Lead/Touchpoints_Id__c/k1", {"LastName": "D"})
    assert refused(answer, 400, "REQUIRED_FIELD_MISSING")["fields"] == ["Company"]
    emulator.emulator.org.set_field("Lead", "Touchpoints_Grade__c", createable=False, updateable=False)
    described = {f["name"]: f for f in rest.call("GET", "sobjects/Lead/describe").json()["fields"]}
    assert described["Touchpoints_Grade__c"]["updateable"] is False
    answer = rest.call("PATCH", "sobjects/Lead/Touchpoints_Id__c/k1", {"LastName": "D", "Company": "A",
                                                                       "Touchpoints_Grade__c": "A"})  # fmt: skip
    refused(answer, 400, "INVALID_FIELD_FOR_INSERT_UPDATE")


def test_an_active_assignment_rule_runs_unless_the_request_says_not_to(rest: Rest, emulator: EmulatorServer):
    org = emulator.emulator.org
    org.assignment_queue = LEAD_QUEUE
    queued = lead(rest, "k1")
    assert org.get("Lead", queued)["OwnerId"] == LEAD_QUEUE  # type: ignore[index]
    kept = rest.call("PATCH", "sobjects/Lead/Touchpoints_Id__c/k2", {"LastName": "D", "Company": "A"},
                     **{"Sforce-Auto-Assign": "FALSE"}).json()["id"]  # fmt: skip
    assert org.get("Lead", kept)["OwnerId"] != LEAD_QUEUE  # type: ignore[index]
    org.update("Lead", queued, {"OwnerId": REP_USER})  # a rep takes the Lead
    rest.call("PATCH", "sobjects/Lead/Touchpoints_Id__c/k1", {"Title": "CTO"})  # an update runs the rule again
    assert org.get("Lead", queued)["OwnerId"] == LEAD_QUEUE  # type: ignore[index]


def test_a_task_cannot_belong_to_a_queue(rest: Rest):
    lead_id = lead(rest)
    answer = rest.call("POST", "sobjects/Task", {"Subject": "Call", "WhoId": lead_id, "OwnerId": LEAD_QUEUE})
    assert refused(answer, 400, "FIELD_INTEGRITY_EXCEPTION")["fields"] == ["OwnerId"]


def test_a_converted_lead_is_read_only_and_its_activity_moves_to_the_contact(rest: Rest, emulator: EmulatorServer):
    org = emulator.emulator.org
    lead_id, campaign_id = lead(rest), campaign(rest)
    rest.call("POST", "sobjects/CampaignMember", {"CampaignId": campaign_id, "LeadId": lead_id})
    rest.call("POST", "sobjects/Task", {"Subject": "Visited", "WhoId": lead_id})
    contact_id = org.convert_lead(lead_id)
    refused(rest.call("PATCH", "sobjects/Lead/Touchpoints_Id__c/k1", {"Title": "CTO"}), 400,
            "CANNOT_UPDATE_CONVERTED_LEAD")  # fmt: skip
    answer = rest.call("GET", "query?q=SELECT Id, ConvertedContactId FROM Lead WHERE Touchpoints_Id__c = 'k1'").json()
    assert answer["records"][0]["ConvertedContactId"] == contact_id
    assert [m["ContactId"] for m in org.all("CampaignMember")] == [contact_id]
    assert [t["WhoId"] for t in org.all("Task")] == [contact_id]


def test_all_or_none_rolls_the_whole_request_back(rest: Rest, emulator: EmulatorServer):
    records = [
        {"attributes": {"type": "Lead"}, "Touchpoints_Id__c": "ok", "LastName": "Fine", "Company": "A"},
        {"attributes": {"type": "Lead"}, "Touchpoints_Id__c": "bad", "LastName": "x" * 81, "Company": "A"},
    ]
    answer = rest.call("PATCH", "composite/sobjects/Lead/Touchpoints_Id__c", {"allOrNone": True, "records": records})
    assert answer.status_code == 200
    codes = [r["errors"][0]["statusCode"] for r in answer.json()]
    assert codes == ["ALL_OR_NONE_OPERATION_ROLLED_BACK", "STRING_TOO_LONG"]
    assert emulator.emulator.org.all("Lead") == []
    answer = rest.call("PATCH", "composite/sobjects/Lead/Touchpoints_Id__c", {"allOrNone": False, "records": records})
    assert [r["success"] for r in answer.json()] == [True, False]
    assert [r["LastName"] for r in emulator.emulator.org.all("Lead")] == ["Fine"]


def test_campaigns_need_a_marketing_user(rest: Rest, emulator: EmulatorServer):
    emulator.emulator.org.marketing_user = False
    assert rest.call("GET", "sobjects/Campaign/describe").json()["createable"] is False
    refused(rest.call("POST", "sobjects/Campaign", {"Name": "Touch Conf"}), 400, "INVALID_FIELD_FOR_INSERT_UPDATE")


def test_an_upsert_on_a_field_that_is_no_external_id_is_refused(rest: Rest, emulator: EmulatorServer):
    emulator.emulator.org.set_field("Task", "Touchpoints_Id__c", external_id=False, unique=False)
    answer = rest.call("PATCH", "sobjects/Task/Touchpoints_Id__c/t1", {"Subject": "Visited"})
    assert refused(answer, 404, "NOT_FOUND")["fields"] == ["Touchpoints_Id__c"]


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("Touchpoints_Engagement_Score__c", "high", "INVALID_TYPE_ON_FIELD_IN_RECORD"),
        ("Touchpoints_Engagement_Score__c", 123456.0, "NUMBER_OUTSIDE_VALID_RANGE"),  # Number(6, 1)
        ("OwnerId", "not-an-id", "MALFORMED_ID"),
        ("OwnerId", "005000000000099AAA", "INVALID_CROSS_REFERENCE_KEY"),
    ],
)
def test_values_of_the_wrong_type_or_range_are_refused(rest: Rest, field: str, value: Any, code: str):
    answer = rest.call("PATCH", "sobjects/Lead/Touchpoints_Id__c/k1", {"LastName": "D", "Company": "A", field: value})
    refused(answer, 400, code)


def test_a_member_status_must_be_one_of_its_campaigns(rest: Rest):
    lead_id, campaign_id = lead(rest), campaign(rest)
    answer = rest.call("POST", "sobjects/CampaignMember", {"CampaignId": campaign_id, "LeadId": lead_id,
                                                           "Status": "Attended"})  # fmt: skip
    refused(answer, 400, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST")
