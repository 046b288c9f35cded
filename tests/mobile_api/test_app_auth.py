"""Sign-in: codes by email (read from a local SMTP server), kiosk codes, refresh rotation, reuse detection,
sign-out on one device and everywhere, rate limits, and who may call what."""

from __future__ import annotations

from app_support import Inbox, bearer, sign_in, staff_sign_in
from fastapi.testclient import TestClient
from support import AUTH

from mobile_api.auth import MAX_ATTEMPTS
from mobile_api.deps import SIGNIN_BURST


def test_a_code_mailed_to_the_registered_address_signs_the_attendee_in(app: TestClient, smtp: Inbox):
    tokens = sign_in(app, smtp, "alice@example.com")
    assert tokens["account"] == "attendee" and tokens["subject"] == "alice" and tokens["expires_in"] == 900
    mail = smtp.messages[-1]
    assert mail["From"] == "event@example.com" and "sign-in code" in mail["Subject"]
    me = app.get("/app/v1/me", headers=bearer(tokens))
    assert me.status_code == 200 and me.json()["id"] == "alice"


def test_the_code_works_once_and_only_with_its_login_id(app: TestClient, smtp: Inbox):
    login_id = app.post("/app/v1/auth/code", json={"email": "bob@example.com"}).json()["login_id"]
    code = smtp.code_for("bob@example.com")
    assert app.post("/app/v1/auth/token", json={"login_id": login_id, "code": code}).status_code == 200
    again = app.post("/app/v1/auth/token", json={"login_id": login_id, "code": code})
    assert again.status_code == 401 and "no valid sign-in code" in again.json()["detail"]


def test_an_unknown_address_gets_the_same_answer_and_no_mail(app: TestClient, smtp: Inbox):
    response = app.post("/app/v1/auth/code", json={"email": "nobody@example.com"})
    assert response.status_code == 202 and response.json()["login_id"]
    assert smtp.count_to("nobody@example.com") == 0
    refused = app.post("/app/v1/auth/token", json={"email": "nobody@example.com", "code": "123456"})
    assert refused.status_code == 401


def test_wrong_codes_burn_the_code_after_max_attempts(app: TestClient, smtp: Inbox):
    app.post("/app/v1/auth/code", json={"email": "alice@example.com"})
    code = smtp.code_for("alice@example.com")
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(MAX_ATTEMPTS):
        response = app.post("/app/v1/auth/token", json={"email": "alice@example.com", "code": wrong})
        assert response.status_code == 401 and response.json()["detail"] == "wrong sign-in code"
    late = app.post("/app/v1/auth/token", json={"email": "alice@example.com", "code": code})
    assert late.status_code == 401 and "too many wrong codes" in late.json()["detail"]


def test_bad_input_is_a_4xx_with_a_message(app: TestClient):
    assert app.post("/app/v1/auth/code", json={"email": "not-an-email"}).status_code == 422
    missing = app.post("/app/v1/auth/token", json={"code": "123456"})
    assert missing.status_code == 422 and "email or the login_id" in missing.text
    assert app.post("/app/v1/auth/token", json={"email": "a@b.co", "code": "12ab"}).status_code == 422


def test_requesting_codes_is_rate_limited_per_address(app: TestClient, smtp: Inbox):
    for _ in range(SIGNIN_BURST):
        assert app.post("/app/v1/auth/code", json={"email": "carol@example.com"}).status_code == 202
    limited = app.post("/app/v1/auth/code", json={"email": "carol@example.com"})
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0
    assert "too many sign-in codes" in limited.json()["detail"]
    assert smtp.count_to("carol@example.com") == SIGNIN_BURST
    assert app.post("/app/v1/auth/code", json={"email": "Bob@example.com"}).status_code == 202  # others unaffected


def test_refresh_rotates_and_a_reused_refresh_token_revokes_the_sign_in(app: TestClient, smtp: Inbox):
    first = sign_in(app, smtp, "alice@example.com")
    second = app.post("/app/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    rotated = second.json()
    assert rotated["refresh_token"] != first["refresh_token"] and rotated["access_token"] != first["access_token"]
    assert app.get("/app/v1/me", headers=bearer(rotated)).status_code == 200

    reuse = app.post("/app/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert reuse.status_code == 401 and "reuse detected" in reuse.json()["detail"]
    # The whole family is gone: the newest pair too.
    assert app.get("/app/v1/me", headers=bearer(rotated)).status_code == 401
    assert app.post("/app/v1/auth/refresh", json={"refresh_token": rotated["refresh_token"]}).status_code == 401
    assert app.post("/app/v1/auth/refresh", json={"refresh_token": "x" * 43}).status_code == 401


def test_sign_out_ends_this_device_and_sign_out_everywhere_ends_all(app: TestClient, smtp: Inbox):
    phone = sign_in(app, smtp, "alice@example.com")
    tablet = sign_in(app, smtp, "alice@example.com")
    laptop = sign_in(app, smtp, "alice@example.com")
    bob = sign_in(app, smtp, "bob@example.com")
    assert app.post("/app/v1/auth/signout", headers=bearer(phone)).json() == {"signed_out": 1}
    assert app.get("/app/v1/me", headers=bearer(phone)).status_code == 401
    assert app.get("/app/v1/me", headers=bearer(tablet)).status_code == 200

    assert app.post("/app/v1/auth/signout-everywhere", headers=bearer(tablet)).json() == {"signed_out": 3}
    for device in (tablet, laptop):
        assert app.get("/app/v1/me", headers=bearer(device)).status_code == 401
        assert app.post("/app/v1/auth/refresh", json={"refresh_token": device["refresh_token"]}).status_code == 401
    assert app.get("/app/v1/me", headers=bearer(bob)).status_code == 200  # someone else's sign-ins stay


def test_a_badge_tap_at_a_kiosk_gives_a_code_for_the_phone(app: TestClient):
    kiosk_token = app.post("/api/v1/tokens", headers=AUTH, json={"role": "staff", "name": "kiosk 1"}).json()["token"]
    refused = app.post("/app/v1/auth/kiosk", json={"badge_id": "B0001"}, headers=bearer(sign_in_token(app)))
    assert refused.status_code == 403
    unknown = app.post("/app/v1/auth/kiosk", json={"badge_id": "NOPE"}, headers=bearer(kiosk_token))
    assert unknown.status_code == 404
    shown = app.post("/app/v1/auth/kiosk", json={"uid": "04A1B2C3D4E5F6"}, headers=bearer(kiosk_token))
    assert shown.status_code == 201 and shown.json()["name"] == "Alice"
    body = shown.json()
    assert body["url"] == f"/app/#signin={body['login_id']}.{body['code']}"
    tokens = app.post("/app/v1/auth/token", json={"login_id": body["login_id"], "code": body["code"]}).json()
    assert tokens["subject"] == "alice"


def sign_in_token(app: TestClient) -> str:
    """An attendee token issued by an organizer (not an app sign-in)."""
    issued = app.post("/api/v1/tokens", headers=AUTH, json={"role": "attendee", "subject": "bob"})
    return str(issued.json()["token"])


def test_tokens_not_from_an_app_sign_in_cannot_sign_out_a_family(app: TestClient):
    response = app.post("/app/v1/auth/signout", headers=bearer(sign_in_token(app)))
    assert response.status_code == 400 and "not issued by an app sign-in" in response.json()["detail"]


def test_booth_staff_sign_in_with_their_exhibitor_account(app: TestClient, smtp: Inbox):
    tokens = staff_sign_in(app, smtp, "rep@acme.example", "acme")
    assert tokens["account"] == "exhibitor_user"
    me = app.get("/app/v1/exhibitor/me", headers=bearer(tokens)).json()
    assert me["exhibitor_id"] == "acme" and me["email"] == "rep@acme.example" and me["role"] == "rep"
    # A booth token is not an attendee token, and the reverse.
    assert app.get("/app/v1/me", headers=bearer(tokens)).status_code == 403
    alice = sign_in(app, smtp, "alice@example.com")
    assert app.get("/app/v1/exhibitor/leads", headers=bearer(alice)).status_code == 403
    # An attendee's address gets no staff code.
    app.post("/app/v1/exhibitor/auth/code", json={"email": "bob@example.com"})
    assert smtp.count_to("bob@example.com") == 0


def test_the_organizer_token_is_no_attendee(app: TestClient):
    response = app.get("/app/v1/me", headers=AUTH)
    assert response.status_code == 403 and "attendee's token" in response.json()["detail"]
    assert app.get("/app/v1/me").status_code == 401
