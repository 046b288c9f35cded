"""Document the 422 the API really sends.

FastAPI documents every 422 as ``{"detail": [ValidationError, ...]}`` (its request validation). Routes also
refuse well-formed requests that break a rule of the domain with 422 and a message (``"zone 'x' does not
exist"``) or a problem list (``{"message", "problems"}`` for rules). Both are useful to clients, so the schema
says so instead of every route re-wrapping its errors. Found by the schemathesis suite
(tests/security/test_api_fuzz.py), which checks every response against the schema.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI


def document_error_details(app: FastAPI) -> None:
    build: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        error = schema.get("components", {}).get("schemas", {}).get("HTTPValidationError")
        if error is not None:
            listed = error["properties"]["detail"]
            error["properties"]["detail"] = {
                "title": "Detail",
                "anyOf": [
                    {k: v for k, v in listed.items() if k != "title"},
                    {"type": "string", "description": "a rule of the domain the request breaks"},
                    {"type": "object", "description": "a problem report, e.g. {message, problems: [...]}"},
                ],
            }
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
