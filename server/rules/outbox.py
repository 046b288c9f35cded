"""The outbox worker: emails, webhooks and Web Push leave the process here, with retries and backoff.

Rows are added by :mod:`server.rules.delivery` in the transaction that recorded the decision, so nothing is
sent for a decision that was not stored, and a crash between commit and send only delays the send. The worker
wakes when rows are added (``wake``) and at least every ``POLL_S``; each row is tried, then retried after
``BACKOFF_S * 2**attempts`` (capped at ``MAX_BACKOFF_S``) until ``MAX_ATTEMPTS``; then it is ``dead`` and
keeps its last error for an operator. Kinds ``crm`` and ``lead`` are not sent here: the CRM and lead workers
of their areas read them.

Sending is at-least-once: a webhook receives an ``Idempotency-Key`` header (the row's key) to drop repeats.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy import Engine, delete, or_, select, update
from sqlmodel import col

from server.core.outage import OutageLog, is_database_outage
from server.mail import Mailer
from server.rules.delivery import NOTIFICATION, notification_message, record_touchpoint
from server.rules.webpush import WebPushSender
from server.store.app_models import LEAD_HOT_RATING, LEAD_SOURCE_RULE, ExhibitorUser, Lead, lead_contact
from server.store.db import insert_new
from server.store.models import Attendee, TouchpointType
from server.store.rules_models import ActionOutbox, Notification, OutboxStatus, PushSubscription

log = logging.getLogger(__name__)

POLL_S = 1.0
BATCH = 50
MAX_ATTEMPTS = 8  # with the backoff below: retried over ~1 h, then left for an operator
BACKOFF_S = 5.0
MAX_BACKOFF_S = 1800.0
WEBHOOK_TIMEOUT_S = 10.0
# A rule's lead rating on the booth app's 1-5 scale (LEAD_HOT_RATING: 4 and up is "hot").
LEAD_RATING = {"cold": 2, "warm": 3, "hot": LEAD_HOT_RATING}
LEAD: Any = Lead.__table__  # type: ignore[attr-defined]


class Permanent(Exception):
    """Retrying cannot help (no address, a 4xx answer, a gone subscription)."""


class OutboxWorker:
    def __init__(
        self, engine: Engine, event_id: str, now: Callable[[], float], mailer: Mailer | None = None,
        webpush: WebPushSender | None = None, http: httpx.Client | None = None,
    ) -> None:  # fmt: skip
        self._db = engine
        self.event_id = event_id
        self._now = now
        self.mailer = mailer
        self.webpush = webpush
        self._http = http or httpx.Client(timeout=WEBHOOK_TIMEOUT_S)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.sent = 0
        self.outage = OutageLog(log, "rules outbox")

    @property
    def kinds(self) -> list[str]:
        kinds = ["webhook", "lead"]
        kinds += ["email", "rep_email"] if self.mailer is not None else []  # without a mailer, emails wait for one
        kinds += ["webpush"] if self.webpush is not None else []
        return kinds

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="rules-outbox", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=15)

    def wake(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(POLL_S)
            self._wake.clear()
            self.step()

    def step(self) -> None:
        """One wake-up: every due row, in batches. A database outage is logged when it starts and ends only."""
        try:
            while self.run_once() == BATCH and not self._stop.is_set():
                pass
        except Exception as exc:
            if is_database_outage(exc):
                self.outage.failed(exc)
            else:
                log.exception("outbox run failed")
            return
        self.outage.ok()

    def run_once(self) -> int:
        """Try every due row once; returns how many were tried."""
        now = self._now()
        with self._db.connect() as conn:
            rows = conn.execute(
                select(ActionOutbox)
                .where(
                    col(ActionOutbox.status) == OutboxStatus.PENDING.value,
                    col(ActionOutbox.kind).in_(self.kinds),
                    col(ActionOutbox.next_attempt_at) <= now,
                )
                .order_by(col(ActionOutbox.next_attempt_at))
                .limit(BATCH)
            ).all()
        for row in rows:
            self._attempt(row._mapping)
        return len(rows)

    def _attempt(self, row: Any) -> None:
        error: str | None = None
        permanent = False
        try:
            getattr(self, f"_send_{row['kind']}")(row)
        except Permanent as exc:
            error, permanent = str(exc), True
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
        now = self._now()
        attempts = row["attempts"] + 1
        values: dict[str, Any] = {"attempts": attempts, "last_error": error[:2000] if error else None}
        if error is None:
            values.update(status=OutboxStatus.SENT.value, done_at=now)
            self.sent += 1
        elif permanent or attempts >= MAX_ATTEMPTS:
            values.update(status=OutboxStatus.DEAD.value, done_at=now)
            log.warning("outbox %s %s given up: %s", row["kind"], row["idempotency_key"], error)
        else:
            values["next_attempt_at"] = now + min(MAX_BACKOFF_S, BACKOFF_S * 2 ** (attempts - 1))
        with self._db.begin() as conn:
            conn.execute(update(ActionOutbox).where(col(ActionOutbox.id) == row["id"]).values(**values))

    # ---- kinds ----------------------------------------------------------------------------------------------
    def _send_webhook(self, row: Any) -> None:
        payload = row["payload"]
        body = {"decision_id": row["decision_id"], "event_id": row["event_id"], "payload": payload.get("payload", {})}
        response = self._http.post(payload["url"], json=body, headers={"Idempotency-Key": row["idempotency_key"]})
        if 400 <= response.status_code < 500 and response.status_code not in (408, 429):
            raise Permanent(f"HTTP {response.status_code}")
        response.raise_for_status()

    def _send_email(self, row: Any) -> None:
        assert self.mailer is not None
        with self._db.connect() as conn:
            email = conn.execute(select(col(Attendee.email)).where(col(Attendee.id) == row["attendee_id"])).scalar()
        if not email:
            raise Permanent("the attendee has no email address")
        payload = row["payload"]
        self.mailer.send(email, str(payload.get("subject", "")), str(payload.get("body", "")))
        with self._db.begin() as conn:
            record_touchpoint(conn, row["event_id"], TouchpointType.NOTIFICATION_SENT, row["attendee_id"], self._now(),
                              {"ref": row["decision_id"], "channel": "email"})  # fmt: skip

    def _send_lead(self, row: Any) -> None:
        """A ``lead`` action: create the exhibitor's lead for the attendee, or raise its rating (never lower it).

        The rule's rating maps onto the 1-5 scale reps use in the booth app: cold 2, warm 3, hot 4 (the booth
        app's "hot" threshold). Contact details are copied only while the attendee shares them (as a capture
        at the booth does); the CRM feed picks the lead up by its ``updated_at``.
        """
        payload = row["payload"]
        exhibitor_id, attendee_id = payload.get("exhibitor_id"), row["attendee_id"]
        if not exhibitor_id or not attendee_id:
            raise Permanent("a lead needs an exhibitor (the rule fired outside any booth) and an attendee")
        rating = LEAD_RATING.get(str(payload.get("rating")), LEAD_RATING["warm"])
        now = self._now()
        with self._db.begin() as conn:
            person = conn.execute(select(Attendee).where(col(Attendee.id) == attendee_id)).first()
            if person is None:
                raise Permanent("the attendee no longer exists")
            values = {
                "event_id": row["event_id"], "exhibitor_id": exhibitor_id, "attendee_id": attendee_id,
                "source": LEAD_SOURCE_RULE, "captured_by": str(row["decision_id"] or "")[:64], "rating": rating,
                "notes": "", "answers": {}, "created_at": now, "updated_at": now, **lead_contact(person),
            }  # fmt: skip
            if not insert_new(conn, LEAD, values, key=["exhibitor_id", "attendee_id"]):
                lower = or_(col(Lead.rating).is_(None), col(Lead.rating) < rating)
                conn.execute(
                    update(Lead)
                    .where(col(Lead.exhibitor_id) == exhibitor_id, col(Lead.attendee_id) == attendee_id, lower)
                    .values(rating=rating, updated_at=now)
                )

    def _send_rep_email(self, row: Any) -> None:
        """A rep alert nobody saw live (no booth app connected): mail it to one booth staff account."""
        assert self.mailer is not None
        payload = row["payload"]
        with self._db.connect() as conn:
            user = conn.execute(
                select(col(ExhibitorUser.email), col(ExhibitorUser.disabled_at)).where(
                    col(ExhibitorUser.id) == payload["exhibitor_user_id"]
                )
            ).first()
            note = conn.execute(select(NOTIFICATION).where(NOTIFICATION.c.id == payload["notification_id"])).first()
        if user is None or user.disabled_at is not None or note is None:
            raise Permanent("the booth account or the alert no longer exists")
        alert = dict(note._mapping)
        data = alert.get("data") or {}
        lines = [alert["body"]] if alert["body"] else []
        if data.get("journey_summary"):
            lines += ["", f"Their day so far: {data['journey_summary']}"]
        lines += ["", "Open the booth app to see the visitor and capture the lead."]
        self.mailer.send(user.email, f"At your booth: {alert['title']}", "\n".join(lines))

    def _send_webpush(self, row: Any) -> None:
        assert self.webpush is not None
        payload = row["payload"]
        with self._db.connect() as conn:
            sub = conn.execute(select(PushSubscription).where(col(PushSubscription.id) == payload["subscription_id"]))
            subscription = sub.first()
            note = conn.execute(select(NOTIFICATION).where(NOTIFICATION.c.id == payload["notification_id"])).first()
        if subscription is None or note is None:
            raise Permanent("subscription or notification no longer exists")
        s = subscription._mapping
        result = self.webpush.send(s["endpoint"], s["p256dh"], s["auth"], notification_message(dict(note._mapping)))
        now = self._now()
        if result.gone:
            with self._db.begin() as conn:
                conn.execute(delete(PushSubscription).where(col(PushSubscription.id) == s["id"]))
            raise Permanent(f"subscription gone (HTTP {result.status}): removed")
        if not result.ok:
            raise RuntimeError(result.error or f"HTTP {result.status}")
        with self._db.begin() as conn:
            used = update(PushSubscription).where(col(PushSubscription.id) == s["id"])
            conn.execute(used.values(last_success_at=now))
            first = conn.execute(
                update(Notification)
                .where(col(Notification.id) == payload["notification_id"], col(Notification.delivered_at).is_(None))
                .values(delivered_at=now)
            )
            if first.rowcount:
                record_touchpoint(conn, row["event_id"], TouchpointType.NOTIFICATION_SENT, row["attendee_id"], now,
                                  {"ref": payload["notification_id"], "channel": "webpush"})  # fmt: skip
