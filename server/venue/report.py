"""What an import did: one report shape for venue files and registration lists, on the CLI and the API."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, Field


@dataclass(frozen=True, slots=True)
class RowError:
    """A row that was not imported, and why. ``line`` is the CSV line (header = 1) or the 1-based JSON item."""

    line: int
    reason: str


class KindCounts(BaseModel):
    created: int = 0
    updated: int = 0
    unchanged: int = 0


class ImportReport(BaseModel):
    """Totals, per-kind counts (venue imports) and the rows refused (registration imports).

    A second import of the same input reports everything ``unchanged``: that is how idempotency shows.
    """

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    by_kind: dict[str, KindCounts] = Field(default_factory=dict)
    changed_devices: list[str] = Field(default_factory=list, description="devices whose config must be re-sent")

    def count(self, kind: str, outcome: str) -> None:
        """Record one ``created``/``updated``/``unchanged`` row of ``kind``."""
        counts = self.by_kind.setdefault(kind, KindCounts())
        setattr(counts, outcome, getattr(counts, outcome) + 1)
        setattr(self, outcome, getattr(self, outcome) + 1)

    @property
    def failed(self) -> int:
        return len(self.errors)
