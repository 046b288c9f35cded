"""The venue file: one document describing an event's floor plan, exhibitors, agenda and edge devices.

Organizers keep the venue in a file under version control (YAML or JSON, see ``docs/venue.md``) and load it
with ``touchpoints import venue FILE`` or ``PUT /api/v1/venue``. These models are that file's schema and
nothing more: they check what one document can check on its own (ids, shapes, times, duplicates); whether
a session's zone exists and is a room is the importer's job, because the zone may already be in the store.

Times are ISO 8601 with a UTC offset (``2026-06-10T09:00:00+02:00``) or Unix seconds; both become Unix
seconds, the unit of the store. A time without an offset is refused: "09:00" in which city?

    >>> load_venue("event: {id: demo, name: Demo, starts_at: 1780000000, ends_at: 1780030000}").event.id
    'demo'
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    FieldSerializationInfo,
    PlainSerializer,
    ValidationError,
    field_validator,
    model_validator,
)

from edge.protocol import ID_PATTERN
from server.domain.model import ZoneKind

VENUE_FORMAT_VERSION = 1
# Times before 2020 or after 2100 are a unit mistake (milliseconds, or a date typed wrong), never an event.
EARLIEST_S = 1_577_836_800.0
LATEST_S = 4_102_444_800.0

Path = tuple[str | int, ...]


def format_path(path: Sequence[str | int]) -> str:
    """``("sessions", 3, "zone_id")`` -> ``sessions[3].zone_id``: the spelling organizers see in errors."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


class VenueError(ValueError):
    """A venue document that cannot be imported; ``problems`` lists every ``(path, message)`` found."""

    def __init__(self, problems: Sequence[tuple[Path, str]]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(self.messages))

    @property
    def messages(self) -> list[str]:
        return [f"{format_path(path)}: {message}" if path else message for path, message in self.problems]

    @classmethod
    def from_validation(cls, exc: ValidationError, prefix: Path = ()) -> VenueError:
        problems = []
        for err in exc.errors(include_url=False):
            message = str(err["msg"]).removeprefix("Value error, ")
            problems.append(((*prefix, *err["loc"]), message))
        return cls(problems)


def _to_unix(value: Any) -> Any:
    """ISO 8601 with an offset, or Unix seconds (number or numeric string), to Unix seconds."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, bool):
        raise ValueError("a time: ISO 8601 with an offset, or Unix seconds")
    elif isinstance(value, int | float):
        return _in_range(float(value))
    elif isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"\d+(\.\d*)?", text):
            return _in_range(float(text))
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            raise ValueError(f"not an ISO 8601 time: {value!r}") from None
    else:
        raise ValueError("a time: ISO 8601 with an offset, or Unix seconds")
    if parsed.tzinfo is None:
        raise ValueError(f"{value!s} has no UTC offset: write e.g. 2026-06-10T09:00:00+02:00 or ...Z")
    return _in_range(parsed.timestamp())


def _in_range(seconds: float) -> float:
    if not EARLIEST_S <= seconds <= LATEST_S:
        raise ValueError(f"{seconds:g} is not a time between 2020 and 2100 (Unix seconds, not milliseconds)")
    return seconds


def _iso_or_unix(value: float, info: FieldSerializationInfo) -> str | float:
    """Documents (context ``{"timezone": "Europe/Berlin"}``) show local ISO times; elsewhere Unix seconds."""
    context = info.context if isinstance(info.context, dict) else {}
    tz_name = context.get("timezone")
    if tz_name is None:
        return value
    moment = datetime.fromtimestamp(value, ZoneInfo(tz_name) if tz_name != "UTC" else UTC)
    return moment.isoformat(timespec="seconds" if value == math.floor(value) else "microseconds").replace("+00:00", "Z")


Instant = Annotated[
    float,
    BeforeValidator(_to_unix),
    Field(description="ISO 8601 with a UTC offset, or Unix seconds"),
    PlainSerializer(_iso_or_unix, return_type=str | float, when_used="always"),
]
Id = Annotated[str, Field(pattern=ID_PATTERN, description="1-64 of A-Z a-z 0-9 _ . : - (starts with a letter/digit)")]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Metres = Annotated[float, Field(ge=0, le=100_000, description="metres from the floor plan's top-left corner")]
Labels = Annotated[list[Annotated[str, Field(min_length=1, max_length=64)]], Field(max_length=100)]


class _Strict(BaseModel):
    # A misspelt key ("capacty") would silently become a default: refuse it instead.
    model_config = ConfigDict(extra="forbid")


def known_time_zone(value: str) -> str:
    """An IANA zone name, or a ValueError that says what is expected (event files and the event API)."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r} (use an IANA name such as Europe/Berlin)") from None
    return value


def ordered_times(starts_at: float, ends_at: float) -> None:
    if ends_at <= starts_at:
        raise ValueError("ends_at must be after starts_at")


class EventSpec(_Strict):
    id: Id
    name: Name
    timezone: str = Field(default="UTC", max_length=64, description="IANA zone, e.g. Europe/Berlin")
    starts_at: Instant
    ends_at: Instant

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return known_time_zone(value)

    @model_validator(mode="after")
    def _ordered(self) -> EventSpec:
        ordered_times(self.starts_at, self.ends_at)
        return self


class ExhibitorFields(_Strict):
    name: Name
    interests: Labels = Field(default_factory=list, description="topics, matched against attendees' interests")


class ExhibitorSpec(ExhibitorFields):
    id: Id


class ZoneFields(_Strict):
    name: Name
    kind: ZoneKind
    x: Metres
    y: Metres
    width: Annotated[float, Field(gt=0, le=100_000)]
    height: Annotated[float, Field(gt=0, le=100_000)]
    floor: int = Field(default=0, ge=-10, le=200)
    capacity: int | None = Field(default=None, ge=0, le=1_000_000)
    exhibitor_id: Id | None = Field(default=None, description="the exhibitor owning this booth (booths only)")


class ZoneSpec(ZoneFields):
    id: Id


class SessionFields(_Strict):
    title: Name
    zone_id: Id = Field(description="the room the session is held in")
    starts_at: Instant
    ends_at: Instant
    tags: Labels = Field(default_factory=list)

    @model_validator(mode="after")
    def _ordered(self) -> SessionFields:
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


class SessionSpec(SessionFields):
    id: Id


class DeviceSpec(_Strict):
    """Only what an organizer plans; credentials and state belong to enrolment and ingest."""

    id: Id
    name: str = Field(default="", max_length=200)
    zone_id: Id | None = None
    x: Metres | None = None
    y: Metres | None = None
    # The same bounds as the devices API: beyond +-30 dB the radio is broken, not miscalibrated.
    rssi_offset_db: float = Field(default=0.0, ge=-30, le=30)


class Venue(_Strict):
    """A whole venue document. Every list is optional: a file may carry only the agenda, say."""

    version: int = Field(default=VENUE_FORMAT_VERSION, ge=1, le=VENUE_FORMAT_VERSION)
    event: EventSpec | None = Field(default=None, description="required unless the event is already stored")
    exhibitors: list[ExhibitorSpec] = Field(default_factory=list)
    zones: list[ZoneSpec] = Field(default_factory=list)
    sessions: list[SessionSpec] = Field(default_factory=list)
    devices: list[DeviceSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_ids(self) -> Venue:
        problems: list[tuple[Path, str]] = []
        for section in ("exhibitors", "zones", "sessions", "devices"):
            first: dict[str, int] = {}
            for i, item in enumerate(getattr(self, section)):
                if item.id in first:
                    message = f"duplicate id {item.id!r} (first at {section}[{first[item.id]}])"
                    problems.append(((section, i, "id"), message))
                first.setdefault(item.id, i)
        if problems:
            raise VenueError(problems)
        return self

    def to_document(self) -> dict[str, Any]:
        """Plain data for YAML/JSON, times in the event's own time zone (UTC without an event)."""
        timezone = self.event.timezone if self.event else "UTC"
        document = self.model_dump(mode="json", context={"timezone": timezone}, exclude_none=True)
        for section in ("exhibitors", "zones", "sessions", "devices"):  # the id first, as people write it
            document[section] = [{"id": item.pop("id"), **item} for item in document[section]]
        return document


def parse_venue(data: Any) -> Venue:
    """Validate plain data (parsed YAML/JSON) into a :class:`Venue`, or raise :class:`VenueError` with paths."""
    if not isinstance(data, dict):
        raise VenueError([((), "a venue file is a mapping with event, exhibitors, zones, sessions, devices")])
    try:
        return Venue.model_validate(data)
    except ValidationError as exc:
        nested = _nested_venue_error(exc)
        raise nested or VenueError.from_validation(exc) from None


def _nested_venue_error(exc: ValidationError) -> VenueError | None:
    """The duplicate-id check raises VenueError inside pydantic: recover its paths instead of one flat string."""
    for err in exc.errors(include_url=False):
        cause = (err.get("ctx") or {}).get("error")
        if isinstance(cause, VenueError):
            return cause
    return None


def load_venue(text: str, filename: str = "venue.yaml") -> Venue:
    """Parse a venue file's text: JSON when the name ends in ``.json``, else YAML (a superset of JSON)."""
    try:
        if filename.endswith(".json"):
            data = json.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
    except (ValueError, ImportError) as exc:
        raise VenueError([((), f"{filename} is not valid JSON: {exc}")]) from None
    except Exception as exc:  # yaml.YAMLError, imported lazily
        raise VenueError([((), f"{filename} is not valid YAML: {exc}")]) from None
    return parse_venue(data)


def dump_venue(venue: Venue, filename: str = "venue.yaml") -> str:
    """The document as YAML (or JSON for ``.json``), keys in schema order so diffs stay small."""
    document = venue.to_document()
    if filename.endswith(".json"):
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    import yaml

    return str(yaml.safe_dump(document, sort_keys=False, allow_unicode=True))
