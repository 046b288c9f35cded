"""Engagement score, per-exhibitor lead score and fit grade: models as data, every number explained.

Pure: journey entries, a model and ``now`` in; a :class:`Score` out whose breakdown lines sum *exactly* to the
total. Reading a model's YAML/JSON file is an adapter's job (:mod:`server.config.load`);
:func:`parse_scoring_model` takes the parsed mapping. The published formula with a worked example is
docs/scoring.md; the tests reproduce its numbers.

Why Decimal: a breakdown is only trustworthy if its lines add up to the total a sales rep sees. Each line is
rounded once to a hundredth of a point (:data:`CENT`, half up) and the total is the sum of the rounded lines, so
``sum(line.points for line in score.lines) == score.total`` holds exactly, which binary floats cannot promise.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from server.domain.journey import KIND_ORDER
from server.domain.model import AttendeeProfile, JourneyEntry, JourneyKind

CENT = Decimal("0.01")  # points are kept to hundredths: finer is noise, coarser loses decayed contributions
DECAY_DIGITS = 6  # the decay factor is rounded to 6 digits so the published worked example can be redone by hand
SECONDS_PER_DAY = 86_400
_RANK = {kind: i for i, kind in enumerate(KIND_ORDER)}
_RULE_KEYS = {"points", "per_minute", "max_minutes", "scale_by_share", "cap_per_day"}


@dataclass(frozen=True, slots=True)
class Rule:
    """Points for one journey kind: ``points + per_minute * min(dwell_min, max_minutes)``, times the share
    attended when ``scale_by_share``; at most ``cap_per_day`` points of this kind per day (before decay)."""

    points: float = 0.0
    per_minute: float = 0.0
    max_minutes: float | None = None
    scale_by_share: bool = False
    cap_per_day: float | None = None


@dataclass(frozen=True, slots=True)
class FitCriterion:
    """One profile criterion: ``field`` (job_title, country, company, tags, interests) against ``values``.

    Job titles match whole words case-insensitively ("head" matches "Head of IT", not "Headset Engineer");
    the other fields match case-insensitively by equality. ``per_match`` gives ``points`` per matching value
    (interests overlapping the event's focus), up to ``max_points``; otherwise ``points`` once.
    """

    name: str
    field: str
    values: tuple[str, ...]
    points: float
    per_match: bool = False
    max_points: float | None = None


@dataclass(frozen=True, slots=True)
class FitModel:
    criteria: tuple[FitCriterion, ...]
    grades: tuple[tuple[str, float], ...]  # (letter, minimum fit points), best first; the last minimum is <= 0


@dataclass(frozen=True, slots=True)
class ScoringModel:
    version: str
    rules: Mapping[JourneyKind, Rule]
    half_life_days: float | None  # None: no decay
    tz: tzinfo  # where a "day" starts, for the daily caps
    lead_interest_weight: float  # a lead score counts topic-matched (not owned) touchpoints at this weight
    fit: FitModel


@dataclass(frozen=True, slots=True)
class ScoreLine:
    """What one journey entry contributed: raw points, after the daily cap, after decay (``points``)."""

    kind: JourneyKind
    at: float
    ref: str | None
    zone_id: str | None
    raw: Decimal
    capped: Decimal
    decay: float
    points: Decimal
    reason: str


@dataclass(frozen=True, slots=True)
class Score:
    total: Decimal  # == sum(line.points for line in lines), exactly
    lines: tuple[ScoreLine, ...]
    model_version: str
    now: float

    def __float__(self) -> float:
        return float(self.total)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (points as strings keep the exact sum), for ``AttendeeScore.breakdown``."""
        return {
            "total": str(self.total),
            "model_version": self.model_version,
            "now": self.now,
            "lines": [
                {
                    "kind": line.kind.value,
                    "at": line.at,
                    "ref": line.ref,
                    "zone_id": line.zone_id,
                    "raw": str(line.raw),
                    "capped": str(line.capped),
                    "decay": line.decay,
                    "points": str(line.points),
                    "reason": line.reason,
                }
                for line in self.lines
            ],
        }


@dataclass(frozen=True, slots=True)
class Grade:
    letter: str
    points: float
    reasons: tuple[str, ...]

    def __str__(self) -> str:
        return self.letter


def score(entries: Iterable[JourneyEntry], model: ScoringModel, now: float) -> Score:
    """The engagement score of one journey as of ``now``, with its breakdown.

    Entries after ``now`` are ignored (rescoring history at a past ``now`` sees what was known then); kinds
    without a rule, and entries worth nothing raw, give no line. Entries are taken in time order (ties by kind,
    ref, zone and dwell, never by input order), so the same entries and model always give the same score, and a
    changed model rescores everyone consistently.

    Example (default model, ``now`` = the visit's time): a 12-minute booth visit -> 2 + 1/min x 10 min = 12.00.
    """
    return _score(((e, 1.0, "") for e in entries), model, now)


def lead_score(
    entries: Iterable[JourneyEntry],
    exhibitor_id: str,
    booth_zone_ids: Collection[str],
    exhibitor_session_ids: Collection[str],
    exhibitor_interests: Collection[str],
    model: ScoringModel,
    now: float,
) -> Score:
    """This attendee's engagement with one exhibitor, scored with the same rules, caps and decay.

    Counted in full: visits and taps at the exhibitor's booths, its sessions, its lead scans and meetings, and
    app actions / opened notifications about it (``ref`` or ``details["exhibitor_id"]``). Counted at
    ``model.lead_interest_weight``: other sessions and content whose ``details["tags"]`` overlap the
    exhibitor's interests - the attendee cares about the topic, but not yet about this exhibitor.

    Example: a 12-minute visit at Acme's booth and an AI talk (Acme's interests: ai) attended fully, scored at
    their time, default model -> 12.00 + 10 x 0.5 = 17.00.
    """
    interests = {i.lower() for i in exhibitor_interests}
    relevant = []
    for entry in entries:
        weight, why = _lead_relevance(entry, exhibitor_id, booth_zone_ids, exhibitor_session_ids, interests, model)
        if weight > 0:
            relevant.append((entry, weight, why))
    return _score(relevant, model, now)


def grade(profile: AttendeeProfile, fit_model: FitModel) -> Grade:
    """The fit grade A-D: how well the *person* fits the event's target audience, independent of behaviour.

    Fit points are the sum over criteria; the grade is the best letter whose minimum they reach. Every criterion
    gives a reason, matched or not, so a D explains itself.

    Example (default model): job title "VP Sales" (+40), country DE (+20), interests ai, retail (+20) -> 80 -> A.
    """
    total = 0.0
    reasons = []
    for criterion in fit_model.criteria:
        matched = _fit_matches(profile, criterion)
        if criterion.per_match:
            gained = criterion.points * len(matched)
            if criterion.max_points is not None:
                gained = min(gained, criterion.max_points)
        else:
            gained = criterion.points if matched else 0.0
        total += gained
        what = ", ".join(matched) if matched else "no match"
        reasons.append(f"{criterion.name}: {criterion.field} {what} (+{gained:g})")
    letter = next((g for g, minimum in fit_model.grades if total >= minimum), fit_model.grades[-1][0])
    reasons.append(f"fit {total:g} points -> grade {letter}")
    return Grade(letter, total, tuple(reasons))


# --- the engine -----------------------------------------------------------------------------------------------


def _score(weighted: Iterable[tuple[JourneyEntry, float, str]], model: ScoringModel, now: float) -> Score:
    ordered = sorted(
        (item for item in weighted if item[0].at <= now),
        key=lambda item: (
            item[0].at,
            _RANK.get(item[0].kind, len(_RANK)),
            item[0].ref or "",
            item[0].zone_id or "",
            item[0].dwell_s or 0.0,
        ),
    )
    used: dict[tuple[JourneyKind, object], Decimal] = defaultdict(Decimal)
    lines = []
    for entry, weight, why in ordered:
        rule = model.rules.get(entry.kind)
        if rule is None:
            continue
        raw_points, formula = _raw(entry, rule, weight)
        raw = _cents(raw_points)
        if raw <= 0:
            continue
        capped = raw
        notes = [formula]
        if rule.cap_per_day is not None:
            day = (entry.kind, datetime.fromtimestamp(entry.at, model.tz).date())
            capped = max(Decimal("0.00"), min(raw, _cents(rule.cap_per_day) - used[day]))
            used[day] += capped
            if capped < raw:
                notes.append(f"daily cap {rule.cap_per_day:g} leaves {capped}")
        factor = decay_factor(now - entry.at, model.half_life_days)
        if factor != 1.0:
            notes.append(f"decay x{factor:g} ({(now - entry.at) / SECONDS_PER_DAY:.1f} d old)")
        points = (capped * Decimal(repr(factor))).quantize(CENT, ROUND_HALF_UP)
        reason = (why + ": " if why else "") + "; ".join(notes)
        lines.append(ScoreLine(entry.kind, entry.at, entry.ref, entry.zone_id, raw, capped, factor, points, reason))
    total = sum((line.points for line in lines), Decimal("0.00"))
    return Score(total, tuple(lines), model.version, now)


def decay_factor(age_s: float, half_life_days: float | None) -> float:
    """``0.5 ** (age_days / half_life_days)`` rounded to :data:`DECAY_DIGITS`; 1.0 without a half-life.

    Example: a touchpoint one half-life old counts half: ``decay_factor(7 * 86400, 7) == 0.5``.
    """
    if half_life_days is None or age_s <= 0:
        return 1.0
    factor: float = 0.5 ** (age_s / (half_life_days * SECONDS_PER_DAY))  # float ** float is typed Any
    return round(factor, DECAY_DIGITS)


def _raw(entry: JourneyEntry, rule: Rule, weight: float) -> tuple[float, str]:
    value = rule.points
    formula = f"{entry.kind.value} {rule.points:g}"
    if rule.per_minute:
        minutes = (entry.dwell_s or 0.0) / 60
        counted = min(minutes, rule.max_minutes) if rule.max_minutes is not None else minutes
        value += rule.per_minute * counted
        formula += f" + {rule.per_minute:g}/min x {counted:.4g} min"
        if counted < minutes:
            formula += f" (of {minutes:.4g}, max {rule.max_minutes:g})"
    if rule.scale_by_share:
        share = entry.details.get("share", 1.0)
        share = float(share) if isinstance(share, int | float) else 1.0
        value *= share
        formula += f" x share {share:.4g}"
    if weight != 1.0:
        value *= weight
        formula += f" x weight {weight:g}"
    return value, formula


def _cents(value: float) -> Decimal:
    """Round half up on the shortest decimal form of a float (2.675 -> 2.68, as a person would)."""
    return Decimal(repr(value)).quantize(CENT, ROUND_HALF_UP)


def _lead_relevance(
    entry: JourneyEntry,
    exhibitor_id: str,
    booth_zone_ids: Collection[str],
    session_ids: Collection[str],
    interests: set[str],
    model: ScoringModel,
) -> tuple[float, str]:
    kind = entry.kind
    if kind in (JourneyKind.BOOTH_VISIT, JourneyKind.TAP) and (
        entry.zone_id in booth_zone_ids or (kind is JourneyKind.BOOTH_VISIT and entry.ref == exhibitor_id)
    ):
        return 1.0, f"at {exhibitor_id}'s booth"
    if kind in (JourneyKind.LEAD_SCAN, JourneyKind.MEETING) and entry.ref == exhibitor_id:
        return 1.0, f"with {exhibitor_id}"
    if kind is JourneyKind.SESSION_ATTENDED and entry.ref in session_ids:
        return 1.0, f"{exhibitor_id}'s session"
    if kind in (JourneyKind.APP_ACTION, JourneyKind.NOTIFICATION_OPENED) and exhibitor_id in (
        entry.ref,
        entry.details.get("exhibitor_id"),
    ):
        return 1.0, f"about {exhibitor_id}"
    if kind in (JourneyKind.SESSION_ATTENDED, JourneyKind.APP_ACTION, JourneyKind.NOTIFICATION_OPENED):
        tags = entry.details.get("tags")
        common = sorted({str(t).lower() for t in tags} & interests) if isinstance(tags, list | tuple) else []
        if common:
            return model.lead_interest_weight, f"on {', '.join(common)} ({exhibitor_id}'s topics)"
    return 0.0, ""


def _fit_matches(profile: AttendeeProfile, criterion: FitCriterion) -> list[str]:
    if criterion.field == "job_title":
        title = profile.job_title or ""
        return [v for v in criterion.values if re.search(rf"\b{re.escape(v)}\b", title, re.IGNORECASE)]
    have = {
        "country": (profile.country,),
        "company": (profile.company,),
        "tags": profile.tags,
        "interests": profile.interests,
    }[criterion.field]
    wanted = {v.lower() for v in criterion.values}
    return sorted({h for h in have if h is not None and h.lower() in wanted})


# --- models as data -------------------------------------------------------------------------------------------

_FIT_FIELDS = {
    "job_title_any": "job_title",
    "country_in": "country",
    "company_in": "company",
    "tags_any": "tags",
    "interests_any": "interests",
}


def parse_scoring_model(data: Mapping[str, Any]) -> ScoringModel:
    """Validate a scoring model read from YAML/JSON. Unknown kinds or keys fail here, naming them."""
    if not isinstance(data, Mapping) or "version" not in data:
        raise ValueError("scoring model: needs a 'version'")
    rules: dict[JourneyKind, Rule] = {}
    for name, raw in (data.get("rules") or {}).items():
        try:
            kind = JourneyKind(name)
        except ValueError as exc:
            raise ValueError(f"scoring model: unknown journey kind {name!r}") from exc
        unknown = set(raw) - _RULE_KEYS
        if unknown:
            raise ValueError(f"scoring model: rule {name!r} has unknown keys {sorted(unknown)}")
        rules[kind] = Rule(**raw)
    half_life = data.get("half_life_days")
    if half_life is not None and float(half_life) <= 0:
        raise ValueError("scoring model: 'half_life_days' must be positive (or null for no decay)")
    return ScoringModel(
        version=str(data["version"]),
        rules=rules,
        half_life_days=float(half_life) if half_life is not None else None,
        tz=ZoneInfo(data["timezone"]) if data.get("timezone") not in (None, "UTC") else UTC,
        lead_interest_weight=float((data.get("lead") or {}).get("interest_weight", 0.5)),
        fit=parse_fit_model(data.get("fit") or {"criteria": [], "grades": {"D": 0}}),
    )


def parse_fit_model(data: Mapping[str, Any]) -> FitModel:
    criteria = []
    for raw in data.get("criteria") or []:
        fields = [k for k in raw if k in _FIT_FIELDS]
        if len(fields) != 1:
            raise ValueError(f"fit model: criterion {raw.get('name')!r} needs exactly one of {sorted(_FIT_FIELDS)}")
        per_match = "points_per_match" in raw
        criteria.append(
            FitCriterion(
                name=str(raw.get("name", fields[0])),
                field=_FIT_FIELDS[fields[0]],
                values=tuple(str(v) for v in raw[fields[0]]),
                points=float(raw["points_per_match"] if per_match else raw.get("points", 0)),
                per_match=per_match,
                max_points=float(raw["max_points"]) if raw.get("max_points") is not None else None,
            )
        )
    grades = tuple(sorted(((str(k), float(v)) for k, v in data["grades"].items()), key=lambda g: -g[1]))
    if not grades or grades[-1][1] > 0:
        raise ValueError("fit model: 'grades' needs a lowest grade with minimum 0, so every profile gets one")
    return FitModel(tuple(criteria), grades)
