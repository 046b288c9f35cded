"""Write docs/schemas/<kind>.schema.json from the contract's models (edge.protocol.json_schemas()).

Run from the repository root after changing edge/protocol.py::

    .venv/bin/python docs/schemas/generate.py

tests/test_contract_docs.py fails when the committed files differ from what this would write.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

SCHEMA_DIR = Path(__file__).resolve().parent
ROOT = SCHEMA_DIR.parents[1]
REFRESH_COMMAND = ".venv/bin/python docs/schemas/generate.py"
DIALECT = "https://json-schema.org/draft/2020-12/schema"  # what pydantic 2 emits


def render() -> dict[str, str]:
    """File name -> file text, for every message kind."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from edge.protocol import json_schemas

    files = {}
    for kind, schema in json_schemas().items():
        document = {"$schema": DIALECT, **schema}
        files[f"{kind}.schema.json"] = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    return files


def main() -> None:
    wanted = render()
    for stale in SCHEMA_DIR.glob("*.schema.json"):
        if stale.name not in wanted:
            stale.unlink()
            print(f"removed {stale.relative_to(ROOT)}")
    for name, text in wanted.items():
        path = SCHEMA_DIR / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
