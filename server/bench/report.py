"""Recording benchmark results: one JSON line on stdout, one row in docs/performance.md with the command."""

from __future__ import annotations

import os
import platform
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import orjson

PERFORMANCE_DOC = Path(__file__).resolve().parents[2] / "docs" / "performance.md"
RESULTS_HEADING = "## Results log"


def machine() -> str:
    """A short description of where the figures were measured (they mean little without it)."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}"


def command_line() -> str:
    args = sys.argv[1:]
    return "touchpoints " + " ".join(shlex.quote(a) for a in args)


def emit(result: dict[str, Any], *, name: str, record: bool = True, doc: Path = PERFORMANCE_DOC) -> None:
    """Print ``result`` as the last JSON line and, unless ``record`` is off, log it in docs/performance.md."""
    print(orjson.dumps(result).decode(), flush=True)
    if not record:
        return
    doc.parent.mkdir(parents=True, exist_ok=True)
    if not doc.exists():
        header = "| when | bench | command | machine | result |\n|---|---|---|---|---|\n"
        doc.write_text(f"# Performance\n\n{RESULTS_HEADING}\n\n{header}")
    when = time.strftime("%Y-%m-%d %H:%M", time.gmtime())
    summary = ", ".join(f"{k}={v}" for k, v in result.items() if not isinstance(v, dict | list))
    with doc.open("a") as handle:
        handle.write(f"| {when} | {name} | `{command_line()}` | {machine()} | {summary} |\n")
