"""An attendee's journey: one ordered timeline of everything they did, their stage on the journey map, and a
one-line summary for people (CRM notes, rep alerts).

Pure: the caller passes one attendee's taps, visits and attendances, plus the venue; ``now`` and the time zone
used for "days" and clock times are parameters. Reading the stage model's file is an adapter's job
(:mod:`server.config.load`): :func:`parse_stage_model` takes the parsed mapping.

The journey map is data (``server/config/defaults/stages.yaml``): ordered stages, each with an entry
condition in a deliberately small language, so organisers can change the map without code and a new map
re-stages everybody consistently.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal
from typing import Any

from server.domain.checkin import is_check_in_zone
from server.domain.model import (
    AgendaSession,
    Attendance,
    JourneyEntry,
    JourneyKind,
    Tap,
    Visit,
    Zone,
    ZoneKind,
)

# Entries at the same instant sort in this order (then by input order): the arrival before what it enabled,
# a notification's sending before its opening, the conversion after the touchpoints that led to it.
KIND_ORDER: tuple[JourneyKind, ...] = (
    JourneyKind.REGISTRATION,
    JourneyKind.CHECK_IN,
    JourneyKind.TAP,
    JourneyKind.ZONE_VISIT,
    JourneyKind.BOOTH_VISIT,
    JourneyKind.SESSION_ATTENDED,
    JourneyKind.NOTIFICATION_SENT,
    JourneyKind.NOTIFICATION_OPENED,
    JourneyKind.APP_ACTION,
    JourneyKind.LEAD_SCAN,
    JourneyKind.MEETING,
)
_RANK = {kind: i for i, kind in enumerate(KIND_ORDER)}
SUMMARY_TOP_N = 3  # a CRM note or rep alert is read at a glance: name the three biggest, count the rest


def build_journey(
    *,
    registered_at: float | None,
    taps: Iterable[Tap],
    visits: Iterable[Visit],
    attendances: Iterable[Attendance],
    zones: Iterable[Zone],
    sessions: Iterable[AgendaSession],
    other: Iterable[JourneyEntry] = (),
    tap_zone: Mapping[str, str | None] | None = None,
    now: float | None = None,
    tz: tzinfo = UTC,
) -> list[JourneyEntry]:
    """One attendee's timeline across every touchpoint type, ordered by time (ties: :data:`KIND_ORDER`, then
    input order, so the same inputs always give the same list).

    * ``registration`` at ``registered_at``;
    * ``check_in``: the first arrival of each day (in ``tz``), the earlier of a tap at a reader in a check-in
      zone and a visit to one (:mod:`server.domain.checkin`: the entrances); ``details["by"]`` says which;
    * ``tap`` for every tap (``ref`` = reader, ``zone_id`` from ``tap_zone``);
    * ``session_attended`` per attendance, stamped at the session's start so sessions sort by the agenda
      (``ref`` session id, ``dwell_s`` present seconds, ``details`` title, share, tags, by_tap);
    * ``booth_visit`` for visits to booths (``ref`` the exhibitor) and ``zone_visit`` for other zones. A room
      visit that overlaps a session the attendee attended there is already told by ``session_attended``
      and is left out; a room visit between sessions stays as a ``zone_visit``;
    * ``other``: entries from other subsystems (lead scans, meetings, app actions, notifications) as given.

    Open visits get their dwell up to ``now`` (``None`` without ``now``) and ``details["open"] = True``.

    Example: registered Monday, entrance tap Tuesday 09:12, booth b1 09:20-09:32 -> [registration,
    check_in 09:12 (by tap), tap 09:12, booth_visit 09:20 (dwell 720 s, ref = b1's exhibitor)].
    """
    zone_by_id = {z.id: z for z in zones}
    session_by_id = {s.id: s for s in sessions}
    readers = tap_zone or {}
    entries: list[JourneyEntry] = []
    if registered_at is not None:
        entries.append(JourneyEntry(registered_at, JourneyKind.REGISTRATION))

    arrivals: list[tuple[float, str, str]] = []  # (at, zone, "tap" | "visit")
    for tap in taps:
        zone_id = readers.get(tap.device_id)
        entries.append(JourneyEntry(tap.at, JourneyKind.TAP, zone_id=zone_id, ref=tap.device_id))
        if zone_id is not None and is_check_in_zone(_kind_of(zone_by_id, zone_id)):
            arrivals.append((tap.at, zone_id, "tap"))

    attended_spans: dict[str, list[tuple[float, float]]] = defaultdict(list)  # room -> attended sessions
    for attendance in attendances:
        session = session_by_id.get(attendance.session_id)
        if session is None:
            continue
        attended_spans[session.zone_id].append((session.starts_at, session.ends_at))
        entries.append(
            JourneyEntry(
                session.starts_at,
                JourneyKind.SESSION_ATTENDED,
                zone_id=session.zone_id,
                dwell_s=attendance.present_s,
                ref=session.id,
                details={
                    "title": session.title,
                    "share": attendance.share,
                    "tags": list(session.tags),
                    "by_tap": attendance.checked_in_by_tap,
                },
            )
        )

    for visit in visits:
        kind = _kind_of(zone_by_id, visit.zone_id)
        end = visit.ended_at if visit.ended_at is not None else now
        dwell = visit.dwell_s(now) if end is not None else None
        details: dict[str, object] = {"open": True} if visit.ended_at is None else {}
        if is_check_in_zone(kind):
            arrivals.append((visit.started_at, visit.zone_id, "visit"))
        if kind is ZoneKind.BOOTH:
            exhibitor = zone_by_id[visit.zone_id].exhibitor_id
            entries.append(
                JourneyEntry(visit.started_at, JourneyKind.BOOTH_VISIT, visit.zone_id, dwell, exhibitor, details)
            )
            continue
        if kind is ZoneKind.ROOM and _overlaps_any(visit.started_at, end, attended_spans[visit.zone_id]):
            continue
        details["zone_kind"] = kind.value if kind is not None else None
        entries.append(JourneyEntry(visit.started_at, JourneyKind.ZONE_VISIT, visit.zone_id, dwell, None, details))

    first_per_day: dict[date, tuple[float, str, str]] = {}
    for arrival in sorted(arrivals):
        first_per_day.setdefault(_day(arrival[0], tz), arrival)
    for at, zone_id, by in first_per_day.values():
        entries.append(JourneyEntry(at, JourneyKind.CHECK_IN, zone_id=zone_id, details={"by": by}))

    entries.extend(other)
    return order_entries(entries)


def order_entries(entries: Iterable[JourneyEntry]) -> list[JourneyEntry]:
    """Time order, ties by :data:`KIND_ORDER`, remaining ties in input order (``sorted`` is stable)."""
    return sorted(entries, key=lambda e: (e.at, _RANK.get(e.kind, len(_RANK))))


# --- the journey map ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Stage:
    name: str
    label: str
    when: Mapping[str, Any] | None  # None: always holds (the map's starting stage)


@dataclass(frozen=True, slots=True)
class StageModel:
    """Ordered stages of the journey map; see :func:`condition_holds` for the condition language."""

    version: str
    stages: tuple[Stage, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.stages)


def parse_stage_model(data: Mapping[str, Any]) -> StageModel:
    """Validate a stage model read from YAML/JSON; errors name the stage, so a typo fails at load, not later."""
    raw_stages = data.get("stages")
    if not isinstance(raw_stages, list) or not raw_stages:
        raise ValueError("stage model: 'stages' must be a non-empty list")
    stages: list[Stage] = []
    for i, raw in enumerate(raw_stages):
        if not isinstance(raw, Mapping) or not isinstance(raw.get("name"), str):
            raise ValueError(f"stage model: stage {i} needs a 'name'")
        unknown = set(raw) - {"name", "label", "when"}
        if unknown:
            raise ValueError(f"stage model: stage {raw['name']!r} has unknown keys {sorted(unknown)}")
        when = raw.get("when")
        if when is not None:
            _check_condition(when, f"stage {raw['name']!r}")
        stages.append(Stage(raw["name"], str(raw.get("label", raw["name"].capitalize())), when))
    names = [s.name for s in stages]
    if len(set(names)) != len(names):
        raise ValueError(f"stage model: duplicate stage names in {names}")
    return StageModel(version=str(data.get("version", "unversioned")), stages=tuple(stages))


def stage_of(entries: Sequence[JourneyEntry], score: float | Decimal | None, model: StageModel) -> str:
    """The furthest stage whose condition holds; the first stage when none does.

    Furthest, not "first gap": a badge scanned at a booth is a lead even when its check-in was never
    recorded (a lost tap must not hide a conversion).

    Example: entries [registration, check_in, lead_scan] with the default map -> "lead".
    """
    reached = model.stages[0].name
    for stage in model.stages:
        if stage.when is None or condition_holds(stage.when, entries, score):
            reached = stage.name
    return reached


_CONDITION_KEYS = {"any", "all", "kind", "count", "score_at_least"}
_COUNT_KEYS = {"kind", "at_least", "distinct"}


def condition_holds(
    condition: Mapping[str, Any], entries: Sequence[JourneyEntry], score: float | Decimal | None
) -> bool:
    """Evaluate one condition of the stage language. The whole language:

    * ``{"kind": K}`` - at least one entry of kind K (K may be a list: any of them);
    * ``{"count": {"kind": K, "at_least": N, "distinct": true}}`` - at least N such entries; with
      ``distinct`` N different ``ref`` s (sessions, exhibitors), so one booth visited five times is not five;
    * ``{"score_at_least": S}`` - the engagement score is at least S (no score: false);
    * ``{"any": [c, ...]}`` / ``{"all": [c, ...]}`` - or / and of conditions.

    Example: ``{"any": [{"kind": "lead_scan"}, {"score_at_least": 60}]}`` holds for a score of 61.
    """
    if "any" in condition:
        return any(condition_holds(c, entries, score) for c in condition["any"])
    if "all" in condition:
        return all(condition_holds(c, entries, score) for c in condition["all"])
    if "score_at_least" in condition:
        return score is not None and float(score) >= float(condition["score_at_least"])
    spec = condition["count"] if "count" in condition else {"kind": condition["kind"], "at_least": 1}
    kinds = _kinds(spec["kind"])
    matching = [e for e in entries if e.kind in kinds]
    found = len({e.ref for e in matching}) if spec.get("distinct") else len(matching)
    return found >= int(spec.get("at_least", 1))


def _check_condition(condition: Any, where: str) -> None:
    if not isinstance(condition, Mapping) or len(condition) != 1 or not set(condition) <= _CONDITION_KEYS:
        raise ValueError(f"stage model: {where}: a condition is one of {sorted(_CONDITION_KEYS)}, got {condition!r}")
    ((key, value),) = condition.items()
    if key in ("any", "all"):
        if not isinstance(value, list) or not value:
            raise ValueError(f"stage model: {where}: '{key}' takes a non-empty list")
        for child in value:
            _check_condition(child, where)
    elif key == "kind":
        _kinds(value)
    elif key == "count":
        if not isinstance(value, Mapping) or "kind" not in value or not set(value) <= _COUNT_KEYS:
            raise ValueError(f"stage model: {where}: 'count' takes {sorted(_COUNT_KEYS)} with a 'kind'")
        _kinds(value["kind"])
    elif not isinstance(value, int | float):
        raise ValueError(f"stage model: {where}: 'score_at_least' takes a number")


def _kinds(value: Any) -> frozenset[JourneyKind]:
    names = value if isinstance(value, list) else [value]
    try:
        return frozenset(JourneyKind(n) for n in names)
    except ValueError as exc:
        raise ValueError(f"unknown journey kind in {value!r}; known: {[k.value for k in JourneyKind]}") from exc


# --- summary -------------------------------------------------------------------------------------------------


def summarize(
    entries: Sequence[JourneyEntry],
    zones: Iterable[Zone],
    sessions: Iterable[AgendaSession],
    exhibitors: Mapping[str, str],
    *,
    tz: tzinfo = UTC,
) -> str:
    """A short human summary of a journey, for a CRM note or a rep alert.

    Sessions in agenda order with the share attended; booths per exhibitor (``exhibitors`` maps id -> name) by
    total dwell, biggest first; at most :data:`SUMMARY_TOP_N` named, the rest counted. Clock times are in ``tz``;
    with check-ins on several days each gets its weekday.

    Example: "Checked in 09:12; attended 2 sessions (AI in Retail 90 %, Keynote 100 %); visited 1 booth
    (Acme 12 min); 1 lead scan (Acme)."
    """
    zone_by_id = {z.id: z for z in zones}
    title_of = {s.id: s.title for s in sessions}
    parts: list[str] = []

    check_ins = [e.at for e in entries if e.kind is JourneyKind.CHECK_IN]
    if check_ins:
        fmt = "%a %H:%M" if len({_day(at, tz) for at in check_ins}) > 1 else "%H:%M"
        parts.append("Checked in " + ", ".join(datetime.fromtimestamp(at, tz).strftime(fmt) for at in check_ins))

    attended = [e for e in entries if e.kind is JourneyKind.SESSION_ATTENDED]
    if attended:
        named = [
            f"{title_of.get(e.ref or '', e.details.get('title', e.ref))} {_percent(e.details.get('share'))}"
            for e in attended
        ]
        parts.append(f"attended {_count(len(attended), 'session')} ({_top(named)})")

    dwell_by_exhibitor: dict[str, float] = defaultdict(float)
    for e in entries:
        if e.kind is JourneyKind.BOOTH_VISIT:
            owner = e.ref or (zone_by_id[e.zone_id].exhibitor_id if e.zone_id in zone_by_id else None)
            dwell_by_exhibitor[owner or e.zone_id or "?"] += e.dwell_s or 0.0
    if dwell_by_exhibitor:
        ranked = sorted(dwell_by_exhibitor.items(), key=lambda item: (-item[1], item[0]))
        named = [f"{exhibitors.get(ex, ex)} {_minutes(dwell)}" for ex, dwell in ranked]
        parts.append(f"visited {_count(len(ranked), 'booth')} ({_top(named)})")

    for kind, noun in ((JourneyKind.LEAD_SCAN, "lead scan"), (JourneyKind.MEETING, "meeting")):
        refs = [e.ref for e in entries if e.kind is kind]
        if refs:
            names = list(dict.fromkeys(exhibitors.get(r, r) for r in refs if r))
            parts.append(_count(len(refs), noun) + (f" ({_top(names)})" if names else ""))

    sent = sum(e.kind is JourneyKind.NOTIFICATION_SENT for e in entries)
    opened = sum(e.kind is JourneyKind.NOTIFICATION_OPENED for e in entries)
    if sent or opened:
        parts.append(f"opened {opened} of {max(sent, opened)} notifications")
    actions = sum(e.kind is JourneyKind.APP_ACTION for e in entries)
    if actions:
        parts.append(_count(actions, "app action"))

    if not parts:
        return "No activity yet."
    text = "; ".join(parts)
    return text[0].upper() + text[1:] + "."


def _kind_of(zone_by_id: Mapping[str, Zone], zone_id: str) -> ZoneKind | None:
    zone = zone_by_id.get(zone_id)
    return zone.kind if zone is not None else None


def _overlaps_any(start: float, end: float | None, spans: list[tuple[float, float]]) -> bool:
    stop = end if end is not None else float("inf")
    return any(start < span_end and span_start < stop for span_start, span_end in spans)


def _day(at: float, tz: tzinfo) -> date:
    return datetime.fromtimestamp(at, tz).date()


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _top(names: list[str]) -> str:
    shown = ", ".join(names[:SUMMARY_TOP_N])
    return shown if len(names) <= SUMMARY_TOP_N else f"{shown} and {len(names) - SUMMARY_TOP_N} more"


def _percent(share: object) -> str:
    return f"{round(float(share) * 100)} %" if isinstance(share, int | float) else "?"


def _minutes(dwell_s: float) -> str:
    return "<1 min" if dwell_s < 60 else f"{round(dwell_s / 60)} min"


def to_json(entries: Iterable[JourneyEntry]) -> list[dict[str, Any]]:
    """Entries as JSON-ready dicts, for the API and for storing a journey next to its score."""
    return [
        {
            "at": e.at,
            "kind": e.kind.value,
            "zone_id": e.zone_id,
            "dwell_s": e.dwell_s,
            "ref": e.ref,
            "details": dict(e.details),
        }
        for e in entries
    ]
