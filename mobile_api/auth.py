"""Passwordless sign-in: one-time codes, short-lived access tokens and rotating refresh tokens.

Why so: a code by email (or shown at a kiosk after a badge tap) proves the person holds the registered
mailbox or badge, and nobody has a password to forget or reuse. Access tokens are ordinary ``api_token`` rows
(role attendee, or exhibitor for booth staff) that expire after ``ACCESS_TTL_S``, so a stolen one is useful
briefly; the refresh token that renews them is single use. Each use returns a new pair (rotation) in the
same *family* (one sign-in on one device). Presenting a refresh token a second time means two parties hold
it — the family is revoked at once (reuse detection), and both must sign in again.

Codes are 6 digits: guessable in principle, hence ``MAX_ATTEMPTS`` per code, a short life, single use and a
rate limit on requesting them. Only hashes of codes and tokens are stored.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlmodel import Session, col, select

from server.core.security import hash_token, new_token
from server.store.app_models import AccountKind, LoginCode, RefreshToken
from server.store.models import ApiToken, Role

CODE_TTL_S = 10 * 60  # long enough to switch to the mail app and back, short enough to be useless later
CODE_DIGITS = 6
MAX_ATTEMPTS = 5  # wrong guesses per code; then it is burnt (1e6 codes: 5 guesses succeed 1 in 200,000)
ACCESS_TTL_S = 15 * 60  # a leaked access token is useful for minutes only
REFRESH_TTL_S = 30 * 86400  # an event plus its follow-up; the phone stays signed in across days


class AuthError(Exception):
    """Sign-in refused; ``status`` is the HTTP status (400, 401, 403, 429) and the message says why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    family: str
    kind: str
    subject: str


def _code_hash(login_id: str, code: str) -> str:
    return hash_token(f"{login_id}:{code}")


def create_login_code(session: Session, kind: AccountKind, subject: str, via: str, now: float) -> tuple[str, str]:
    """A new code for ``subject`` (earlier unused codes stay valid until they expire). Returns (login_id, code)."""
    login_id = secrets.token_urlsafe(12)
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    session.add(
        LoginCode(
            id=login_id, kind=kind.value, subject=subject, code_hash=_code_hash(login_id, code), via=via,
            created_at=now, expires_at=now + CODE_TTL_S,
        )
    )  # fmt: skip
    session.commit()
    return login_id, code


def redeem_code(session: Session, kind: AccountKind, code: str, now: float, *, login_id: str | None = None,
                subject: str | None = None) -> str:  # fmt: skip
    """Check ``code`` against the login (by id) or against the subject's live codes; returns the subject."""
    query = select(LoginCode).where(
        col(LoginCode.kind) == kind.value, col(LoginCode.used_at).is_(None), col(LoginCode.expires_at) > now
    )
    if login_id is not None:
        query = query.where(col(LoginCode.id) == login_id)
    elif subject is not None:
        query = query.where(col(LoginCode.subject) == subject)
    else:
        raise AuthError(400, "give the email (or login_id) the code was sent for")
    candidates = list(session.exec(query.order_by(col(LoginCode.created_at).desc())))
    live = [c for c in candidates if c.attempts < MAX_ATTEMPTS]
    if not live:
        raise AuthError(401, "no valid sign-in code: it expired, was used, or too many wrong codes were tried")
    for row in live:
        if secrets.compare_digest(row.code_hash, _code_hash(row.id, code)):
            row.used_at = now
            session.add(row)
            session.commit()
            return row.subject
    for row in live:
        row.attempts += 1
        session.add(row)
    session.commit()
    raise AuthError(401, "wrong sign-in code")


def _role(kind: str) -> Role:
    return Role.ATTENDEE if kind == AccountKind.ATTENDEE.value else Role.EXHIBITOR


def issue_tokens(session: Session, kind: AccountKind, subject: str, token_subject: str, now: float,
                 family: str | None = None) -> TokenPair:  # fmt: skip
    """A new access + refresh pair. ``subject`` is the account (attendee or exhibitor user id);
    ``token_subject`` what the access token acts for (the attendee, or the user's exhibitor)."""
    family = family or secrets.token_hex(8)
    access, refresh = new_token(), new_token()
    access_row = ApiToken(
        token_hash=hash_token(access), role=_role(kind.value), subject=token_subject,
        name=f"app {kind.value} {subject} ({family})", created_at=now, expires_at=now + ACCESS_TTL_S,
    )  # fmt: skip
    session.add(access_row)
    session.flush()
    session.add(
        RefreshToken(
            token_hash=hash_token(refresh), family=family, kind=kind.value, subject=subject,
            access_token_id=access_row.id, created_at=now, expires_at=now + REFRESH_TTL_S,
        )
    )  # fmt: skip
    session.commit()
    return TokenPair(access, refresh, ACCESS_TTL_S, family, kind.value, subject)


def rotate(session: Session, refresh_token: str, now: float) -> TokenPair:
    """Spend ``refresh_token`` for a new pair. A second use of the same token revokes its whole family."""
    row = session.exec(select(RefreshToken).where(col(RefreshToken.token_hash) == hash_token(refresh_token))).first()
    if row is None:
        raise AuthError(401, "unknown refresh token")
    if row.revoked_at is not None:
        raise AuthError(401, "this sign-in was ended (signed out); sign in again")
    if row.used_at is not None:
        revoke_family(session, row.family, now)
        raise AuthError(401, "refresh token reuse detected: this sign-in is revoked on every device that held it")
    if row.expires_at <= now:
        raise AuthError(401, "refresh token expired; sign in again")
    row.used_at = now
    session.add(row)
    access = session.get(ApiToken, row.access_token_id) if row.access_token_id is not None else None
    token_subject = access.subject if access is not None and access.subject else row.subject
    return issue_tokens(session, AccountKind(row.kind), row.subject, token_subject, now, family=row.family)


def _revoke(session: Session, rows: list[RefreshToken], now: float) -> int:
    access_ids = [r.access_token_id for r in rows if r.access_token_id is not None]
    for r in rows:
        if r.revoked_at is None:
            r.revoked_at = now
            session.add(r)
    if access_ids:
        for token in session.exec(select(ApiToken).where(col(ApiToken.id).in_(access_ids))):
            if token.revoked_at is None:
                token.revoked_at = now
                session.add(token)
    session.commit()
    return len({r.family for r in rows})


def revoke_family(session: Session, family: str, now: float) -> int:
    return _revoke(session, list(session.exec(select(RefreshToken).where(col(RefreshToken.family) == family))), now)


def sign_out_everywhere(session: Session, kind: AccountKind, subject: str, now: float) -> int:
    """Revoke every sign-in of the account; returns how many sign-ins (families) were ended."""
    rows = session.exec(
        select(RefreshToken).where(col(RefreshToken.kind) == kind.value, col(RefreshToken.subject) == subject)
    )
    return _revoke(session, list(rows), now)


def family_of_access_token(session: Session, token_id: int | None) -> RefreshToken | None:
    if token_id is None:
        return None
    return session.exec(select(RefreshToken).where(col(RefreshToken.access_token_id) == token_id)).first()
