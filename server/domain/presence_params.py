"""The presence engine's settings: every threshold a named constant with its reason (see docs/presence.md).

Kept apart from :mod:`server.domain.presence` (which re-exports it) so the engine module stays about the
method; the radio map, the filter and the bench read the same values.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PresenceParams:
    # Path-loss exponent: the edge estimates distance with 2.5 (an exhibition hall full of people).
    path_loss_exponent: float = 2.5
    # A scanner on a stand never reads a chest-worn badge as closer than about a metre.
    min_distance_m: float = 1.0
    # Scanners sit on a stand or counter (~2.4 m), badges hang at chest height (~1.2 m): the radio distance
    # is never the floor distance, and the difference matters most right at the reader.
    height_diff_m: float = 1.2
    # A room wall plus its door frame costs ~8 dB at 2.4 GHz; booths, entrances and lounges are open.
    wall_loss_db: float = 8.0
    # A scanner's latest reading speaks for this long: two 2 s windows, so one lost window changes nothing,
    # while a walker (1.2 m/s) has moved only ~5 m since.
    reading_max_age_s: float = 5.0
    # Each scanner's path loss is averaged over about this long (an exponential moving average): a person
    # standing at a stand or in a talk stays for minutes; three windows' worth cuts the noise by ~40 %.
    smoothing_s: float = 6.0
    # ... but a change this large is a move, not noise (2x the distance): the average restarts from it.
    jump_db: float = 8.0
    # The radio map's spots are this far apart: finer than a booth, coarse enough to stay cheap.
    grid_m: float = 2.0
    # Corridor spots beyond the outermost zones, this far out. None: stands and rooms line a hall's walls, and
    # spots behind a stand's back-wall scanner (outside the hall) read like the stand itself: with 6 m, the
    # bench's 60 x 40 m hall put booth badges there (booths 0.24 in-zone under the crowd model, 0.40 with none;
    # the 120 x 80 m default venue, whose outer aisles lie outside every zone, loses 0.5 points). Set it to the
    # width of an aisle that runs along the walls outside every zone. Aisles between zones are always corridor.
    corridor_margin_m: float = 0.0
    # The map treats further spots as this far (memory grows with its square). A scanner 45 m away still hears
    # a badge in ~16 % of 2 s windows (under 2 % only past ~65 m): zones discount it (expected_costs).
    map_range_m: float = 45.0
    # A spot is a candidate when the strongest reading agrees with it within this (about 1.5 sigmas: the
    # strongest reading is near, hence uncensored and the most precise).
    ring_db: float = 5.0
    # A weak strongest reading (a badge far from every scanner) draws a wide ring; past this many spots the
    # engine compares a coarser map's spots (4 m, then 8 m apart): far from scanners precision is lower anyway.
    max_candidates: int = 100
    # A scanner without a position vouches for its own zone up to ~10 m.
    unplaced_reach_db: float = 25.0
    # How readings are heard (the radio map predicts what a scanner reports, not just the mean loss):
    # the weakest advertisement a typical BLE radio still decodes; anything weaker is simply not reported.
    sensitivity_dbm: float = -95.0
    # Per-advertisement jitter (multipath, bodies). Near the sensitivity only the lucky strong adverts are
    # heard, so a far scanner reads too strong by sigma * phi(a) / Phi(a): the map expects that, instead
    # of ignoring far readings.
    advert_noise_db: float = 4.0
    # Share of adverts a scanner misses even at close range (collisions, channel hopping, duty cycle).
    advert_loss: float = 0.10
    # Badges advertise about once a second: how many chances a scanner had to hear one in a reading's age.
    advert_hz: float = 1.0
    # The noise of one reading after the edge's median and our averaging: it converts probabilities into
    # the same dB^2 as residuals (cost = residual^2, or -2 * noise^2 * ln(probability)).
    reading_noise_db: float = 2.0
    # Negative evidence: a scanner that should hear a spot loudly and reports nothing speaks against that
    # spot, at most this much (a badge in a pocket or behind a crowd can still be missed).
    max_silence_db: float = 8.0
    # A scanner that has heard no badge at all for this long is down, not evidence of absence.
    scanner_down_s: float = 30.0
    # Robust readings: one scanner's residual costs at most this squared. A body between badge and scanner
    # reads 8-10 dB low for minutes, a pole-mounted or shadowed scanner several dB off: one such scanner must
    # not outvote the others (a heavy-tailed emission; 7 dB is 3.5 reading sigmas).
    robust_cap_db: float = 7.0
    # Decisions are relative (zone_filter): a place's likelihood is exp(-excess / (2 * emission_sd_db^2)),
    # its excess being how much worse (dB^2) its best spot explains the readings than the best place's.
    # 3 dB: the sum over scanners is far noisier than one reading off-model (exponent, gain, shadowing).
    emission_sd_db: float = 3.0
    # The place the badge is in has this much (squared) taken off its excess: a challenger must explain the
    # readings better by more than one scanner's capped residual (robust_cap_db), so one scanner read 8-10 dB
    # low for minutes (a body) never moves a badge on its own; a real move changes several scanners.
    switch_margin_db: float = 7.0
    # ... but the aisle is a place people pass through (corridor_dwell_s): its head start is a fade's, not a body's.
    corridor_switch_margin_db: float = 4.0
    # Which scanner hears a badge loudest is a relative signal: a crowd or a body that attenuates every
    # reading leaves it intact, while the map's fit of absolute levels drifts to the aisle (further from every
    # scanner). When a zone's scanner is loudest (presence._with_loudest), the aisle costs loudest_aisle_db
    # squared more than that zone, other zones loudest_zone_db squared more: an emission term of fixed weight,
    # not an override. Hall bench (60 badges, 15 min, seed 11), in-zone dwell without a survey: crowd model
    # 0.642 -> 0.821 (nearest scanner 0.814), engine model 0.979 -> 0.990. A larger zone term (14 dB) moved
    # badges to neighbouring stands on the engine's own model (0.951 < nearest 0.952); a smaller aisle term
    # (7 dB) left crowded booths in the aisle (0.745).
    loudest_zone_db: float = 8.0
    loudest_aisle_db: float = 16.0
    # ... at full weight when the loudest scanner leads the loudest of any other place by this much, less below:
    # a neighbour half a dB louder is noise (one reading's sd after averaging is 2 dB) and must not take a
    # badge; two stands' scanners heard alike from the aisle between them say nothing. 4 dB cost the crowd
    # model what the term gained (0.809 < nearest 0.814 on seed 11).
    loudest_lead_db: float = 2.0
    # With a survey, a place's cost blends the map's and the fingerprint's at this share of the fingerprint:
    # both explain the same readings, so their sum counted the evidence twice (and the dead zone and the
    # loudest-scanner term weighed half as much as without a survey). Crowd model, seed 11: 0.795 -> 0.854.
    fingerprint_blend: float = 0.5
    # A zone's fingerprint counts a silence against it only for scanners the walk heard there this often.
    fingerprint_silence_share: float = 0.5
    # Typical stays (the filter's dwell prior): minutes in a zone, seconds crossing the aisle.
    zone_dwell_s: float = 180.0
    corridor_dwell_s: float = 20.0
    # The only absolute gate left: readings no spot of a zone explains within this (root of the summed
    # excess over what a badge truly there scores, dB) enter no zone. 5/3 of the old 12 dB enter gate: it
    # catches impossible readings (two scanners 24 m apart both at 2 m), not a hall that differs from the model.
    implausible_cost_db: float = 20.0
    # ... and keep winning this long: longer than a fade, a person passing between badge and scanner, or a
    # step into the aisle (visits are back-dated, so waiting costs no dwell, only live latency).
    confirm_s: float = 12.0
    # Walk-bys (a few seconds to half a minute in a stand) are not visits; the shortest conversation is.
    min_visit_s: float = 45.0
    # Unseen by every scanner this long means gone: adverts drop ~10 % per scanner, so ~10 windows of
    # silence is not bad luck but a badge that left (or a pocket that swallowed it).
    away_after_s: float = 20.0
    # After a tap the attendee stands at the reader: BLE does not contradict it for this long.
    tap_hold_s: float = 10.0
