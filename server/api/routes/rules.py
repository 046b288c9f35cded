"""Trigger rules over the API: versioned CRUD, pause/resume, validation, metrics and the decisions log.

Organizers manage every rule; an exhibitor token (subject = exhibitor id) sees, creates and edits only the
rules it owns (``owner: exhibitor:<id>``), which must trigger on its own booth zones — anything else is 403.
Invalid rules are 422 with every problem and its path::

    {"detail": {"message": "invalid rule", "problems": [{"path": "rule.trigger.dwell_reached.dwell_s",
                                                        "message": "Input should be greater than 0"}]}}

An edit is a new version (``PUT``); the running engine picks it up before the next touchpoint (no restart).
"""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Query, status
from pydantic import BaseModel
from sqlmodel import Session, col, select

from server.domain.rules.model import Rule
from server.domain.rules.parse import RuleValidationError, dump_rule, parse_rule, venue_problems
from server.rules.context import venue_context
from server.rules.metrics import rule_metrics
from server.rules.store import latest_rows, row_of, versions_of
from server.store.models import Role
from server.store.rules_models import RuleDecision, RuleRow
from server.web.deps import Organizer, Principal, RuntimeDep, SessionDep, require

router = APIRouter(prefix="/api/v1", tags=["rules"])
RulesCaller = Annotated[Principal, Depends(require(Role.ORGANIZER, Role.EXHIBITOR))]
RuleBody = Annotated[dict[str, Any], Body(description="A rule as JSON (docs/rules.md); `version` is assigned")]


class RuleOut(BaseModel):
    id: str
    version: int
    owner: str
    campaign_id: str
    enabled: bool
    created_at: float
    created_by: str
    updated_at: float
    definition: dict[str, Any]
    versions: list[int]


def _out(row: RuleRow, versions: list[int]) -> RuleOut:
    return RuleOut(versions=versions, **row.model_dump(exclude={"event_id"}))


def _owner_of(caller: Principal) -> str | None:
    """The owner an exhibitor caller is confined to; None for organizers."""
    return None if caller.is_admin or caller.role != Role.EXHIBITOR else f"exhibitor:{caller.subject}"


def invalid(problems: list[str], message: str = "invalid rule") -> HTTPException:
    items = [dict(zip(("path", "message"), p.split(": ", 1), strict=False)) for p in problems]
    return HTTPException(422, {"message": message, "problems": items})


def _checked(session: Session, runtime: RuntimeDep, caller: Principal, data: dict[str, Any]) -> Rule:
    """Parse and check a rule against the venue and the caller's tenancy (403 / 422)."""
    own = _owner_of(caller)
    if own is not None:
        if data.get("owner", own) != own:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"an exhibitor token may only write rules owned by {own}")
        data = {**data, "owner": own}
    try:
        rule = parse_rule(data)
    except RuleValidationError as exc:
        if own is not None and any("exhibitor's rule" in p for p in exc.problems):
            raise HTTPException(status.HTTP_403_FORBIDDEN, "; ".join(exc.problems)) from None
        raise invalid(exc.problems) from None
    problems = venue_problems(rule, venue_context(session, runtime.settings.event_id))
    if own is not None and any("is not a booth of" in p for p in problems):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "; ".join(problems))
    if problems:
        raise invalid(problems, "the rule refers to what the venue does not have")
    return rule


def _latest(session: Session, runtime: RuntimeDep, caller: Principal, rule_id: str) -> RuleRow:
    rows = latest_rows(session, runtime.settings.event_id, rule_id)
    own = _owner_of(caller)
    if not rows or (own is not None and rows[0].owner != own):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"rule {rule_id!r} not found")
    return rows[0]


def _save(session: Session, runtime: RuntimeDep, caller: Principal, rule: Rule) -> RuleOut:
    author = "admin" if caller.is_admin else f"{caller.role}:{caller.subject or caller.token_id}"
    row = row_of(rule, runtime.settings.event_id, author, time.time())
    session.add(row)
    session.commit()
    session.refresh(row)
    runtime.pipeline.rules_changed()  # after the commit: the next touchpoint sees this version (on the live worker)
    return _out(row, [r.version for r in versions_of(session, rule.id)])


@router.get("/rules", response_model=list[RuleOut], summary="The latest version of every rule (yours, as exhibitor)")
def list_rules(session: SessionDep, runtime: RuntimeDep, caller: RulesCaller) -> list[RuleOut]:
    own = _owner_of(caller)
    rows = [r for r in latest_rows(session, runtime.settings.event_id) if own is None or r.owner == own]
    return [_out(r, [v.version for v in versions_of(session, r.id)]) for r in rows]


@router.post("/rules", response_model=RuleOut, status_code=201, responses={409: {"description": "id taken"}})
def create_rule(body: RuleBody, session: SessionDep, runtime: RuntimeDep, caller: RulesCaller) -> RuleOut:
    rule = _checked(session, runtime, caller, {**body, "version": 1})
    if session.get(RuleRow, (rule.id, 1)) is not None:
        raise HTTPException(status.HTTP_409_CONFLICT, f"rule {rule.id!r} exists: PUT /api/v1/rules/{rule.id} edits it")
    return _save(session, runtime, caller, rule)


@router.post("/rules/validate", summary="Check a rule without saving it: 200 with the rule as stored, or 422")
def validate_rule(body: RuleBody, session: SessionDep, runtime: RuntimeDep, caller: RulesCaller) -> dict[str, Any]:
    return {"valid": True, "rule": dump_rule(_checked(session, runtime, caller, {**body, "version": 1}))}


@router.get("/rules/{rule_id}", response_model=RuleOut)
def get_rule(rule_id: str, session: SessionDep, runtime: RuntimeDep, caller: RulesCaller) -> RuleOut:
    row = _latest(session, runtime, caller, rule_id)
    return _out(row, [r.version for r in versions_of(session, rule_id)])


@router.get("/rules/{rule_id}/versions/{version}", response_model=RuleOut)
def get_rule_version(
    rule_id: str, version: int, session: SessionDep, runtime: RuntimeDep, caller: RulesCaller
) -> RuleOut:
    _latest(session, runtime, caller, rule_id)
    row = session.get(RuleRow, (rule_id, version))
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"rule {rule_id!r} has no version {version}")
    return _out(row, [r.version for r in versions_of(session, rule_id)])


@router.put("/rules/{rule_id}", response_model=RuleOut, summary="Edit: saves the next version")
def edit_rule(rule_id: str, body: RuleBody, session: SessionDep, runtime: RuntimeDep, caller: RulesCaller) -> RuleOut:
    latest = _latest(session, runtime, caller, rule_id)
    if body.get("id", rule_id) != rule_id:
        raise invalid([f"rule.id: must be {rule_id!r} (the id in the path)"])
    data = {"owner": latest.owner, **body, "id": rule_id, "version": latest.version + 1}
    return _save(session, runtime, caller, _checked(session, runtime, caller, data))


def _set_enabled(session: Session, runtime: RuntimeDep, caller: Principal, rule_id: str, enabled: bool) -> RuleOut:
    row = _latest(session, runtime, caller, rule_id)
    row.enabled, row.updated_at = enabled, time.time()
    row.definition = {**row.definition, "enabled": enabled}
    session.add(row)
    session.commit()
    session.refresh(row)
    runtime.pipeline.rules_changed()
    return _out(row, [r.version for r in versions_of(session, rule_id)])


@router.post("/rules/{rule_id}/pause", response_model=RuleOut)
def pause_rule(rule_id: str, session: SessionDep, runtime: RuntimeDep, caller: RulesCaller) -> RuleOut:
    return _set_enabled(session, runtime, caller, rule_id, False)


@router.post("/rules/{rule_id}/resume", response_model=RuleOut)
def resume_rule(rule_id: str, session: SessionDep, runtime: RuntimeDep, caller: RulesCaller) -> RuleOut:
    return _set_enabled(session, runtime, caller, rule_id, True)


def _metrics(session: Session, runtime: RuntimeDep, caller: Principal, **scope: Any) -> dict[str, Any]:
    own = _owner_of(caller)
    if own is not None and scope.get("rule_ids") is None:
        scope["rule_ids"] = [r.id for r in latest_rows(session, runtime.settings.event_id) if r.owner == own]
    offset = venue_context(session, runtime.settings.event_id).utc_offset_s
    return rule_metrics(session, runtime.settings.event_id, utc_offset_s=offset, **scope)


@router.get("/rule-metrics", summary="Fired, suppressed by reason, delivered, opened, converted; disturbance")
def all_metrics(session: SessionDep, runtime: RuntimeDep, caller: RulesCaller) -> dict[str, Any]:
    return _metrics(session, runtime, caller)


@router.get("/rules/{rule_id}/metrics")
def one_rule_metrics(rule_id: str, session: SessionDep, runtime: RuntimeDep, caller: RulesCaller) -> dict[str, Any]:
    _latest(session, runtime, caller, rule_id)
    return _metrics(session, runtime, caller, rule_ids=[rule_id])


@router.get("/campaigns/{campaign_id}/metrics")
def campaign_metrics(campaign_id: str, session: SessionDep, runtime: RuntimeDep, caller: Organizer) -> dict[str, Any]:
    return _metrics(session, runtime, caller, campaign_id=campaign_id)


@router.get("/rule-decisions", response_model=list[RuleDecision], summary="The decisions log, newest first")
def decisions_log(
    session: SessionDep, runtime: RuntimeDep, _caller: Organizer, rule_id: str | None = None,
    campaign_id: str | None = None, attendee_id: str | None = None, outcome: str | None = None,
    reason: str | None = None, limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[RuleDecision]:  # fmt: skip
    query = select(RuleDecision).where(col(RuleDecision.event_id) == runtime.settings.event_id)
    for column, value in ((RuleDecision.rule_id, rule_id), (RuleDecision.campaign_id, campaign_id),
                          (RuleDecision.attendee_id, attendee_id), (RuleDecision.outcome, outcome),
                          (RuleDecision.reason, reason)):  # fmt: skip
        if value is not None:
            query = query.where(col(column) == value)
    return list(session.exec(query.order_by(col(RuleDecision.at).desc()).limit(limit)))
