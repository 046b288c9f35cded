"""Lead capture: by badge QR (idempotent) and by NFC tap at the booth's reader (through the broker), one
lead_scan touchpoint per lead, consent-gated personal data, qualification, CSV, hot-lead alert, and an
exhibitor never seeing another's leads."""

from __future__ import annotations

import csv
import io
import time

import pytest
from app_support import Inbox, bearer, sign_in, staff_sign_in
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from support import EVENT, T0, LiveServer, tap, wait_until

from server.store.app_models import Lead
from server.store.models import Touchpoint, Visit


def lead_scans(engine: Engine) -> list[Touchpoint]:
    with Session(engine) as s:
        return list(s.exec(select(Touchpoint).where(col(Touchpoint.type) == "lead_scan")))


def test_a_qr_capture_is_idempotent_and_anonymous_without_consent(app: TestClient, smtp: Inbox, engine: Engine) -> None:
    rep = bearer(staff_sign_in(app, smtp, "rep@acme.example", "acme"))
    first = app.post("/app/v1/exhibitor/leads", headers=rep, json={"badge_id": "B0002"})
    assert first.status_code == 201
    lead = first.json()
    assert lead["created"] is True and lead["source"] == "qr" and lead["contact_shared"] is False
    assert (lead["attendee_id"], lead["email"], lead["company"]) == (None, None, None)
    assert lead["name"] == f"Visitor #{lead['id']}"
    again = app.post("/app/v1/exhibitor/leads", headers=rep, json={"badge_id": "B0002"})
    assert again.status_code == 200 and again.json()["created"] is False and again.json()["id"] == lead["id"]
    [scan] = lead_scans(engine)
    assert (scan.attendee_id, scan.zone_id, scan.data["ref"]) == ("bob", "booth-1", "acme")  # type: ignore[index]
    assert app.post("/app/v1/exhibitor/leads", headers=rep, json={"badge_id": "NOPE"}).status_code == 404
    assert app.post("/app/v1/exhibitor/leads", headers=rep, json={"badge_id": ""}).status_code == 422
    # Bob's journey shows the scan.
    bob = bearer(sign_in(app, smtp, "bob@example.com"))
    kinds = [e["kind"] for e in app.get("/app/v1/me/journey", headers=bob).json()["entries"]]
    assert "lead_scan" in kinds


def test_consent_to_share_fills_the_lead_in_and_withdrawal_clears_it(app: TestClient, smtp: Inbox) -> None:
    rep = bearer(staff_sign_in(app, smtp, "rep@acme.example", "acme"))
    lead_id = app.post("/app/v1/exhibitor/leads", headers=rep, json={"badge_id": "B0001"}).json()["id"]
    alice = bearer(sign_in(app, smtp, "alice@example.com"))
    app.put("/app/v1/me/consent", headers=alice, json={"share_contact": True})
    shared = app.get(f"/app/v1/exhibitor/leads/{lead_id}", headers=rep).json()
    assert (shared["name"], shared["email"], shared["company"], shared["attendee_id"]) == (
        "Alice", "alice@example.com", "Alice GmbH", "alice")  # fmt: skip
    app.put("/app/v1/me/consent", headers=alice, json={"share_contact": False})
    cleared = app.get(f"/app/v1/exhibitor/leads/{lead_id}", headers=rep).json()
    assert (cleared["email"], cleared["attendee_id"], cleared["contact_shared"]) == (None, None, False)


def test_an_exhibitor_never_sees_another_exhibitors_leads(app: TestClient, smtp: Inbox) -> None:
    acme = bearer(staff_sign_in(app, smtp, "rep@acme.example", "acme"))
    globex = bearer(staff_sign_in(app, smtp, "rep@globex.example", "globex"))
    lead_id = app.post("/app/v1/exhibitor/leads", headers=acme, json={"badge_id": "B0001"}).json()["id"]
    assert app.get("/app/v1/exhibitor/leads", headers=globex).json() == []
    assert app.get(f"/app/v1/exhibitor/leads/{lead_id}", headers=globex).status_code == 404
    assert app.patch(f"/app/v1/exhibitor/leads/{lead_id}", headers=globex, json={"rating": 5}).status_code == 404
    assert "B0001" not in app.get("/app/v1/exhibitor/leads.csv", headers=globex).text
    # Globex capturing the same attendee gets its own lead.
    own = app.post("/app/v1/exhibitor/leads", headers=globex, json={"badge_id": "B0001"})
    assert own.status_code == 201 and own.json()["id"] != lead_id
    assert [x["id"] for x in app.get("/app/v1/exhibitor/leads", headers=acme).json()] == [lead_id]


def test_questions_answers_rating_notes_csv_and_a_hot_lead_alert(app: TestClient, smtp: Inbox) -> None:
    admin = bearer(staff_sign_in(app, smtp, "boss@acme.example", "acme", role="admin"))
    rep_tokens = staff_sign_in(app, smtp, "rep@acme.example", "acme")
    rep = bearer(rep_tokens)
    questions = [
        {"key": "budget", "text": "Budget?", "kind": "choice", "choices": ["<10k", "10k+"]},
        {"key": "demo", "text": "Wants a demo?", "kind": "yes_no"},
    ]
    assert app.put("/app/v1/exhibitor/questions", headers=rep, json=questions).status_code == 403
    assert app.put("/app/v1/exhibitor/questions", headers=admin, json=questions).status_code == 200
    bad = app.put("/app/v1/exhibitor/questions", headers=admin, json=[{"key": "x", "text": "?", "kind": "choice"}])
    assert bad.status_code == 422 and "needs choices" in bad.text
    lead_id = app.post("/app/v1/exhibitor/leads", headers=rep, json={"badge_id": "B0001"}).json()["id"]
    wrong = app.patch(f"/app/v1/exhibitor/leads/{lead_id}", headers=rep, json={"answers": {"budget": "lots"}})
    assert wrong.status_code == 422 and "must be one of" in wrong.json()["detail"]
    assert (
        app.patch(f"/app/v1/exhibitor/leads/{lead_id}", headers=rep, json={"answers": {"nope": 1}}).status_code == 422
    )
    assert app.patch(f"/app/v1/exhibitor/leads/{lead_id}", headers=rep, json={"rating": 9}).status_code == 422

    with app.websocket_connect(f"/app/v1/ws?token={rep_tokens['access_token']}") as ws:
        assert ws.receive_json()["topic"] == "exhibitor:acme"
        ws.receive_json()
        done = app.patch(
            f"/app/v1/exhibitor/leads/{lead_id}",
            headers=rep,
            json={"rating": 5, "notes": "=wants pricing", "answers": {"budget": "10k+", "demo": True}},
        )
        assert done.status_code == 200 and done.json()["hot"] is True
        alert = ws.receive_json()
        assert alert["type"] == "hot_lead" and alert["lead"]["id"] == lead_id and alert["rep"] is not None

    rows = list(csv.DictReader(io.StringIO(app.get("/app/v1/exhibitor/leads.csv", headers=rep).text)))
    assert len(rows) == 1
    row = rows[0]
    assert (row["rating"], row["budget"], row["demo"], row["email"]) == ("5", "10k+", "True", "")
    assert row["notes"] == "'=wants pricing"  # no formula injection into spreadsheets
    assert app.get("/app/v1/exhibitor/leads?hot_only=true", headers=rep).json()[0]["id"] == lead_id


def test_booth_admins_manage_their_staff(app: TestClient, smtp: Inbox) -> None:
    admin = bearer(staff_sign_in(app, smtp, "boss@acme.example", "acme", role="admin"))
    rep_tokens = staff_sign_in(app, smtp, "rep@acme.example", "acme")
    assert app.get("/app/v1/exhibitor/users", headers=bearer(rep_tokens)).status_code == 403
    added = app.post("/app/v1/exhibitor/users", headers=admin, json={"email": "new@acme.example"})
    assert added.status_code == 201 and added.json()["exhibitor_id"] == "acme"
    dup = app.post("/app/v1/exhibitor/users", headers=admin, json={"email": "NEW@acme.example"})
    assert dup.status_code == 409
    rep_id = rep_tokens["subject"]
    assert app.delete(f"/app/v1/exhibitor/users/{rep_id}", headers=admin).json()["disabled_at"] is not None
    assert app.get("/app/v1/exhibitor/leads", headers=bearer(rep_tokens)).status_code == 401


def test_a_tap_at_the_booth_reader_captures_a_lead_through_the_broker(live_app: LiveServer, smtp: Inbox,
                                                                      engine: Engine) -> None:  # fmt: skip
    s = live_app
    s.publisher.publish(s.topic("tap", "booth-1-scanner"), tap(1, device="booth-1-scanner", at=T0).to_json())
    s.publisher.publish(s.topic("tap", "booth-1-scanner"), tap(2, device="booth-1-scanner", at=T0 + 5).to_json())
    s.publisher.publish(s.topic("tap", "door-1"), tap(3, device="door-1", at=T0 + 9).to_json())  # not a booth

    def leads() -> list[Lead]:
        with Session(engine) as session:
            return list(session.exec(select(Lead)))

    assert wait_until(lambda: len(leads()) == 1)
    [lead] = leads()
    assert (lead.exhibitor_id, lead.attendee_id, lead.source, lead.captured_by) == ("acme", "alice", "nfc",
                                                                                  "booth-1-scanner")  # fmt: skip
    assert wait_until(lambda: len(lead_scans(engine)) == 1)
    [scan] = lead_scans(engine)
    assert (scan.device_id, scan.occurred_at, scan.zone_id) == ("booth-1-scanner", T0, "booth-1")
    rep = bearer(staff_sign_in(s.client, smtp, "rep@acme.example", "acme"))
    listed = s.client.get("/app/v1/exhibitor/leads", headers=rep).json()
    assert [(x["source"], x["contact_shared"]) for x in listed] == [("nfc", False)]


def test_the_first_tap_at_the_booth_claims_a_lead_a_rule_created_and_is_recorded_once(
    live_app: LiveServer, engine: Engine
) -> None:
    # A rule's lead action may create ACME's lead for Alice before she taps at the booth (or after: the
    # cluster test saw both orders). Either way her journey gets exactly one "lead scanned".
    with Session(engine) as session:
        session.add(Lead(event_id="demo", exhibitor_id="acme", attendee_id="alice", source="rule",
                         captured_by="hot:1:alice", rating=4, created_at=T0 - 60, updated_at=T0 - 60))  # fmt: skip
        session.commit()
    s = live_app
    s.publisher.publish(s.topic("tap", "booth-1-scanner"), tap(1, device="booth-1-scanner", at=T0).to_json())
    s.publisher.publish(s.topic("tap", "booth-1-scanner"), tap(2, device="booth-1-scanner", at=T0 + 5).to_json())
    assert wait_until(lambda: len(lead_scans(engine)) == 1)
    with Session(engine) as session:
        [lead] = session.exec(select(Lead))
    assert (lead.source, lead.captured_by, lead.rating) == ("nfc", "booth-1-scanner", 4)  # the rule's rating stays
    assert wait_until(lambda: len(lead_scans(engine)) == 1 and lead_scans(engine)[0].occurred_at == T0)


def test_a_lead_shows_its_score_for_this_exhibitor_from_the_attendees_journey(
    app: TestClient, smtp: Inbox, engine: Engine
) -> None:
    now = time.time()
    with Session(engine) as s:  # Alice spent 12 minutes at Acme's booth; Bob never came by
        s.add(Visit(attendee_id="alice", event_id=EVENT, zone_id="booth-1", started_at=now - 780, ended_at=now - 60))
        s.commit()
    acme = bearer(staff_sign_in(app, smtp, "rep@acme.example", "acme"))
    globex = bearer(staff_sign_in(app, smtp, "rep@globex.example", "globex"))
    scores = {}
    for exhibitor, headers in (("acme", acme), ("globex", globex)):
        for badge in ("B0001", "B0002"):
            lead_id = app.post("/app/v1/exhibitor/leads", headers=headers, json={"badge_id": badge}).json()["id"]
            lead = app.get(f"/app/v1/exhibitor/leads/{lead_id}", headers=headers).json()
            scores[exhibitor, badge] = lead["lead_score"]
    # A lead scan (15 points, just now) for everyone; Acme also gets Alice's visit: 2 + 1 per minute up to 10,
    # decayed over its 13 minutes of age (x 0.9991): 11.99.
    assert scores == {
        ("acme", "B0001"): pytest.approx(15 + 11.99, abs=0.01),
        ("acme", "B0002"): 15.0,
        ("globex", "B0001"): 15.0,  # Acme's booth is nothing to Globex
        ("globex", "B0002"): 15.0,
    }
    assert app.get("/app/v1/exhibitor/leads", headers=acme).json()[0]["lead_score"] is None  # the list stays light
