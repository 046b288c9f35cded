"""Probe every route of the OpenAPI with a token of each role: who is refused (401/403) and who is not.

Used by test_route_roles.py; run it as a script to print the observed matrix as docs/security.md rows.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session
from support import ADMIN, AUTH, seed_small_venue

from server.app import create_app
from server.core.config import load_settings
from server.store.db import make_engine, migrate
from server.store.models import Exhibitor, Zone

ROLES = ("organizer", "staff", "exhibitor", "attendee", "device")
DOC = Path(__file__).resolve().parents[2] / "docs" / "security.md"
# Realistic ids from the seeded venue; deletions point at ids that do not exist, so that probing the
# matrix deletes nothing the next probe needs (authorization is decided before the lookup).
PATH_VALUES = {
    "device_id": "door-1",
    "token_id": "999999",
    "attendee_id": "alice",
    "zone_id": "booth-1",
    "session_id": "keynote",
    "exhibitor_id": "acme",
    "rule_id": "no-such-rule",
    "version": "1",
    "campaign_id": "spring",
    "note_id": "999999",
    "notification_id": "999999",
    "action": "opened",
    "beacon_key": "no-such-beacon",
    "lead_id": "999999",
    "user_id": "999999",
}
DELETE_VALUES = {"zone_id": "no-such-zone", "session_id": "no-such-session", "attendee_id": "nobody"}


def seed(engine: Any) -> None:
    seed_small_venue(engine)
    with Session(engine) as s:
        s.add(Exhibitor(id="acme", event_id="demo", name="ACME"))
        s.add(Exhibitor(id="globex", event_id="demo", name="Globex"))
        s.commit()
        booth = s.get(Zone, "booth-1")
        assert booth is not None
        booth.exhibitor_id = "acme"
        s.add(booth)
        s.commit()


@contextmanager
def running_app(tmp_path: Path) -> Iterator[TestClient]:
    url = f"sqlite:///{tmp_path / 'roles.db'}"
    engine = make_engine(url)
    migrate(engine)
    seed(engine)
    engine.dispose()
    settings = load_settings(database_url=url, ingest_enabled=False, admin_token=ADMIN, var_dir=tmp_path / "var")
    with TestClient(create_app(settings)) as client:
        yield client


def issue(client: TestClient, role: str, subject: str | None) -> dict[str, str]:
    answer = client.post("/api/v1/tokens", json={"role": role, "subject": subject, "name": f"probe {role}"},
                         headers=AUTH)  # fmt: skip
    assert answer.status_code == 201, answer.text
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def role_headers(client: TestClient) -> dict[str, dict[str, str]]:
    subjects = {"organizer": None, "staff": None, "exhibitor": "acme", "attendee": "carol", "device": "door-1"}
    return {role: issue(client, role, subject) for role, subject in subjects.items()}


def operations(client: TestClient) -> list[tuple[str, str]]:
    ops = [(m.upper(), p) for p, item in client.app.openapi()["paths"].items() for m in item]  # type: ignore[attr-defined]
    # Destructive calls last, the attendee's own erasure very last.
    return sorted(ops, key=lambda op: (op == ("DELETE", "/app/v1/me"), op[0] == "DELETE"))


def concrete(method: str, path: str) -> str:
    values = {**PATH_VALUES, **(DELETE_VALUES if method == "DELETE" else {})}
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), "x"), path)


def call(client: TestClient, method: str, path: str, headers: dict[str, str]) -> int:
    kwargs: dict[str, Any] = {"headers": headers}
    if method in ("POST", "PUT", "PATCH"):
        kwargs["json"] = {}
    return client.request(method, concrete(method, path), **kwargs).status_code


def admitted(status_code: int) -> bool:
    return status_code not in (401, 403)


def observe(client: TestClient) -> dict[tuple[str, str], dict[str, int]]:
    """Status per role ("public" = no token) for every operation."""
    headers = role_headers(client)
    matrix: dict[tuple[str, str], dict[str, int]] = {}
    for method, path in operations(client):
        row = {"public": call(client, method, path, {})}
        row.update({role: call(client, method, path, headers[role]) for role in ROLES})
        matrix[(method, path)] = row
    return matrix


def documented() -> dict[tuple[str, str], frozenset[str]]:
    """The table in docs/security.md: `| METHOD | /path | roles, comma separated |`."""
    table: dict[tuple[str, str], frozenset[str]] = {}
    pattern = re.compile(r"^\|\s*(GET|POST|PUT|PATCH|DELETE)\s*\|\s*`([^`]+)`\s*\|\s*([^|]+)\|")
    for line in DOC.read_text().splitlines():
        match = pattern.match(line)
        if match:
            roles = frozenset(r.strip() for r in match.group(3).split(",") if r.strip())
            table[(match.group(1), match.group(2))] = roles
    return table


def expected_roles(roles: frozenset[str]) -> frozenset[str]:
    return frozenset({"public", *ROLES}) if "public" in roles else roles


if __name__ == "__main__":
    import sys
    import tempfile

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    with running_app(Path(tempfile.mkdtemp())) as app_client:
        for (method, path), row in observe(app_client).items():
            who = [r for r in ("public", *ROLES) if admitted(row[r])]
            shown = "public" if "public" in who else ", ".join(who)
            print(f"| {method} | `{path}` | {shown} |   {row}")
