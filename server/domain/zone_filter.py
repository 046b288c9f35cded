"""An online forward filter over places (zones and the corridor) for one badge: a hidden-Markov smoother.

Pure. Why: a zone decision from one window's costs is only as good as the radio model behind it. A hall that
differs from the model (another exponent, a pole-mounted scanner, a body between badge and scanner for
minutes) shifts every cost, so an absolute gate ("enter when the cost is under 12 dB") is never met there and
the badge never enters a booth. What stays true on any hall is the *comparison*: which place explains the
readings best, relative to the others, and how long people stay where they are. The filter keeps a belief
(a probability per place) and, per evaluation:

1. **predict**: each place keeps its share with the probability a badge stays there for ``dt`` seconds
   (``exp(-dt / dwell)``: people stay minutes in a zone, seconds in the aisle); what leaves is spread over
   the places the radio says are near now (the candidates of this evaluation: the floor plan's neighbours as
   the scanners hear them);
2. **update**: each place's share is multiplied by its likelihood, ``exp(-excess / (2 * var))`` where
   ``excess`` is how much worse its best spot explains the readings than the best place's; the place the badge
   is in has a dead zone taken off (a challenger must explain the readings clearly better: hysteresis).

A place that is not among this evaluation's candidates (its spots disagree with the strongest reading) gets
the worst candidate's likelihood, and never better than one reading off by the robust cap.

Example: a badge in booth A whose scanner is blocked by a body reads 9 dB low for 3 minutes; the booth's best
spot is now 30 dB^2 worse than a spot in the aisle (the residual is capped by the radio map's robust cost);
minus the 16 dB^2 dead zone, the aisle gains a factor ~2 per window, while leaving a booth is only 1 - 0.98
likely per window: the belief needs several windows of consistent evidence, and a body that moves away
leaves the badge where it was.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

CORRIDOR = "\x00corridor"  # the place "in no zone" (None is "no place" in dict lookups)
MIN_SHARE = 1e-6  # places believed less than this are dropped: a belief holds only the few places nearby


def predict(belief: dict[str, float], dt: float, candidates: Mapping[str, float], zone_dwell_s: float,
            corridor_dwell_s: float) -> None:  # fmt: skip
    """Move the belief ``dt`` seconds on, in place: stays by dwell, the rest spread over ``candidates``."""
    if dt <= 0 or not belief:
        return
    stay_zone = math.exp(-dt / zone_dwell_s)
    stay_corridor = math.exp(-dt / corridor_dwell_s)
    leaving = 0.0
    for place, share in belief.items():
        stay = stay_corridor if place == CORRIDOR else stay_zone
        leaving += share * (1 - stay)
        belief[place] = share * stay
    if not candidates:
        return
    each = leaving / len(candidates)
    for place in candidates:
        belief[place] = belief.get(place, 0.0) + each


def update(
    belief: dict[str, float], costs: Mapping[str, float], incumbent: str, dead_zone: float, var: float, outside: float
) -> None:
    """Weigh the belief by each place's likelihood from its cost (dB^2), in place, and normalise it. A place
    not in ``costs`` disagrees with the strongest reading beyond the candidates' ring: it costs at least
    ``outside`` more than the best place. The ``incumbent`` (the place the badge is in) has ``dead_zone``
    taken off its excess: hysteresis. An empty belief starts from the likelihoods alone."""
    if not costs:
        return
    best, worst = min(costs.values()), max(costs.values())
    scale = -1 / (2 * var)

    def weight(cost: float, place: str = "") -> float:
        return math.exp(scale * max(0.0, cost - best - (dead_zone if place == incumbent else 0.0)))

    floor = weight(max(worst, best + outside))
    if not belief:
        belief.update({place: weight(cost, place) for place, cost in costs.items()})
    else:
        for place, share in belief.items():
            cost = costs.get(place)
            belief[place] = share * (floor if cost is None else weight(cost, place))
        for place in costs:
            if place not in belief:
                belief[place] = 0.0
    total = sum(belief.values())
    if total <= 0:  # every believed place is now impossible: start again from the evidence
        belief.clear()
        belief.update({place: weight(cost, place) for place, cost in costs.items()})
        total = sum(belief.values())
    for place in [p for p, share in belief.items() if share / total < MIN_SHARE]:
        del belief[place]
    total = sum(belief.values())
    for place in belief:
        belief[place] /= total


def most_likely(belief: Mapping[str, float]) -> tuple[str, float]:
    """The place with the largest share, and that share."""
    place = max(belief, key=belief.__getitem__)
    return place, belief[place]


def with_loudest(costs: Mapping[str, float], own: str, zone_db2: float, aisle_db2: float) -> dict[str, float]:
    """``costs`` with the loudest scanner's zone ``own`` as evidence: the corridor costs ``aisle_db2`` more
    than ``own``, other zones ``zone_db2`` more (``own`` joins at the worst cost if it was not a candidate).

    Why: which scanner hears a badge best survives a model that is off in level (a crowd, a shadow), where
    the fit of absolute levels drifts to the aisle (further from every scanner). A fixed weight, not an
    override: a place the readings fit clearly better still wins. Example: a body 10 dB in front of a stand's
    only scanner; the map's best spot moves to the aisle in front, but the stand's scanner is still the
    loudest, and the badge stays in the stand. A weight of 0 (``zone_db2 == aisle_db2 == 0``) changes nothing.
    """
    if zone_db2 <= 0 and aisle_db2 <= 0:
        return dict(costs)
    out = dict(costs)
    out[own] = out.get(own, max(costs.values())) - aisle_db2
    others = zone_db2 - aisle_db2
    for place in out:
        if place not in (own, CORRIDOR):
            out[place] += others
    return out
