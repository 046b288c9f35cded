"""The ``crowd`` radio model: the ``lognormal`` hall with people in it.

Three things people do to 2.4 GHz that the engine's model averages away:

- **The wearer's body.** A badge on the chest is shadowed by its wearer toward scanners behind them, by
  ~8 dB (the body is mostly water), and a person faces one way for minutes: talking at a stand, sitting in
  a talk. Each wearer faces a direction drawn per spell of 2-6 minutes (its own clock, from its beacon id).
- **Other people.** Every body near the straight line between badge and scanner costs a few dB. Counted from
  the simulated crowd itself: per window, people per 4 m cell; a pair's blockers are the people in the cells
  its line crosses, times the share of a cell a body on the line covers.
- **Fast fading.** Multipath makes each advert's power fluctuate: Rician (a line of sight dominates) when
  nothing blocks the pair, Rayleigh (scatter only, deep fades) when a body does.

Deterministic like the rest: facings come from the beacon id and the spell number, not from a shared draw.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

from server.simulator.radio import BadgeState
from server.simulator.radios.base import Faults
from server.simulator.radios.lognormal import LogNormalRadio
from server.simulator.scenario import Scenario

BODY_LOSS_DB = 8.0  # the wearer's torso between a chest badge and a scanner behind them
# Fully behind (>= 135 degrees off the facing direction) costs all of it; to the side (90 degrees) nothing.
BODY_FREE_DEG, BODY_FULL_DEG = 90.0, 135.0
FACING_SPELL_S = (120.0, 360.0)  # a person keeps facing one way for 2-6 minutes (a chat, a talk, a demo)
CELL_M = 4.0  # people are counted per 4 m cell: a crowd's grain, cheap to recount every window
PERSON_LOSS_DB = 4.0  # one other body across the line of sight (3-6 dB in published 2.4 GHz measurements)
# A body (~0.5 m wide) on a line that crosses a 4 x 4 m cell over ~4 m covers ~0.5 * 4 / 16 of its people.
BLOCK_SHARE = 0.125
CROWD_MAX_DB = 20.0  # past this the advert goes round the crowd (reflections off the ceiling) instead
LOS_K_FACTOR = 4.0  # Rician K (6 dB) with a clear line of sight in a hall
BLOCKED_BELOW = 0.5  # expected blockers under this: the line counts as clear (Rician); else Rayleigh


class CrowdRadio(LogNormalRadio):
    """Lognormal plus body blocking, crowd attenuation and fast fading (see the module docstring)."""

    name = "crowd"

    def __init__(self, scenario: Scenario, seed: int, faults: Faults) -> None:
        super().__init__(scenario, seed, faults)
        self._cols = max(1, math.ceil(scenario.width / CELL_M))
        self._rows = max(1, math.ceil(scenario.height / CELL_M))
        self._counts: list[int] = [0] * (self._cols * self._rows)
        self._paths: dict[tuple[int, int], tuple[int, ...]] = {}
        self._spells: dict[str, tuple[float, float]] = {}  # beacon -> (spell length, phase)
        self._facing: dict[tuple[str, int], float] = {}
        self._now = 0.0

    def _cell(self, x: float, y: float) -> int:
        col = min(self._cols - 1, max(0, int(x // CELL_M)))
        row = min(self._rows - 1, max(0, int(y // CELL_M)))
        return row * self._cols + col

    def facing(self, beacon_id: str, t: float) -> float:
        """Where the wearer faces at ``t`` (radians): one direction per spell, spells of 2-6 minutes."""
        spell = self._spells.get(beacon_id)
        if spell is None:
            own = random.Random(f"spell:{beacon_id}")
            spell = (own.uniform(*FACING_SPELL_S), own.random())
            self._spells[beacon_id] = spell
        n = int(t / spell[0] + spell[1])
        key = (beacon_id, n)
        angle = self._facing.get(key)
        if angle is None:
            angle = random.Random(f"facing:{beacon_id}:{n}").uniform(-math.pi, math.pi)
            if len(self._facing) > 100_000:  # bounded: old spells are never asked for again
                self._facing.clear()
            self._facing[key] = angle
        return angle

    def body_loss_db(self, facing: float, bx: float, by: float, sx: float, sy: float) -> float:
        """The wearer's own body between a badge at (bx, by) facing ``facing`` and a scanner at (sx, sy)."""
        off = abs((math.atan2(sy - by, sx - bx) - facing + math.pi) % (2 * math.pi) - math.pi)
        share = (math.degrees(off) - BODY_FREE_DEG) / (BODY_FULL_DEG - BODY_FREE_DEG)
        return BODY_LOSS_DB * min(1.0, max(0.0, share))

    def path_cells(self, index: int, cell: int) -> tuple[int, ...]:
        """The 4 m cells the line from scanner ``index`` to the centre of ``cell`` crosses (ends included)."""
        key = (index, cell)
        known = self._paths.get(key)
        if known is None:
            d = self.scanners[index].device
            row, col = divmod(cell, self._cols)
            px, py = (col + 0.5) * CELL_M, (row + 0.5) * CELL_M
            steps = max(1, int(math.dist((d.x, d.y), (px, py)) / (CELL_M / 4)))
            seen: dict[int, None] = {}
            for k in range(steps + 1):
                f = k / steps
                seen[self._cell(d.x + (px - d.x) * f, d.y + (py - d.y) * f)] = None
            known = tuple(seen)
            self._paths[key] = known
        return known

    def _prepare(self, w0: float, w1: float, badges: Sequence[BadgeState]) -> None:
        counts = [0] * (self._cols * self._rows)
        for b in badges:
            counts[self._cell(b.x, b.y)] += 1
        self._counts = counts
        self._now = (w0 + w1) / 2

    def _extra_losses(self, badge: BadgeState) -> tuple[list[float], list[float]] | None:
        facing = self.facing(badge.beacon_id, self._now)
        cell = self._cell(badge.x, badge.y)
        counts = self._counts
        losses: list[float] = []
        k_factors: list[float] = []
        for i, s in enumerate(self.scanners):
            d = s.device
            body = self.body_loss_db(facing, badge.x, badge.y, d.x, d.y)
            people = sum(counts[c] for c in self.path_cells(i, cell)) - 1  # not the wearer
            blockers = BLOCK_SHARE * max(0, people)
            losses.append(body + min(CROWD_MAX_DB, PERSON_LOSS_DB * blockers))
            k_factors.append(LOS_K_FACTOR if body == 0.0 and blockers < BLOCKED_BELOW else 0.0)
        return losses, k_factors
