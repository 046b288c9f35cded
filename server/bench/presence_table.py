"""The presence bench's human side: rich progress bars while it runs, one table per radio model after.

Each table has a row per method (ours, ours_calibrated when fitted, nearest, incumbent) and, per zone
kind, the share of in-zone dwell-minutes placed in the right zone with visit precision / recall, then the
corridor minutes wrongly given to a zone, overall dwell accuracy and sightings/s.
"""

from __future__ import annotations

import time
from types import TracebackType
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from server.bench.presence_score import KINDS

TABLE_WIDTH = 170  # every column readable, also when stderr is a file (rich would assume 80)
REFRESH_S = 0.5  # wall seconds between progress updates: a bench runs for minutes


class ProgressBars:
    """One bar per radio model over its simulated span; ``update`` is the bench's progress callback."""

    def __init__(self, console: Console, models: list[str]) -> None:
        self.progress = Progress(
            TextColumn("[bold]{task.description:>9}[/bold]"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self.tasks: dict[str, TaskID] = {m: self.progress.add_task(m, total=1.0) for m in models}
        self._last = 0.0

    def __enter__(self) -> ProgressBars:
        self.progress.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        for task in self.tasks.values():
            if exc is None:
                self.progress.update(task, completed=1.0)
        self.progress.stop()

    def update(self, model: str, done: float) -> None:
        now = time.monotonic()
        if now - self._last >= REFRESH_S:
            self._last = now
            self.progress.update(self.tasks[model], completed=min(1.0, done))


def _cell(scores: dict[str, Any], kind: str) -> str:
    k = scores["by_kind"][kind]
    return f"{k['in_zone_accuracy']:.3f} {k['visit_precision']:.2f}/{k['visit_recall']:.2f}"


def model_table(name: str, block: dict[str, Any]) -> Table:
    methods: dict[str, dict[str, Any]] = block["methods"]
    any_scores = next(iter(methods.values()))
    minutes = {kind: any_scores["by_kind"][kind]["minutes"] for kind in KINDS}
    table = Table(
        title=f"radio {name}: {block['sightings']} sightings, {block['true_visits']} true visits",
        caption="per kind: share of in-zone dwell-minutes placed right, visit precision/recall",
    )
    table.add_column("method")
    for kind in KINDS:
        table.add_column(f"{kind} ({minutes[kind]:.0f} min)", justify="right")
    table.add_column("in-zone all", justify="right")
    table.add_column(f"corridor->zone ({any_scores['corridor_minutes']:.0f} min)", justify="right")
    table.add_column("dwell all", justify="right")
    table.add_column("visits P/R", justify="right")
    table.add_column("sightings/s", justify="right")
    for method, scores in methods.items():
        table.add_row(
            method,
            *(_cell(scores, kind) for kind in KINDS),
            f"{scores['in_zone_accuracy']:.3f}",
            f"{scores['corridor_in_zone_share']:.3f}",
            f"{scores['dwell_accuracy']:.3f}",
            f"{scores['visit_precision']:.2f}/{scores['visit_recall']:.2f}",
            f"{scores['sightings_per_s']:,}",
        )
    return table


def print_tables(result: dict[str, Any], console: Console) -> None:
    wide = Console(stderr=console.stderr, width=max(console.width, TABLE_WIDTH))  # a log file is not 80 wide
    for name, block in result["models"].items():
        wide.print(model_table(name, block))
