"""The rules API: versioned CRUD, pause/resume, validation with paths, exhibitor tenancy, metrics, decisions."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import PUSH_RULE
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session
from support import AUTH, T0

from server.store.models import Exhibitor, Zone
from server.store.rules_models import Notification, RuleDecision

ACME_RULE: dict[str, Any] = {
    "id": "acme-dwell", "name": "Who is at ACME", "campaign_id": "acme",
    "trigger": {"type": "dwell_reached", "zone_ids": ["booth-1"], "dwell_s": 60},
    "actions": [{"type": "rep_alert", "message": "{attendee.name} is here"}],
}  # fmt: skip


@pytest.fixture
def acme(api: TestClient, engine: Engine) -> dict[str, str]:
    """booth-1 belongs to ACME; returns an ACME exhibitor token's header."""
    with Session(engine) as s:
        s.add(Exhibitor(id="acme", event_id="demo", name="ACME", interests=[]))
        s.add(Exhibitor(id="globex", event_id="demo", name="Globex", interests=[]))
        s.commit()
        booth = s.get(Zone, "booth-1")
        assert booth is not None
        booth.exhibitor_id = "acme"
        s.add(booth)
        s.commit()
    return token(api, "exhibitor", "acme")


def token(api: TestClient, role: str, subject: str) -> dict[str, str]:
    created = api.post("/api/v1/tokens", headers=AUTH, json={"role": role, "subject": subject, "name": subject})
    return {"Authorization": f"Bearer {created.json()['token']}"}


def test_create_edit_pause_and_resume_keep_every_version(api: TestClient):
    created = api.post("/api/v1/rules", headers=AUTH, json=PUSH_RULE)
    assert created.status_code == 201, created.text
    assert (created.json()["version"], created.json()["versions"]) == (1, [1])
    assert api.post("/api/v1/rules", headers=AUTH, json=PUSH_RULE).status_code == 409
    edited = api.put("/api/v1/rules/hello-booth", headers=AUTH, json={**PUSH_RULE, "name": "Hello again"})
    assert edited.status_code == 200, edited.text
    assert (edited.json()["version"], edited.json()["versions"]) == (2, [1, 2])
    assert api.get("/api/v1/rules/hello-booth/versions/1", headers=AUTH).json()["definition"]["name"] == (
        "Hello at the booth"
    )
    paused = api.post("/api/v1/rules/hello-booth/pause", headers=AUTH).json()
    assert (paused["version"], paused["enabled"]) == (2, False)
    assert api.post("/api/v1/rules/hello-booth/resume", headers=AUTH).json()["enabled"] is True
    listed = {r["id"]: r for r in api.get("/api/v1/rules", headers=AUTH).json()}
    assert listed["hello-booth"]["version"] == 2 and listed["hello-booth"]["versions"] == [1, 2]


def test_an_invalid_rule_is_422_with_every_problem_and_its_path(api: TestClient):
    bad = {**PUSH_RULE, "trigger": {"type": "dwell_reached", "dwell_s": -1}, "actions": []}
    response = api.post("/api/v1/rules/validate", headers=AUTH, json=bad)
    assert response.status_code == 422
    problems = {p["path"]: p["message"] for p in response.json()["detail"]["problems"]}
    assert problems["rule.trigger.dwell_reached.dwell_s"] == "Input should be greater than 0"
    assert "rule.actions" in problems
    unknown_zone = {**PUSH_RULE, "trigger": {"type": "zone_entered", "zone_ids": ["nowhere"]}}
    response = api.post("/api/v1/rules", headers=AUTH, json=unknown_zone)
    assert response.status_code == 422
    assert response.json()["detail"]["problems"] == [
        {"path": "hello-booth.trigger.zone_ids", "message": "unknown zone 'nowhere'"}
    ]
    assert api.post("/api/v1/rules/validate", headers=AUTH, json=PUSH_RULE).json()["valid"] is True


def test_an_exhibitor_writes_and_sees_only_its_own_booth_rules(api: TestClient, acme: dict[str, str]):
    mine = api.post("/api/v1/rules", headers=acme, json=ACME_RULE)
    assert mine.status_code == 201, mine.text
    assert mine.json()["owner"] == "exhibitor:acme"
    api.post("/api/v1/rules", headers=AUTH, json=PUSH_RULE)  # the organizer's rule
    assert [r["id"] for r in api.get("/api/v1/rules", headers=acme).json()] == ["acme-dwell"]
    assert api.get("/api/v1/rules/hello-booth", headers=acme).status_code == 404
    assert api.put("/api/v1/rules/hello-booth", headers=acme, json=PUSH_RULE).status_code == 404
    entrance = {**ACME_RULE, "id": "acme-door", "trigger": {"type": "zone_entered", "zone_ids": ["entrance"]}}
    assert api.post("/api/v1/rules", headers=acme, json=entrance).status_code == 403
    as_globex = {**ACME_RULE, "id": "acme-as-globex", "owner": "exhibitor:globex"}
    assert api.post("/api/v1/rules", headers=acme, json=as_globex).status_code == 403
    anywhere = {**ACME_RULE, "id": "acme-any-booth", "trigger": {"type": "zone_entered", "zone_kinds": ["booth"]}}
    assert api.post("/api/v1/rules", headers=acme, json=anywhere).status_code == 403
    assert api.post("/api/v1/rules", headers=token(api, "attendee", "alice"), json=ACME_RULE).status_code == 403
    assert api.get("/api/v1/rule-decisions", headers=acme).status_code == 403


def decision(rule: str, attendee: str, outcome: str, reason: str | None, at: float, channel: str = "push") -> Any:
    return RuleDecision(
        decision_id=f"{rule}:1:{attendee}:{at}:0", event_id="demo", rule_id=rule, rule_version=1, campaign_id="hello",
        attendee_id=attendee, channel=channel, outcome=outcome, reason=reason, trigger="zone_entered", at=at,
    )  # fmt: skip


def test_metrics_count_fired_suppressed_delivered_and_opened(api: TestClient, engine: Engine):
    api.post("/api/v1/rules", headers=AUTH, json=PUSH_RULE)
    with Session(engine) as s:
        s.add(decision("hello-booth", "alice", "fired", None, T0))
        s.add(decision("hello-booth", "carol", "fired", None, T0 + 1))
        s.add(decision("hello-booth", "bob", "suppressed", "consent_missing", T0 + 2))
        s.add(decision("hello-booth", "sam", "suppressed", "quiet_hours", T0 + 3))
        s.add(
            Notification(
                id=f"hello-booth:1:alice:{T0}:0",
                event_id="demo",
                recipient="attendee:alice",
                attendee_id="alice",
                channel="push",
                created_at=T0,
                delivered_at=T0,
                opened_at=T0 + 60,
            )
        )
        s.add(Notification(id=f"hello-booth:1:carol:{T0 + 1}:0", event_id="demo", recipient="attendee:carol",
                           attendee_id="carol", channel="push", created_at=T0 + 1, delivered_at=T0 + 1))  # fmt: skip
        s.commit()
    counts = api.get("/api/v1/rules/hello-booth/metrics", headers=AUTH).json()["by_rule"]["hello-booth"]
    assert {k: counts[k] for k in ("fired", "suppressed", "delivered", "opened")} == {
        "fired": 2, "suppressed": {"consent_missing": 1, "quiet_hours": 1}, "delivered": 2, "opened": 1,
    }  # fmt: skip
    everything = api.get("/api/v1/rule-metrics", headers=AUTH).json()
    assert everything["by_campaign"]["hello"]["fired"] == 2
    assert everything["disturbance"]["pushes"] == 2 and everything["disturbance"]["max"] == 1
    log = api.get("/api/v1/rule-decisions", headers=AUTH, params={"reason": "consent_missing"}).json()
    assert [d["attendee_id"] for d in log] == ["bob"]
