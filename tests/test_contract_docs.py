"""docs/mqtt.md and docs/schemas/ say what edge/protocol.py does.

- The committed JSON Schemas are exactly what ``edge.protocol.json_schemas()`` produces.
- Every example tagged ```` ```json <kind> ```` in docs/mqtt.md is a valid message of that kind.
- Every dead-letter reason and every limit the code enforces is documented.
"""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from types import ModuleType

import pytest

from edge.protocol import (
    DEFAULT_PREFIX,
    ID_PATTERN,
    MAX_PAYLOAD_BYTES,
    MAX_SIGHTINGS_PER_BATCH,
    MODEL_BY_KIND,
    MessageKind,
)
from server.store.models import DeadLetterReason

ROOT = Path(__file__).resolve().parents[1]
MQTT_DOC = ROOT / "docs" / "mqtt.md"
SCHEMA_DIR = ROOT / "docs" / "schemas"
# A fenced block whose info string is "json <kind>" is an example of that message kind.
EXAMPLE_RE = re.compile(r"^```json[ \t]+([a-z_]+)[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("schema_generator", SCHEMA_DIR / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _doc() -> str:
    return MQTT_DOC.read_text(encoding="utf-8")


def _examples() -> list[tuple[str, str]]:
    return [(kind, body) for kind, body in EXAMPLE_RE.findall(_doc())]


def test_committed_schemas_match_the_contract_models():
    generator = _generator()
    wanted = generator.render()
    assert set(wanted) == {f"{kind}.schema.json" for kind in MessageKind}
    committed = {p.name: p.read_text(encoding="utf-8") for p in SCHEMA_DIR.glob("*.schema.json")}
    stale = sorted(name for name in set(wanted) | set(committed) if wanted.get(name) != committed.get(name))
    assert not stale, f"docs/schemas is out of date ({', '.join(stale)}); refresh: {generator.REFRESH_COMMAND}"


def test_every_message_kind_has_a_documented_example():
    assert {kind for kind, _ in _examples()} == {kind.value for kind in MessageKind}


@pytest.mark.parametrize(("kind", "body"), _examples(), ids=lambda v: v if v in set(MessageKind) else "")
def test_documented_example_is_a_valid_message(kind: str, body: str):
    assert kind in MODEL_BY_KIND, f"```json {kind}: no such message kind"
    document = json.loads(body)
    # Spelled out in every example, since the server requires `type` and a reader copies what they see.
    assert document.get("v") == 1 and document.get("type") == kind, body
    # Strict: an example must not lean on lenient coercion (strings for numbers and the like).
    message = MODEL_BY_KIND[kind].model_validate_json(body, strict=True)
    assert message.model_dump(mode="json", exclude_unset=True) == document


def test_every_dead_letter_reason_is_documented():
    doc = _doc()
    missing = [reason.value for reason in DeadLetterReason if f"`{reason.value}`" not in doc]
    assert not missing, f"docs/mqtt.md does not explain: {missing}"


def test_limits_and_id_rule_are_documented_as_enforced():
    doc = _doc()
    assert f"**{MAX_PAYLOAD_BYTES} bytes**" in doc
    assert f"| Sightings per message | {MAX_SIGHTINGS_PER_BATCH} |" in doc
    assert f"`{ID_PATTERN}`" in doc
    assert f"Default `{DEFAULT_PREFIX}`" in doc
