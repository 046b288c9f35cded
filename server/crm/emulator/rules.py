"""How a real org checks one value against its field (:class:`.schema.Field`), with Salesforce's error codes."""

from __future__ import annotations

import re
from typing import Any

from server.crm.emulator.schema import Field

_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
# Salesforce's email check: ASCII local part of RFC 5322 atoms, a domain of dotted labels ending in a TLD;
# no internationalised domains ("zoe@exämple.com" is refused), no domain without a dot ("jane@example").
EMAIL = re.compile(
    rf"{_ATOM}(?:\.{_ATOM})*@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+(?:[A-Za-z]{{2,}}|xn--[A-Za-z0-9-]+)"
)
SF_ID = re.compile(r"[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?")
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class RecordError(Exception):
    """A per-record failure, reported as ``{"statusCode", "message", "fields"}`` (``errorCode`` at top level)."""

    def __init__(self, code: str, message: str, fields: list[str] | None = None, http_status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.fields, self.http_status = code, message, fields or [], http_status

    def top_level(self) -> list[dict[str, Any]]:
        return [{"message": self.message, "errorCode": self.code, "fields": self.fields}]

    def per_record(self) -> dict[str, Any]:
        return {"statusCode": self.code, "message": self.message, "fields": self.fields}


def valid_id(value: Any) -> bool:
    return bool(SF_ID.fullmatch(str(value)))


def checked(spec: Field, name: str, value: Any) -> Any:
    """The value as a real org accepts it, or its refusal (length, email, picklist, number, date, id)."""
    label = spec.label or name
    if value is None:
        return None
    if spec.text():
        text = str(value)
        if spec.length and len(text) > spec.length:
            raise RecordError(
                "STRING_TOO_LONG", f"{label}: data value too large: {text[:40]} (max length={spec.length})", [name]
            )
        if spec.type == "email" and not EMAIL.fullmatch(text):
            raise RecordError("INVALID_EMAIL_ADDRESS", f"{label}: invalid email address: {text}", [name])
        if spec.type == "picklist" and spec.restricted and text not in spec.picklist:
            raise RecordError(
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", f"{label}: bad value for restricted picklist field: {text}",
                [name],
            )  # fmt: skip
        return text
    if spec.type in ("double", "int"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise RecordError("INVALID_TYPE_ON_FIELD_IN_RECORD", f"{label}: value not of required type: {value}",
                              [name])  # fmt: skip
        if spec.precision and abs(value) >= 10 ** (spec.precision - spec.scale):
            raise RecordError("NUMBER_OUTSIDE_VALID_RANGE",
                              f"{label}: value outside of valid range on numeric field: {value}", [name])  # fmt: skip
        return value
    if spec.type == "date" and not (isinstance(value, str) and DATE.fullmatch(value)):
        raise RecordError("INVALID_TYPE_ON_FIELD_IN_RECORD", f"{label}: value not of required type: {value}", [name])
    if spec.type == "boolean" and not isinstance(value, bool):
        raise RecordError("INVALID_TYPE_ON_FIELD_IN_RECORD", f"{label}: value not of required type: {value}", [name])
    if spec.type == "reference" and not SF_ID.fullmatch(str(value)):
        raise RecordError("MALFORMED_ID", f"{label}: id value of incorrect type: {value}", [name])
    return value


def coerce(kind: str, value: Any) -> Any:
    """Bulk CSV sends strings: turn them into the field's type, as the API stores them."""
    if value is None or not isinstance(value, str):
        return value
    if value == "#N/A":
        return None
    if kind in ("double", "int"):
        try:
            return (float if kind == "double" else int)(value) if value != "" else None
        except ValueError:
            return value  # not a number: checked() refuses it
    if kind == "boolean":
        return value.lower() == "true"
    return value
