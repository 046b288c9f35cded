"""My profile, badge QR, consent (with its trail, taking effect at ingest), agenda bookmarks, my journey,
export and erasure. An attendee only ever sees their own data."""

from __future__ import annotations

from app_support import Inbox, bearer, sign_in
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func
from sqlmodel import Session, col, select
from support import ALICE_BEACON, AUTH, T0, LiveServer, batch, sighting, wait_until

from server.store.app_models import ConsentRecord
from server.store.models import Attendee, IngestedMessage, SessionRegistration, Touchpoint, Visit


def test_my_profile_and_interests(app: TestClient, smtp: Inbox):
    alice = bearer(sign_in(app, smtp, "alice@example.com"))
    me = app.get("/app/v1/me", headers=alice).json()
    assert (me["id"], me["name"], me["badge_id"], me["company"]) == ("alice", "Alice", "B0001", "Alice GmbH")
    assert me["consents"] == {"tracking": True, "push": False, "share_contact": False, "networking": False,
                              "email": False}  # fmt: skip
    changed = app.patch("/app/v1/me", headers=alice, json={"interests": ["AI", " data ", "ai"], "job_title": "CTO"})
    assert changed.status_code == 200
    assert changed.json()["interests"] == ["ai", "data"] and changed.json()["job_title"] == "CTO"
    assert app.patch("/app/v1/me", headers=alice, json={"country": "Germany"}).status_code == 422
    assert app.patch("/app/v1/me", headers=alice, json={"interests": [""]}).status_code == 422
    assert app.patch("/app/v1/me", headers=alice, json={"name": ""}).status_code == 422


def test_my_badge_qr_is_an_svg_of_my_badge_id(app: TestClient, smtp: Inbox):
    response = app.get("/app/v1/me/badge.svg", headers=bearer(sign_in(app, smtp, "alice@example.com")))
    assert response.status_code == 200 and response.headers["content-type"] == "image/svg+xml"
    assert response.text.startswith("<svg") and "<path" in response.text
    carol = app.get("/app/v1/me/badge.svg", headers=bearer(sign_in(app, smtp, "carol@example.com")))
    assert carol.status_code == 404 and "no badge" in carol.json()["detail"]


def test_consent_changes_are_recorded_and_reach_ingest_at_once(app: TestClient, smtp: Inbox, engine: Engine):
    alice = bearer(sign_in(app, smtp, "alice@example.com"))
    directory = app.app.state.runtime.directory  # type: ignore[attr-defined]
    assert directory.badge_by_beacon(ALICE_BEACON).trackable

    response = app.put("/app/v1/me/consent", headers=alice, json={"tracking": False, "networking": True})
    assert response.status_code == 200
    body = response.json()
    assert body["consents"]["tracking"] is False and body["consents"]["networking"] is True
    assert [(h["purpose"], h["granted"], h["source"]) for h in body["history"]] == [
        ("tracking", False, "app"), ("networking", True, "app")]  # fmt: skip
    assert not directory.badge_by_beacon(ALICE_BEACON).trackable  # no wait: the directory reloaded

    # Saying the same again records nothing; an empty change is a 400.
    app.put("/app/v1/me/consent", headers=alice, json={"tracking": False})
    with Session(engine) as s:
        assert s.exec(select(func.count()).select_from(ConsentRecord)).one() == 2
    empty = app.put("/app/v1/me/consent", headers=alice, json={})
    assert empty.status_code == 400 and "name at least one purpose" in empty.json()["detail"]
    assert app.put("/app/v1/me/consent", headers=alice, json={"tracking": "maybe"}).status_code == 422


def test_withdrawn_tracking_consent_drops_the_next_sighting_at_ingest(live_app: LiveServer, smtp: Inbox,
                                                                      engine: Engine):  # fmt: skip
    s = live_app

    def alice_sightings() -> int:
        with Session(engine) as session:
            query = (
                select(func.count())
                .select_from(Touchpoint)
                .where(col(Touchpoint.attendee_id) == "alice", col(Touchpoint.type) == "sighting")
            )
            return int(session.exec(query).one())  # fmt: skip

    topic = s.topic("sightings", "booth-1-scanner")
    s.publisher.publish(topic, batch(1, [sighting(ALICE_BEACON, at=T0)], at=T0).to_json())
    assert wait_until(lambda: alice_sightings() == 1)
    alice = bearer(sign_in(s.client, smtp, "alice@example.com"))
    assert s.client.put("/app/v1/me/consent", headers=alice, json={"tracking": False}).status_code == 200
    s.publisher.publish(topic, batch(2, [sighting(ALICE_BEACON, at=T0 + 2)], at=T0 + 2).to_json())

    def stored_messages() -> int:
        with Session(engine) as session:
            return int(session.exec(select(func.count()).select_from(IngestedMessage)).one())

    assert wait_until(lambda: stored_messages() == 2)
    assert alice_sightings() == 1


def test_agenda_with_bookmarks(app: TestClient, smtp: Inbox, engine: Engine):
    alice = bearer(sign_in(app, smtp, "alice@example.com"))
    bob = bearer(sign_in(app, smtp, "bob@example.com"))
    agenda = app.get("/app/v1/agenda", headers=alice).json()
    assert [(a["id"], a["zone_name"], a["bookmarked"]) for a in agenda] == [
        ("keynote", "Hall A", False), ("panel", "Hall A", False)]  # fmt: skip
    assert app.put("/app/v1/agenda/panel/bookmark", headers=alice).json() == {"session_id": "panel", "bookmarked": True}
    assert app.put("/app/v1/agenda/panel/bookmark", headers=alice).status_code == 200  # idempotent
    assert [a["bookmarked"] for a in app.get("/app/v1/agenda", headers=alice).json()] == [False, True]
    assert [a["bookmarked"] for a in app.get("/app/v1/agenda", headers=bob).json()] == [False, False]
    missing = app.put("/app/v1/agenda/nope/bookmark", headers=alice)
    assert missing.status_code == 404 and "not found" in missing.json()["detail"]
    with Session(engine) as s:
        assert s.get(SessionRegistration, ("alice", "panel")) is not None
        actions = s.exec(select(Touchpoint).where(col(Touchpoint.type) == "app_action")).all()
        assert [(t.attendee_id, t.data) for t in actions] == [("alice", {"action": "bookmark", "ref": "panel"})]
    assert app.delete("/app/v1/agenda/panel/bookmark", headers=alice).json()["bookmarked"] is False
    assert [a["bookmarked"] for a in app.get("/app/v1/agenda", headers=alice).json()] == [False, False]


def test_my_journey_is_the_organizers_timeline_about_me(app: TestClient, smtp: Inbox, engine: Engine):
    with Session(engine) as s:
        s.add(Visit(event_id="demo", attendee_id="alice", zone_id="booth-1", started_at=T0 + 60, ended_at=T0 + 400,
                    dwell_s=340))  # fmt: skip
        s.add(Visit(event_id="demo", attendee_id="bob", zone_id="entrance", started_at=T0 + 10, ended_at=T0 + 30,
                    dwell_s=20))  # fmt: skip
        s.commit()
    mine = app.get("/app/v1/me/journey", headers=bearer(sign_in(app, smtp, "alice@example.com"))).json()
    organizers = app.get("/api/v1/attendees/alice/journey", headers=AUTH).json()
    assert mine["entries"] == organizers["entries"]
    assert (mine["stage"], mine["grade"], mine["summary"]) == (organizers["stage"], organizers["grade"],
                                                               organizers["summary"])  # fmt: skip
    assert {e["kind"] for e in mine["entries"]} >= {"registration", "booth_visit"}
    assert all(e.get("zone_id") != "entrance" for e in mine["entries"])  # Bob's visit is not in it


def test_export_holds_everything_about_me_and_nothing_secret(app: TestClient, smtp: Inbox):
    alice = bearer(sign_in(app, smtp, "alice@example.com"))
    app.put("/app/v1/agenda/keynote/bookmark", headers=alice)
    app.put("/app/v1/me/consent", headers=alice, json={"push": True})
    response = app.get("/app/v1/me/export", headers=alice)
    assert response.status_code == 200 and "attachment" in response.headers["content-disposition"]
    data = response.json()
    assert data["attendee"]["id"] == "alice" and data["attendee"]["email"] == "alice@example.com"
    tables = data["tables"]
    [bookmark] = tables["session_registration"]
    assert (bookmark["attendee_id"], bookmark["session_id"]) == ("alice", "keynote")
    assert [r["purpose"] for r in tables["consent_record"]] == ["push"]
    assert "touchpoint" in tables and "app_refresh_token" in tables
    assert "hash" not in response.text  # no token or code hashes
    assert "bob" not in response.text.lower()


def test_deleting_my_account_erases_me_everywhere(app: TestClient, smtp: Inbox, engine: Engine):
    tokens = sign_in(app, smtp, "alice@example.com")
    alice = bearer(tokens)
    bob = bearer(sign_in(app, smtp, "bob@example.com"))
    app.put("/app/v1/agenda/keynote/bookmark", headers=alice)
    app.put("/app/v1/agenda/keynote/bookmark", headers=bob)
    app.put("/app/v1/me/consent", headers=alice, json={"tracking": False})
    with Session(engine) as s:
        s.add(Visit(event_id="demo", attendee_id="alice", zone_id="booth-1", started_at=T0, ended_at=T0 + 9, dwell_s=9))
        s.commit()
    erased = app.delete("/app/v1/me", headers=alice)
    assert erased.status_code == 200
    counts = erased.json()["erased"]
    assert counts["attendee"] == 1 and counts["session_registration"] == 1 and counts["visit"] == 1
    assert counts["consent_record"] == 1 and counts["app_refresh_token"] >= 1
    assert app.get("/app/v1/me", headers=alice).status_code == 401
    assert app.post("/app/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}).status_code == 401
    with Session(engine) as s:
        assert s.get(Attendee, "alice") is None
        assert s.exec(select(Touchpoint).where(col(Touchpoint.attendee_id) == "alice")).all() == []
        assert s.get(SessionRegistration, ("bob", "keynote")) is not None  # Bob keeps his
    assert app.app.state.runtime.directory.badge_by_beacon(ALICE_BEACON) is None  # type: ignore[attr-defined]


def test_the_pwa_shell_is_served_with_its_manifest_and_service_worker(app: TestClient):
    assert app.get("/app", follow_redirects=False).headers["location"] == "/app/"
    shell = app.get("/app/")
    assert shell.status_code == 200 and 'rel="manifest"' in shell.text and "app.js" in shell.text
    manifest = app.get("/app/manifest.webmanifest")
    assert manifest.headers["content-type"] == "application/manifest+json" and manifest.json()["scope"] == "/app/"
    worker = app.get("/app/sw.js")
    assert worker.headers["cache-control"] == "no-cache" and "showNotification" in worker.text
    assert app.get("/app/v1/nope").status_code == 404  # the API is not shadowed by the static files
