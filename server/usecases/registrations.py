"""Import registrations (attendees, their badges and the sessions they signed up for) into the store.

Idempotent by design: each row is compared with the stored attendee and written only where it differs, so
importing the same export twice reports every row ``unchanged`` the second time, and importing a newer
export updates just the people whose data changed. Rows are checked one by one (see
:mod:`server.venue.registration_rows`) and then against the file and the store:

- a badge (``badge_uid``, ``badge_id``, ``beacon_id``) may belong to one attendee only: a later row
  reusing a badge from an earlier row, or one held by another stored attendee, is refused;
- an id appearing twice is refused the second time (a derived id means: the same email twice);
- ``sessions`` must name sessions of the event. Session registrations are only ever added: a session
  bookmarked in the event app must survive the next import of the ticketing export.

A consent the file changes for a stored attendee (``consent_tracking``, ``consent_push``, ``consent_crm``)
takes effect as the attendee's own change in the app does, through the same functions
(server/usecases/consent.py): withdrawing ``consent_crm`` clears the contact of their leads and redacts their
Lead in Salesforce, in the batch's transaction; withdrawing ``consent_tracking`` makes live presence forget
them once the batch is committed (given ``publish``: the running server's; the CLI has none, and a running
server then sees the change when its directory reloads). A long import announces batch by batch, so a
withdrawal takes effect minutes before the file is done.

Large files are written in batches (:data:`BATCH_ROWS` per transaction), so memory stays flat and a
failure costs at most one batch, which is then retried row by row so that the good rows still land.

    >>> report = import_registrations(engine, "demo", parse_registrations_csv(text))  # doctest: +SKIP
    >>> report.created, report.errors  # doctest: +SKIP
    (49998, [RowError(line=17, reason="country: 'Germany' is not ...")])
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from sqlalchemy import Engine, insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from server.crm.outbox import enqueue_crm_change
from server.store.app_models import ConsentRecord
from server.store.models import AgendaSession, Attendee, AttendeeRole, Event, SessionRegistration
from server.usecases.changes import Change
from server.usecases.consent import ON_ATTENDEE, announce, consent_changed
from server.venue.registration_rows import (
    ATTENDEE_FIELDS,
    ParsedRow,
    RegistrationFileError,
    RegistrationRow,
    parse_registrations_csv,
    parse_registrations_json,
)
from server.venue.report import ImportReport, RowError

__all__ = [
    "BATCH_ROWS",
    "RegistrationFileError",
    "import_registrations",
    "parse_registrations_csv",
    "parse_registrations_json",
]

# Rows per transaction: large enough that commits do not dominate (about 1 ms each on SQLite, more on a
# remote PostgreSQL), small enough that a refused batch retried row by row stays quick.
BATCH_ROWS = 1000
IN_CHUNK = 500  # ids per `IN (...)`: well under SQLite's bound-parameter limit
BADGE_FIELDS = ("badge_uid", "badge_id", "beacon_id")

# Every column of a new attendee row, for the bulk INSERT (the model's defaults, spelled out).
NEW_ATTENDEE: dict[str, Any] = {
    "email": None,
    "company": None,
    "job_title": None,
    "country": None,
    "role": AttendeeRole.ATTENDEE.value,
    "badge_uid": None,
    "badge_id": None,
    "beacon_id": None,
    "tags": [],
    "interests": [],
    "consent_tracking": False,
    "consent_push": False,
    "consent_crm": False,
}

Progress = Callable[[int], None]  # called with the number of rows processed so far, after each batch
ConsentChanges = dict[str, dict[str, bool]]  # attendee id -> purpose -> granted, as server/usecases/consent.py has them
Publish = Callable[[list[Change]], None]  # the running server's Runtime.publish


def import_registrations(
    engine: Engine,
    event_id: str,
    rows: Iterable[ParsedRow],
    *,
    progress: Progress | None = None,
    now: float | None = None,
    warnings: Sequence[str] = (),
    batch_rows: int = BATCH_ROWS,
    publish: Publish | None = None,
) -> ImportReport:
    """Write ``rows`` for ``event_id``; returns counts and the refused rows. Raises LookupError without the event.

    ``publish``: the running server's, told of each committed batch's consent changes (live presence).
    """
    now = time.time() if now is None else now
    report = ImportReport(warnings=list(warnings))
    checks = _Checks.load(engine, event_id)
    processed = 0
    for batch in _batched(iter(rows), batch_rows):
        accepted: list[tuple[int, RegistrationRow]] = []
        for parsed in batch:
            reason = parsed.error if parsed.row is None else checks.admit(parsed.line, parsed.row)
            if reason is None and parsed.row is not None:
                accepted.append((parsed.line, parsed.row))
            else:
                report.errors.append(RowError(parsed.line, reason or "invalid row"))
        _write_batch(engine, event_id, accepted, report, now, publish)
        processed += len(batch)
        if progress is not None:
            progress(processed)
    report.errors.sort(key=lambda e: e.line)
    return report


@dataclass
class _Checks:
    """What rows are checked against: the store's badges and ids, and the rows admitted so far."""

    event_id: str
    session_ids: set[str]
    owner_event: dict[str, str]  # attendee id -> event id, every event (ids are global keys)
    holder: dict[tuple[str, str], str]  # (badge field, value) -> attendee id holding it now
    badges_of: dict[str, dict[str, str]]  # attendee id -> {badge field: value}
    line_of_id: dict[str, int] = field(default_factory=dict)
    line_of_badge: dict[tuple[str, str], int] = field(default_factory=dict)

    @classmethod
    def load(cls, engine: Engine, event_id: str) -> _Checks:
        with Session(engine) as session:
            if session.get(Event, event_id) is None:
                raise LookupError(f"event {event_id!r} is not set up yet: import the venue first")
            session_query = select(col(AgendaSession.id)).where(AgendaSession.event_id == event_id)
            session_ids = set(session.exec(session_query))
            columns = (col(Attendee.id), col(Attendee.event_id), *(col(getattr(Attendee, f)) for f in BADGE_FIELDS))
            checks = cls(event_id, session_ids, {}, {}, {})
            for attendee_id, owner, *badges in session.exec(select(*columns)):
                checks.owner_event[attendee_id] = owner
                held = {f: v for f, v in zip(BADGE_FIELDS, badges, strict=True) if v is not None}
                checks.badges_of[attendee_id] = held
                checks.holder.update({(f, v): attendee_id for f, v in held.items()})
        return checks

    def admit(self, line: int, row: RegistrationRow) -> str | None:
        """None when ``row`` may be written (and then it is remembered), else the reason it may not."""
        if row.id in self.line_of_id:
            return f"attendee {row.id!r} already appeared on line {self.line_of_id[row.id]}"
        owner = self.owner_event.get(row.id, self.event_id)
        if owner != self.event_id:
            return f"id {row.id!r} belongs to an attendee of event {owner!r}"
        wanted = {f: getattr(row, f) for f in BADGE_FIELDS if f in row.model_fields_set}
        for name, value in wanted.items():
            if value is None:
                continue
            key = (name, value)
            if key in self.line_of_badge:
                return f"{name} {value!r} is already used by line {self.line_of_badge[key]}"
            holder = self.holder.get(key)
            if holder is not None and holder != row.id:
                return f"{name} {value!r} belongs to attendee {holder!r}"
        unknown = [s for s in row.sessions if s not in self.session_ids]
        if unknown:
            return "unknown session " + ", ".join(repr(s) for s in unknown)
        self.line_of_id[row.id] = line
        held = self.badges_of.setdefault(row.id, {})
        for name, value in wanted.items():
            if name in held:
                self.holder.pop((name, held.pop(name)), None)
            if value is not None:
                held[name] = value
                self.holder[(name, value)] = row.id
                self.line_of_badge[(name, value)] = line
        self.owner_event[row.id] = self.event_id
        return None


def _write_batch(engine: Engine, event_id: str, rows: list[tuple[int, RegistrationRow]], report: ImportReport,
                 now: float, publish: Publish | None) -> None:  # fmt: skip
    """One transaction for the batch; if the database refuses it, each row on its own (good rows still land)."""
    if not rows:
        return
    try:
        outcomes, consents = _write(engine, event_id, [row for _, row in rows], now)
    except IntegrityError as exc:
        if len(rows) == 1:
            report.errors.append(RowError(rows[0][0], f"the database refused the row: {_first_line(exc)}"))
            return
        for single in rows:
            _write_batch(engine, event_id, [single], report, now, publish)
        return
    for outcome in outcomes:
        report.count("attendees", outcome)
    if publish is not None and consents:
        publish(announce(consents))


def _write(engine: Engine, event_id: str, rows: list[RegistrationRow], now: float) -> tuple[list[str], ConsentChanges]:
    """The batch in one transaction: each row's outcome, and the consents it changed for stored attendees."""
    ids = [row.id for row in rows]
    with Session(engine) as session:
        stored: dict[str, Attendee] = {}
        registered: set[tuple[str, str]] = set()
        for chunk in _chunks(ids, IN_CHUNK):
            stored.update({a.id: a for a in session.exec(select(Attendee).where(col(Attendee.id).in_(chunk)))})
            reg_query = select(col(SessionRegistration.attendee_id), col(SessionRegistration.session_id)).where(
                col(SessionRegistration.attendee_id).in_(chunk)
            )
            registered.update((a, s) for a, s in session.exec(reg_query))
        outcomes: list[str] = []
        new_attendees: list[dict[str, Any]] = []
        new_registrations: list[dict[str, Any]] = []
        consents: list[dict[str, Any]] = []  # the consent audit trail: what the registration said, and when
        consent_changes: ConsentChanges = {}
        for row in rows:
            values = _attendee_values(row)
            current = stored.get(row.id)
            if current is None:
                new_attendees.append({**NEW_ATTENDEE, **values, "id": row.id, "event_id": event_id,
                                      "registered_at": now})  # fmt: skip
                outcome = "created"
                consents += _consent_records(row.id, values, now)
            else:
                changed = {k: v for k, v in values.items() if getattr(current, k) != v}
                consents += _consent_records(row.id, changed, now)
                releases_badge = any(k in BADGE_FIELDS and getattr(current, k) is not None for k in changed)
                for name, value in changed.items():
                    setattr(current, name, value)
                changed_consent = {CONSENT_PURPOSES[k]: bool(v) for k, v in changed.items() if k in CONSENT_PURPOSES}
                if changed_consent:  # as if the attendee had changed it in the app: same effects
                    consent_changed(session, current, changed_consent, now)
                    consent_changes[row.id] = changed_consent
                outcome = "updated" if changed else "unchanged"
                if releases_badge:
                    session.flush()  # free the old badge before a later row of this batch takes it
            for session_id in row.sessions:
                if (row.id, session_id) not in registered:
                    registered.add((row.id, session_id))
                    new_registrations.append({"attendee_id": row.id, "session_id": session_id, "registered_at": now})
                    outcome = "updated" if outcome == "unchanged" else outcome
            outcomes.append(outcome)
        session.flush()
        # New rows go in as plain executemany INSERTs: building ORM objects cost half the import time.
        # Attendees first: their registrations refer to them.
        if new_attendees:
            session.execute(insert(Attendee), new_attendees)
        if new_registrations:
            session.execute(insert(SessionRegistration), new_registrations)
        if consents:
            session.execute(insert(ConsentRecord), consents)
        changed_ids = [row.id for row, outcome in zip(rows, outcomes, strict=True) if outcome != "unchanged"]
        enqueue_crm_change(session, changed_ids, reason="registration", now=now)  # same transaction: docs/salesforce.md
        session.commit()
    return outcomes, consent_changes


CONSENT_PURPOSES = {column: purpose for purpose, column in ON_ATTENDEE.items()}  # registration column -> purpose


def _consent_records(attendee_id: str, values: dict[str, Any], now: float) -> list[dict[str, Any]]:
    return [
        {
            "attendee_id": attendee_id,
            "purpose": purpose,
            "granted": bool(values[column]),
            "at": now,
            "source": "registration",
        }
        for column, purpose in CONSENT_PURPOSES.items()
        if column in values
    ]


def _attendee_values(row: RegistrationRow) -> dict[str, Any]:
    """The columns this row sets: only those the file has (an absent column keeps the stored value)."""
    values = {name: getattr(row, name) for name in ATTENDEE_FIELDS if name in row.model_fields_set}
    if "role" in values:
        values["role"] = AttendeeRole(values["role"]).value
    return values


def _batched(rows: Iterator[ParsedRow], size: int) -> Iterator[list[ParsedRow]]:
    while batch := list(islice(rows, size)):
        yield batch


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _first_line(exc: IntegrityError) -> str:
    return str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc)
