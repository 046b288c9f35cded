"""The SOQL the sync uses, for the emulator: ``SELECT f, ... | COUNT() FROM X [WHERE a = 'v' AND b IN ('x', 'y')
AND c != null AND d LIKE 'x%'] [LIMIT n]``. Anything else is MALFORMED_QUERY, as an unsupported query would be
in a real org."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

SOQL = re.compile(
    r"SELECT\s+(?P<fields>.+?)\s+FROM\s+(?P<sobject>\w+)(?:\s+WHERE\s+(?P<where>.+?))?"
    r"(?:\s+LIMIT\s+(?P<limit>\d+))?",
    re.I | re.S,
)
CONDITION = re.compile(r"(?P<field>\w+)\s*(?P<op>=|!=|\bIN\b|\bLIKE\b)\s*(?P<value>.+)", re.I | re.S)
STRING = re.compile(r"'((?:[^'\\]|\\.)*)'")
Test = Callable[[dict[str, Any]], bool]


class QueryError(ValueError):
    """(code, message) of a refused query."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def parse(soql: str, known: Callable[[str], set[str]]) -> tuple[str, list[str], list[Test], int | None]:
    """(sObject, fields or ["COUNT()"], conditions, limit); ``known(sobject)`` names its fields."""
    match = SOQL.fullmatch(soql.strip())
    if not match:
        raise QueryError("MALFORMED_QUERY", f"unexpected token in: {soql[:200]}")
    fields = [f.strip() for f in match.group("fields").split(",")]
    sobject = match.group("sobject")
    names = known(sobject)
    if fields != ["COUNT()"]:
        for name in fields:
            if name not in names:
                raise QueryError("INVALID_FIELD", f"No such column '{name}' on entity '{sobject}'")
    where = match.group("where")
    conditions = [_condition(c, names, sobject) for c in re.split(r"\s+AND\s+", where, flags=re.I)] if where else []
    limit = int(match.group("limit")) if match.group("limit") else None
    return sobject, fields, conditions, limit


def _condition(text: str, known: set[str], sobject: str) -> Test:
    match = CONDITION.fullmatch(text.strip())
    if not match or match.group("field") not in known:
        raise QueryError("MALFORMED_QUERY", f"cannot parse condition {text[:100]!r} on {sobject}")
    name, op, raw = match.group("field"), match.group("op").upper(), match.group("value").strip()
    if op == "IN":
        values = {_unescape(v) for v in STRING.findall(raw)}
        return lambda r: r.get(name) in values
    quoted = STRING.fullmatch(raw)
    if op == "LIKE" and quoted is not None:  # '%' any run, '_' one character; case-insensitive, as SOQL
        pattern = re.compile(_like(quoted.group(1)), re.I | re.S)
        return lambda r: r.get(name) is not None and pattern.fullmatch(str(r.get(name))) is not None
    value: Any = raw
    if raw.lower() == "null":
        value = None
    elif raw.lower() in ("true", "false"):
        value = raw.lower() == "true"
    elif quoted is not None:
        value = _unescape(quoted.group(1))
    if op == "=":
        return lambda r: r.get(name) == value
    return lambda r: r.get(name) != value


def _like(literal: str) -> str:
    """A LIKE literal as a regular expression: ``\\x`` is ``x`` itself (``\\_``, ``\\%``), ``%`` any run,
    ``_`` one character."""
    out, chars = [], iter(literal)
    for c in chars:
        if c == "\\":
            out.append(re.escape(next(chars, "")))
        else:
            out.append(".*" if c == "%" else "." if c == "_" else re.escape(c))
    return "".join(out)


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", r"\1", value)
