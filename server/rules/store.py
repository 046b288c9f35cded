"""The rule store: versioned rules, seeding the campaign templates, decisions and the engine's state.

Versioning: creating a rule writes version 1, an edit writes version N+1 (the old versions stay, so what ran
when a decision was taken is known), pause/resume flips ``enabled`` on the latest version. The engine runs
the latest version of each id when it is enabled — :func:`active_rules` hands it exactly those.

Seeding: on the first start of an event the templates of ``server/config/defaults/campaigns.yaml`` are
copied in as version 1 owned by the organizer; a template already present (any version) is left alone,
so seeding is idempotent and never undoes an organizer's edit.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, func
from sqlmodel import Session, col, select

from server.config.load import load_seed_campaigns
from server.domain.rules.events import Decision
from server.domain.rules.model import Rule
from server.domain.rules.parse import dump_rule, parse_rule
from server.domain.rules.state import EngineState
from server.store.db import dialect_insert, insert_new
from server.store.rules_models import RuleDecision, RuleEngineState, RuleRow

SEED_AUTHOR = "seed"


def rule_of(row: RuleRow) -> Rule:
    data = dict(row.definition)
    data.update(id=row.id, version=row.version, enabled=row.enabled, owner=row.owner, campaign_id=row.campaign_id)
    return parse_rule(data, path=f"rule {row.id} v{row.version}")


def row_of(rule: Rule, event_id: str, author: str, now: float) -> RuleRow:
    return RuleRow(
        id=rule.id, version=rule.version, event_id=event_id, owner=rule.owner, campaign_id=rule.campaign_id,
        enabled=rule.enabled, definition=dump_rule(rule), created_at=now, created_by=author, updated_at=now,
    )  # fmt: skip


def latest_rows(session: Session, event_id: str, rule_id: str | None = None) -> list[RuleRow]:
    """The latest version of each rule of the event (of one rule when ``rule_id``), by id."""
    latest = (
        select(RuleRow.id, func.max(RuleRow.version).label("version"))
        .where(col(RuleRow.event_id) == event_id)
        .group_by(col(RuleRow.id))
    )
    if rule_id is not None:
        latest = latest.where(col(RuleRow.id) == rule_id)
    sub = latest.subquery()
    query = (
        select(RuleRow)
        .join(sub, (col(RuleRow.id) == sub.c.id) & (col(RuleRow.version) == sub.c.version))
        .order_by(col(RuleRow.id))
    )
    return list(session.exec(query))


def versions_of(session: Session, rule_id: str) -> list[RuleRow]:
    return list(session.exec(select(RuleRow).where(col(RuleRow.id) == rule_id).order_by(col(RuleRow.version))))


def active_rules(session: Session, event_id: str) -> list[Rule]:
    """What the engine runs: the latest version of each id, if enabled (a paused rule does not fall back)."""
    return [rule_of(row) for row in latest_rows(session, event_id) if row.enabled]


def rules_fingerprint(session: Session, event_id: str) -> tuple[int, float]:
    """Changes whenever a rule is created, edited, paused or resumed: the worker reloads on a change."""
    count, updated = session.exec(
        select(func.count(), func.max(RuleRow.updated_at)).where(col(RuleRow.event_id) == event_id)
    ).one()
    return int(count), float(updated or 0.0)


def seed_campaigns(session: Session, event_id: str, rules: Iterable[Rule] | None = None) -> int:
    """Copy the templates in (those not present yet); returns how many were added."""
    existing = set(session.exec(select(RuleRow.id).where(col(RuleRow.event_id) == event_id)))
    now = time.time()
    added = 0
    for rule in load_seed_campaigns() if rules is None else rules:
        if rule.id not in existing:
            session.add(row_of(rule, event_id, SEED_AUTHOR, now))
            added += 1
    session.commit()
    return added


# ---- decisions and state ----------------------------------------------------------------------------------
def decision_row(decision: Decision, event_id: str) -> dict[str, Any]:
    return {
        "decision_id": decision.decision_id, "event_id": event_id, "rule_id": decision.rule_id,
        "rule_version": decision.rule_version, "campaign_id": decision.campaign_id,
        "attendee_id": decision.attendee_id, "action_index": decision.action_index,
        "channel": decision.channel.value, "outcome": decision.outcome.value,
        "reason": decision.reason.value if decision.reason is not None else None, "trigger": decision.trigger,
        "at": decision.at, "redacted": decision.redacted, "payload": dict(decision.payload),
    }  # fmt: skip


def record_decision(conn: Connection, decision: Decision, event_id: str) -> bool:
    """Insert the decision; False when its id is already stored (a replay: do not act on it again)."""
    table = RuleDecision.__table__  # type: ignore[attr-defined]
    return insert_new(conn, table, decision_row(decision, event_id), key=["decision_id"])


def load_state(session: Session, event_id: str) -> EngineState | None:
    row = session.get(RuleEngineState, event_id)
    return EngineState.from_dict(row.state) if row is not None else None


def save_state(conn: Connection, event_id: str, state: EngineState, now: float) -> None:
    table = RuleEngineState.__table__  # type: ignore[attr-defined]
    values = {"event_id": event_id, "state": state.to_dict(), "updated_at": now}
    statement = dialect_insert(conn, table).values(values)
    conn.execute(
        statement.on_conflict_do_update(index_elements=["event_id"], set_={"state": values["state"], "updated_at": now})
    )
