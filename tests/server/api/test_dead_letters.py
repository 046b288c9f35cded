"""The dead-letter API: cursor paging through any number of refused messages, excerpts marked as such."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session
from support import AUTH

from server.store.models import DeadLetter, DeadLetterReason


def test_cursor_paging_walks_every_dead_letter_once_newest_first(api: TestClient, engine: Engine):
    with Session(engine) as s:
        for n in range(2_500):  # beyond the 1,000 one page may hold
            s.add(DeadLetter(received_at=n, topic="t", reason=DeadLetterReason.INVALID_JSON, detail="x",
                             device_id="door-1", size=1, payload=b"{"))  # fmt: skip
        s.add(DeadLetter(received_at=9e9, topic="t", reason=DeadLetterReason.UNKNOWN_DEVICE, detail="cut",
                         device_id="ghost", size=5000, payload=b"x" * 2048))  # fmt: skip
        s.commit()
    seen: list[int] = []
    before: int | None = None
    while True:
        params = {"limit": 1000, "reason": "invalid_json"} | ({"before": before} if before else {})
        page = api.get("/api/v1/dead-letters", headers=AUTH, params=params).json()
        seen += [row["id"] for row in page]
        if len(page) < 1000:
            break
        before = page[-1]["id"]
    assert len(seen) == 2_500 and len(set(seen)) == 2_500 and seen == sorted(seen, reverse=True)
    [cut] = api.get("/api/v1/dead-letters", headers=AUTH, params={"reason": "unknown_device"}).json()
    assert (cut["size"], cut["truncated"]) == (5000, True)
