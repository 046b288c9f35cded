"""Abuse limits on the HTTP API: request bodies above TOUCHPOINTS_MAX_REQUEST_BYTES get 413 with a message,
whether declared (Content-Length) or streamed (chunked), and the app never reads them whole."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from support import ADMIN, AUTH

from server.app import create_app
from server.core.config import load_settings

LIMIT = 4096


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = load_settings(database_url=f"sqlite:///{tmp_path / 'limits.db'}", ingest_enabled=False,
                             admin_token=ADMIN, var_dir=tmp_path / "var", max_request_bytes=LIMIT)  # fmt: skip
    with TestClient(create_app(settings)) as app_client:
        yield app_client


def test_a_declared_oversized_body_is_refused_with_413_and_a_message(client: TestClient):
    answer = client.put("/api/v1/venue", content=b"x" * (LIMIT + 1), headers={**AUTH, "content-type": "text/plain"})
    assert answer.status_code == 413
    assert "request body too large" in answer.json()["detail"]
    # Even without a token: the limit comes before authentication and parsing.
    assert client.post("/app/v1/auth/code", content=b"{" * (LIMIT * 10)).status_code == 413


def test_a_streamed_oversized_body_is_cut_off_with_413(client: TestClient):
    def chunks() -> Iterator[bytes]:
        for _ in range(100):
            yield b"x" * 1024

    answer = client.post("/api/v1/tokens", content=chunks(), headers={**AUTH, "content-type": "application/json"})
    assert answer.status_code == 413
    assert "too large" in answer.json()["detail"]


def test_a_body_within_the_limit_is_served(client: TestClient):
    answer = client.post("/api/v1/tokens", json={"role": "staff", "name": "x" * 100}, headers=AUTH)
    assert answer.status_code == 201
