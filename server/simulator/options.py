"""Command-line options shared by ``touchpoints simulate``, ``seed`` and ``bench presence``.

Light on purpose (typer only): the CLI imports this at start-up, the simulator itself inside each command.
The faults default to each radio model's own (none for ``engine``, the issue's hall for the others).
"""

from __future__ import annotations

from typing import Annotated

import typer

VenueOption = Annotated[str, typer.Option(help="Floor plan: default (120 x 80 m conference) or hall (60 x 40 m show)")]
LossOption = Annotated[
    str | None, typer.Option(help="Adverts lost per scanner, LOW-HIGH shares (model default: lognormal/crowd 0.2-0.4)")
]
SkewOption = Annotated[float | None, typer.Option(min=0, help="Scanner clocks off by up to +-this many ms")]
OutagesOption = Annotated[int | None, typer.Option(min=0, help="Scanners that go dark during the run")]
OutageSOption = Annotated[float | None, typer.Option(min=0, help="How long each stays dark (s)")]
FaultSeedOption = Annotated[int | None, typer.Option(help="Seed of the faults (default: --seed)")]
