"""Registration rows from CSV or JSON, validated one by one.

A registration export from a ticketing system is large and never perfectly clean. One bad row (a typo in a
consent column, a badge UID with a stray letter) must not stop the other 49,999: every row is validated on
its own and comes out either as a :class:`RegistrationRow` or as a :class:`~server.venue.report.RowError`
with its line and reason. CSV lines count the header as line 1; JSON items count from 1.

    >>> rows = list(parse_registrations_csv("name,email,consent_tracking\\nAda,ada@example.com,yes\\n"))
    >>> rows[0].row.consent_tracking, rows[0].line
    (True, 2)

Columns (all optional except ``name`` and one of ``id``/``email``): id, name, email, company, job_title,
country, role, badge_uid, badge_id, beacon_id, tags, interests, consent_tracking, consent_push,
consent_crm, sessions. Lists are semicolon-separated in CSV. A column absent from the file is left as it
is on re-import; a column present but empty clears the value.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator, model_validator

from edge.protocol import BEACON_ID_PATTERN, ID_PATTERN
from server.store.models import AttendeeRole
from server.venue.report import RowError

# The attendee columns a registration row owns (registered_at records history and is set once).
ATTENDEE_FIELDS = (
    "name",
    "email",
    "company",
    "job_title",
    "country",
    "role",
    "badge_uid",
    "badge_id",
    "beacon_id",
    "tags",
    "interests",
    "consent_tracking",
    "consent_push",
    "consent_crm",
)
FIELDS = ("id", *ATTENDEE_FIELDS, "sessions")
LIST_SEPARATOR = ";"
TRUE_WORDS = frozenset({"true", "yes", "y", "1"})
FALSE_WORDS = frozenset({"false", "no", "n", "0", ""})
UID_RE = re.compile(r"^(?:[0-9a-f]{2}){4,10}$")  # as the edge reports it: lowercase hex, 4-10 bytes
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
DERIVED_ID_PREFIX = "reg-"


def derived_id(email: str) -> str:
    """A stable attendee id from an email: the same person gets the same id on every import.

    A hash, not the address itself: ids travel in touchpoints, logs and MQTT-adjacent tooling, emails should
    not. 80 bits make a collision between two attendees practically impossible.
    """
    return DERIVED_ID_PREFIX + hashlib.sha256(email.strip().lower().encode()).hexdigest()[:20]


def _blank_to_none(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def _as_list(value: Any) -> Any:
    """``"ai; cloud"`` or ``["ai", "cloud"]`` -> ``["ai", "cloud"]``: trimmed, blanks and repeats dropped."""
    if value is None:
        return []
    items = value.split(LIST_SEPARATOR) if isinstance(value, str) else value
    if not isinstance(items, list):
        raise ValueError("a list (semicolon-separated in CSV)")
    out: list[str] = []
    for item in items:
        text = str(item).strip()
        if text and text not in out:
            out.append(text)
    return out


def _as_bool(value: Any) -> Any:
    if value is None or isinstance(value, bool):
        return bool(value)
    word = str(value).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(f"{value!r} is not a yes/no value (true/false, yes/no, 1/0)")


Text = Annotated[Annotated[str, Field(max_length=320)] | None, BeforeValidator(_blank_to_none)]
Labels = Annotated[list[Annotated[str, Field(max_length=64)]], BeforeValidator(_as_list), Field(max_length=100)]
Consent = Annotated[bool, BeforeValidator(_as_bool)]


class RegistrationRow(BaseModel):
    """One attendee's registration. ``model_fields_set`` remembers which columns the file had."""

    model_config = ConfigDict(extra="ignore")

    id: Annotated[str, BeforeValidator(_blank_to_none), Field(pattern=ID_PATTERN)]
    name: Annotated[str, BeforeValidator(_blank_to_none), Field(min_length=1, max_length=200)]
    email: Text = None
    company: Text = None
    job_title: Text = None
    country: Text = None
    role: AttendeeRole = AttendeeRole.ATTENDEE
    badge_uid: Text = None
    badge_id: Annotated[Annotated[str, Field(max_length=128)] | None, BeforeValidator(_blank_to_none)] = None
    beacon_id: Text = None
    tags: Labels = Field(default_factory=list)
    interests: Labels = Field(default_factory=list)
    consent_tracking: Consent = False
    consent_push: Consent = False
    consent_crm: Consent = False
    sessions: Labels = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _id_from_email(cls, data: Any) -> Any:
        if isinstance(data, dict) and not _blank_to_none(data.get("id")):
            email = _blank_to_none(data.get("email"))
            if not isinstance(email, str):
                raise ValueError("needs an id or an email")
            data = {**data, "id": derived_id(email)}
        return data

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and not EMAIL_RE.match(value):
            raise ValueError(f"{value!r} is not an email address")
        return value

    @field_validator("country")
    @classmethod
    def _country(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[A-Za-z]{2}", value):
            raise ValueError(f"{value!r} is not an ISO 3166 two-letter country code")
        return value.upper() if value else value

    @field_validator("role", mode="before")
    @classmethod
    def _role(cls, value: Any) -> Any:
        value = _blank_to_none(value)
        return AttendeeRole.ATTENDEE if value is None else str(value).lower()

    @field_validator("badge_uid")
    @classmethod
    def _uid(cls, value: str | None) -> str | None:
        """Readers print UIDs as ``04:A1:B2...``; the edge reports ``04a1b2...``: store what the edge sends."""
        if value is None:
            return None
        canonical = re.sub(r"[\s:-]", "", value).lower()
        if not UID_RE.match(canonical):
            raise ValueError(f"{value!r} is not an NFC UID (4 to 10 bytes of hex)")
        return canonical

    @field_validator("beacon_id")
    @classmethod
    def _beacon(cls, value: str | None) -> str | None:
        if value is None:
            return None
        canonical = value if value.startswith("url:") else value.lower()
        if not re.match(BEACON_ID_PATTERN, canonical):
            raise ValueError(f"{value!r} is not a beacon id (e.g. ibeacon:<uuid>:<major>:<minor>)")
        return canonical

    @field_validator("sessions")
    @classmethod
    def _session_ids(cls, value: list[str]) -> list[str]:
        for session_id in value:
            if not re.match(ID_PATTERN, session_id):
                raise ValueError(f"{session_id!r} is not a session id")
        return value


@dataclass(frozen=True, slots=True)
class ParsedRow:
    """A validated row, or why it is not one."""

    line: int
    row: RegistrationRow | None = None
    error: str | None = None

    @property
    def as_error(self) -> RowError:
        return RowError(self.line, self.error or "")


class RegistrationFileError(ValueError):
    """The file as a whole is unusable (no header, no name column...): no row can be read."""


def validate_row(line: int, data: Mapping[str, Any]) -> ParsedRow:
    try:
        return ParsedRow(line, row=RegistrationRow.model_validate(dict(data)))
    except ValidationError as exc:
        return ParsedRow(line, error=_reason(exc))


def _reason(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_url=False):
        message = str(err["msg"]).removeprefix("Value error, ")
        field = ".".join(str(p) for p in err["loc"])
        if err["type"] == "missing" or (err["type"] == "string_type" and err.get("input") is None):
            message = "is missing"
        elif err["type"] == "enum" and field == "role":
            message = "must be one of " + ", ".join(r.value for r in AttendeeRole)
        parts.append(f"{field}: {message}" if field else message)
    return "; ".join(parts)


def check_columns(columns: list[str]) -> list[str]:
    """Warnings for unknown columns; :class:`RegistrationFileError` when required ones are missing."""
    if "name" not in columns:
        raise RegistrationFileError("line 1: no 'name' column (the header must name the columns)")
    if "id" not in columns and "email" not in columns:
        raise RegistrationFileError("line 1: needs an 'id' or an 'email' column to identify attendees")
    return [f"column {c!r} is not a registration field: ignored" for c in columns if c not in FIELDS]


def parse_registrations_csv(text: str, warnings: list[str] | None = None) -> Iterator[ParsedRow]:
    """Rows of a CSV with a header line (comma or semicolon delimited, sniffed); see the module doc."""
    text = text.removeprefix("\ufeff")  # spreadsheet exports often start with a byte-order mark
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise RegistrationFileError("the file is empty") from None
    found = check_columns(header)
    if warnings is not None:
        warnings.extend(found)
    while True:
        line = reader.line_num + 1  # where the next record starts (a quoted field may span lines)
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield ParsedRow(line, error=f"unreadable CSV: {exc}")
            continue
        if not any(c.strip() for c in cells):
            continue  # blank lines are not rows
        if len(cells) > len(header):
            yield ParsedRow(line, error=f"{len(cells)} cells but the header has {len(header)} columns")
            continue
        cells += [""] * (len(header) - len(cells))  # a short row's missing cells are empty, not absent
        yield validate_row(line, dict(zip(header, cells, strict=True)))


def parse_registrations_json(data: Any, warnings: list[str] | None = None) -> Iterator[ParsedRow]:
    """Rows of ``[{...}, ...]`` or ``{"registrations": [{...}, ...]}``; an item's line is its 1-based index."""
    items = data.get("registrations") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise RegistrationFileError('expected a list of registrations, or {"registrations": [...]}')
    unknown: set[str] = set()
    for index, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            yield ParsedRow(index, error="not an object")
            continue
        unknown.update(k for k in item if k not in FIELDS)
        yield validate_row(index, item)
    if warnings is not None:
        warnings.extend(f"field {k!r} is not a registration field: ignored" for k in sorted(unknown))
