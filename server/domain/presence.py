"""Presence: which zone each badge is in, and the visits that follow, from many scanners' sightings.

Pure: no I/O and no clock. Time comes from the sightings themselves and from :meth:`PresenceEngine.advance`,
which the live adapter calls every second or so (and the bench after every scan window).

How a zone is decided (see docs/presence.md for the organizer's version):

1. Every sighting becomes a *path loss*: how many dB the badge's signal lost on its way to that scanner,
   after the scanner's calibration offset (``Scanner.rssi_offset_db``). The edge's distance estimate already
   uses the badge's own advertised 1 m power, so ``10 * n * log10(distance_m)`` is that loss; without a
   distance we fall back to ``DEFAULT_RSSI_1M - rssi``. Only each scanner's latest reading is kept, and only
   for ``reading_max_age_s``: memory per badge is bounded by the scanners that hear it.
2. A radio map, precomputed from the floor plan: spots ``grid_m`` apart over the zones and the corridors
   around them, and for every spot and placed scanner what that scanner *reports* of a badge there: the
   log-distance loss (scanner ``height_diff_m`` above the badge, a wall loss for rooms) as it is actually
   heard — far away only the adverts that noise lifts above the radio's sensitivity are heard, so a far
   reading is expected too strong — and the cost of hearing it or of hearing nothing at all (stored only for
   the spots within ``map_range_m`` of each scanner: beyond, a scanner's value is constant). Silence is
   evidence: a scanner that should hear a spot loudly and reports nothing speaks against that spot
   (unless it is down: it has heard no badge for ``scanner_down_s``). The spots that agree with the
   strongest reading are candidates; each is scored against *every* reading (one scanner's residual capped at
   ``robust_cap_db``) and every silence (squared dB); a place's cost is its best spot's, a spot outside every
   zone meaning a corridor, i.e. *no* zone. With a survey's calibration the map uses each scanner's fitted
   gain and exponent, and a zone's fingerprint cost (:mod:`server.domain.fingerprint`) is blended with its own.
3. Decisions are relative, never an absolute cost gate (those were never met in halls unlike the model): a
   forward filter over places (:mod:`server.domain.zone_filter`) with a dwell prior keeps a belief per badge;
   the current place has ``switch_margin_db`` of head start (hysteresis); the most likely place takes over
   when it has stayed most likely for ``confirm_s``, back-dated to the first window it explained best. Only
   readings no spot of a zone explains within ``implausible_cost_db`` keep a badge out of that zone.
4. Visits are back-dated: a visit starts at the first evidence of its zone and ends at the last evidence
   (never at the moment a timeout noticed it). It is announced (:class:`VisitStarted`) only once it has
   lasted ``min_visit_s``: a walk-by is not a visit. A badge unseen for ``away_after_s`` has left
   (automatic check-out).
5. An NFC tap is definitive: it puts the attendee in the reader's zone at once and its visit counts
   however short it is.

Staff badges are the caller's business: the adapter must not feed them (the engine cannot tell a badge's
role), exactly as it must not feed badges whose holder has not consented to tracking.

Example::

    >>> from server.domain.model import ZoneKind
    >>> zones = [Zone("booth-1", ZoneKind.BOOTH, 0, 0, 9, 7)]
    >>> engine = PresenceEngine(zones, [Scanner("s1", "booth-1", 4.5, 6.0)])
    >>> for t in range(0, 60, 2):
    ...     events = engine.observe([Sighting("att-1", "s1", -62.0, t, t + 1.5, 2, 1.3)])
    ...     events += engine.advance(t + 2)
    >>> engine.zone_of("att-1"), [type(e).__name__ for e in events]
    ('booth-1', [])
    >>> engine.open_visits()[0].started_at
    0
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import replace

from server.domain.fingerprint import FingerprintIndex
from server.domain.model import Scanner, Sighting, Tap, Visit, VisitEnded, VisitEvent, VisitStarted, Zone
from server.domain.presence_params import PresenceParams
from server.domain.radio_map import DEFAULT_RSSI_1M, RadioMap, expected_reading
from server.domain.survey import Calibration, ScannerStatus
from server.domain.zone_filter import CORRIDOR, most_likely, predict, update, with_loudest

__all__ = ["DEFAULT_RSSI_1M", "PresenceEngine", "PresenceParams", "expected_reading"]


_NO_ZONE = CORRIDOR  # the challenger value for "in no zone" (None means "no challenger")


class _Badge:
    """What the engine remembers about one badge: O(scanners in earshot), a few floats otherwise."""

    __slots__ = (
        "attendee_id",
        "belief",
        "belief_at",
        "challenger",
        "challenger_since",
        "emitted",
        "last_seen",
        "leader",
        "leader_since",
        "pending_first",
        "readings",
        "tap_until",
        "zone",
        "zone_last",
        "zone_since",
    )

    def __init__(self, attendee_id: str) -> None:
        self.attendee_id = attendee_id
        self.readings: dict[str, tuple[float, float]] = {}  # scanner id -> (path loss dB, last seen)
        self.last_seen = -math.inf
        self.pending_first = math.inf  # earliest first_seen since the last evaluation
        self.zone: str | None = None
        self.zone_since = 0.0
        self.zone_last = 0.0
        self.emitted = False
        self.tap_until = -math.inf
        self.challenger: str | None = None
        self.challenger_since = 0.0
        self.belief: dict[str, float] = {}  # place (zone id or CORRIDOR) -> probability (zone_filter)
        self.belief_at = -math.inf
        self.leader = ""  # the place that explained the latest window best, and since when in a row
        self.leader_since = 0.0


class PresenceEngine:
    """Zones and visits for every badge; see the module docstring for the method."""

    def __init__(
        self,
        zones: Iterable[Zone],
        scanners: Iterable[Scanner],
        params: PresenceParams = PresenceParams(),
        calibration: Calibration | None = None,
    ) -> None:
        self.params = params
        self._calibration = calibration
        self._badges: dict[str, _Badge] = {}
        self._dirty: set[str] = set()
        self._next_sweep = -math.inf
        self.update_venue(zones, scanners)

    # --- venue -------------------------------------------------------------------------------------------
    def update_venue(self, zones: Iterable[Zone], scanners: Iterable[Scanner]) -> None:
        """Replace the floor plan (live edits). Badges keep their state; unknown scanners are ignored.

        Precomputes the radio map (:class:`~server.domain.radio_map.RadioMap`): a grid of candidate spots
        (``grid_m`` apart, over the zones plus a corridor margin), each labelled with its zone (or None), with
        what every placed scanner would report there, stored only for the spots within ``map_range_m`` of it
        (further away a scanner's value is one of three constants); and per scanner those spots sorted by that
        loss, so a reading finds the ring of spots that agree with it by bisection. Decisions equal a dense
        map's except for a reading too weak to place the badge within ``map_range_m`` of the scanner that
        hears it best (~20 m from every scanner): a dense map then also weighed spots beyond that range.
        """
        self._zones = {z.id: z for z in zones}
        self._scanners = {s.id: s for s in scanners}
        radio, exponents, wall_loss = self._calibrated(list(self._scanners.values()))
        self._offset = {s.id: s.rssi_offset_db for s in radio}
        self._scanner_zone = {s.id: s.zone_id for s in self._scanners.values() if s.zone_id in self._zones}
        placed = [s for s in radio if s.x is not None and s.y is not None]
        self._map = RadioMap(list(self._zones.values()), placed, self.params, exponents, wall_loss)
        cal, p = self._calibration, self.params
        self._fingerprints = None
        if cal is not None and cal.fingerprints:
            self._fingerprints = FingerprintIndex(
                cal.fingerprints, CORRIDOR, noise_db=p.reading_noise_db, cap_db=p.robust_cap_db,
                sensitivity_dbm=p.sensitivity_dbm, min_share=p.fingerprint_silence_share,
            )  # fmt: skip
        self._heard_at = {k: v for k, v in getattr(self, "_heard_at", {}).items() if k in self._scanners}
        self._down: list[str] = []
        for badge in self._badges.values():  # readings from scanners that are gone say nothing any more
            for scanner_id in [k for k in badge.readings if k not in self._scanners]:
                del badge.readings[scanner_id]

    def update_calibration(self, calibration: Calibration | None) -> None:
        """Use a new survey walk's calibration (None: back to the documented defaults) from now on; badges
        keep their state. Rebuilds the radio map, as a venue edit does."""
        self._calibration = calibration
        self.update_venue(list(self._zones.values()), list(self._scanners.values()))

    def _calibrated(self, scanners: list[Scanner]) -> tuple[list[Scanner], dict[str, float], float | None]:
        """The scanners as the radio map sees them: a fitted scanner's gain becomes its offset (its reading's
        loss is then ``gain - rssi``: the offset is ``DEFAULT_RSSI_1M - gain``) and its exponent its own; a
        scanner the walk could not fit (default, dead, misplaced) keeps the venue's offset and 2.5."""
        cal = self._calibration
        if cal is None:
            return scanners, {}, None
        out, exponents = [], {}
        for s in scanners:
            fit = cal.scanners.get(s.id)
            if fit is not None and fit.status == ScannerStatus.OK:
                s = replace(s, rssi_offset_db=DEFAULT_RSSI_1M - fit.gain_db)
                exponents[s.id] = fit.exponent
            out.append(s)
        return out, exponents, cal.wall_loss_db

    # --- input -------------------------------------------------------------------------------------------
    def observe(self, sightings: Iterable[Sighting]) -> list[VisitEvent]:
        """Record readings (any order, any scanners). Zones are decided in :meth:`advance`, once a window's
        readings from every scanner are in; this stays a few dict operations per sighting (the hot path)."""
        badges, offset, dirty = self._badges, self._offset, self._dirty
        ten_n = 10 * self.params.path_loss_exponent
        tau, max_age, jump = self.params.smoothing_s, self.params.reading_max_age_s, self.params.jump_db
        log10 = math.log10
        heard_at = self._heard_at
        for s in sightings:
            off = offset.get(s.device_id)
            if off is None:
                continue  # a scanner presence does not know (not placed yet): its readings mean nothing
            heard_at[s.device_id] = s.last_seen
            if s.distance_m is not None and s.distance_m > 0:
                loss = ten_n * log10(s.distance_m) - off
            else:
                loss = DEFAULT_RSSI_1M - s.rssi - off
            badge = badges.get(s.attendee_id)
            if badge is None:
                badge = badges[s.attendee_id] = _Badge(s.attendee_id)
            known = badge.readings.get(s.device_id)
            if known is not None:
                dt = s.last_seen - known[1]
                if dt < 0:
                    continue  # an older window arriving late: the newer reading stands
                if dt <= max_age and abs(loss - known[0]) < jump:  # same stay: average, the median wobbles
                    loss = known[0] + (loss - known[0]) * (dt / tau if dt < tau else 1.0)
            badge.readings[s.device_id] = (loss, s.last_seen)
            if s.last_seen > badge.last_seen:
                badge.last_seen = s.last_seen
            if s.first_seen < badge.pending_first:
                badge.pending_first = s.first_seen
            dirty.add(s.attendee_id)
        return []

    def tap(self, tap: Tap) -> list[VisitEvent]:
        """An NFC tap puts the attendee in the reader's zone at once, whatever BLE says."""
        zone_id = self._scanner_zone.get(tap.device_id)
        if zone_id is None:
            return []
        badge = self._badges.get(tap.attendee_id)
        if badge is None:
            badge = self._badges[tap.attendee_id] = _Badge(tap.attendee_id)
        events: list[VisitEvent] = []
        badge.last_seen = max(badge.last_seen, tap.at)
        badge.tap_until = tap.at + self.params.tap_hold_s
        badge.belief, badge.belief_at = {zone_id: 1.0}, tap.at  # definitive: the filter restarts from it
        if badge.zone != zone_id:
            first = badge.challenger_since if badge.challenger == zone_id else tap.at
            events += self._switch(badge, zone_id, min(first, tap.at))
        badge.zone_last = max(badge.zone_last, tap.at)
        badge.challenger = None
        if not badge.emitted:
            badge.emitted = True
            events.append(VisitStarted(Visit(badge.attendee_id, zone_id, badge.zone_since)))
        return events

    def advance(self, now: float) -> list[VisitEvent]:
        """Decide zones from the readings received so far, confirm or drop challengers, announce visits that
        reached the minimum dwell and close the visits of badges unseen for ``away_after_s``."""
        events: list[VisitEvent] = []
        badges = self._badges
        for attendee_id in self._dirty:
            badge = badges.get(attendee_id)
            if badge is not None:
                self._evaluate(badge, now, events)
        self._dirty.clear()
        # Timeouts need no message: sweep about once a second of data time; and again at once when time went
        # back (an idle tick on the wall clock before the first signal, then a replay of older data), or the
        # scanners judged down then would stay so.
        if now >= self._next_sweep or now < self._next_sweep - 2.0:
            self._next_sweep = now + 1.0
            quiet = now - self.params.scanner_down_s
            self._down = [k for k in self._map.coverage if self._heard_at.get(k, -math.inf) < quiet]
            away = self.params.away_after_s
            for attendee_id in [a for a, b in badges.items() if now - b.last_seen >= away]:
                badge = badges.pop(attendee_id)
                if badge.zone is not None:
                    events += self._close(badge)
        return events

    def forget(self, attendee_id: str, now: float) -> list[VisitEvent]:
        """Consent withdrawn: close the open visit (at its last evidence, or ``now`` if none) and drop all state."""
        badge = self._badges.pop(attendee_id, None)
        self._dirty.discard(attendee_id)
        if badge is None or badge.zone is None:
            return []
        badge.zone_last = min(badge.zone_last, now)
        return self._close(badge)

    # --- output ------------------------------------------------------------------------------------------
    def open_visits(self) -> list[Visit]:
        """Visits announced and not yet ended (walk-bys still under the minimum dwell are not listed)."""
        return [Visit(b.attendee_id, b.zone, b.zone_since) for b in self._badges.values() if b.zone and b.emitted]

    def zone_of(self, attendee_id: str) -> str | None:
        """The confirmed zone the badge is in now (also during its first ``min_visit_s``), None in corridors."""
        badge = self._badges.get(attendee_id)
        return badge.zone if badge is not None else None

    def occupancy(self) -> dict[str, int]:
        """Zone id -> badges currently in it (zones nobody is in are left out)."""
        out: dict[str, int] = {}
        for badge in self._badges.values():
            if badge.zone is not None:
                out[badge.zone] = out.get(badge.zone, 0) + 1
        return out

    # --- the decision ------------------------------------------------------------------------------------
    def _place_costs(self, badge: _Badge, now: float) -> tuple[dict[str, float], Callable[[str], bool]] | None:
        """Per place (zone id, or CORRIDOR) the robust cost (dB^2) of its best-fitting spot among the spots that
        agree with the strongest reading, and a check that a zone's best spot is not implausible (see
        ``implausible_cost_db``). None when nothing usable was heard (only unplaced or stale readings)."""
        p = self.params
        oldest = now - p.reading_max_age_s
        readings = badge.readings
        for k in [k for k, (_, seen) in readings.items() if seen < oldest]:
            del readings[k]
        if not readings:
            return None
        first_id, (first_loss, _) = min(readings.items(), key=lambda item: item[1][0])
        placed = self._map.place_costs(first_id, first_loss, readings, self._down)
        if placed is None:  # the strongest scanner has no position: it can only vouch for its own zone
            own = self._scanner_zone.get(first_id)
            if first_loss > p.unplaced_reach_db or own is None:
                return None
            return {own: 0.0}, lambda zone_id: True
        zones, costs, constant, spots = placed
        # Each place's best spot: in descending cost order the last (cheapest) spot of a place wins.
        at = {zones[i]: i for i in sorted(range(len(costs)), key=costs.__getitem__, reverse=True)}
        best = {(zone_id or CORRIDOR): costs[i] for zone_id, i in at.items()}
        if self._fingerprints is not None:
            best = self._with_fingerprints(best, readings)
        fitted = dict(best)

        def plausible(zone_id: str) -> bool:  # only called for places in ``best``
            if zone_id not in at:
                return True  # not a spot of the map: the survey's fingerprint or the loudest scanner put it there
            expected = self._map.expected_costs([spots[at[zone_id]]], readings, self._down)[0]
            return fitted[zone_id] + constant - expected <= p.implausible_cost_db**2

        return self._with_loudest(best, first_id, readings), plausible

    def _with_loudest(
        self, best: dict[str, float], loudest_id: str, readings: dict[str, tuple[float, float]]
    ) -> dict[str, float]:
        """The loudest scanner's zone as evidence (:func:`~server.domain.zone_filter.with_loudest`), weighed by
        its lead over the loudest scanner of any other place."""
        own = self._scanner_zone.get(loudest_id)
        if own is None:
            return best
        zone_of, p = self._scanner_zone, self.params
        runner_up = min((loss for k, (loss, _) in readings.items() if zone_of.get(k) != own), default=math.inf)
        weight = min(1.0, (runner_up - readings[loudest_id][0]) / p.loudest_lead_db)
        return with_loudest(best, own, weight * p.loudest_zone_db**2, weight * p.loudest_aisle_db**2)

    def _with_fingerprints(self, best: dict[str, float], readings: dict[str, tuple[float, float]]) -> dict[str, float]:
        """Each zone's fingerprint cost (what the walk read there) is blended with its map cost
        (``fingerprint_blend``): the map knows where in the hall a badge is, the fingerprint what the hall does
        there (static shadowing, a wall the plan lacks). The zones of the five strongest scanners join the
        places (shadowing can put a badge's own zone outside the map's ring), at the worst candidate's map cost.
        Places without a fingerprint (the corridor: its spots differ too much to pool) are taken to fit as well
        as the map's best fingerprinted place."""
        fp = self._fingerprints
        assert fp is not None
        offset = self._offset
        rssi = {k: DEFAULT_RSSI_1M - offset[k] - loss for k, (loss, _) in readings.items()}
        worst = max(best.values())
        places = dict(best)
        for k in sorted(rssi, key=rssi.__getitem__, reverse=True)[:5]:
            zone_id = self._scanner_zone.get(k)
            if zone_id is not None and zone_id not in places:
                places[zone_id] = worst
        scored = {place: fp.cost(place, rssi, self._down) for place in places if place in fp and place != CORRIDOR}
        if not scored:
            return best
        anchors = [place for place in scored if place in best] or list(scored)
        shift = scored[min(anchors, key=places.__getitem__)]
        half = self.params.fingerprint_blend
        return {place: (1 - half) * cost + half * scored.get(place, shift) for place, cost in places.items()}

    def _evaluate(self, badge: _Badge, now: float, events: list[VisitEvent]) -> None:
        p = self.params
        first, badge.pending_first = badge.pending_first, math.inf
        last = badge.last_seen
        if last <= badge.tap_until:
            if badge.zone is not None:
                badge.zone_last = max(badge.zone_last, last)
            return
        placed = self._place_costs(badge, now)
        if placed is None:
            return  # nothing usable heard (only unplaced or stale readings): no opinion this time
        costs, plausible = placed
        belief = badge.belief
        predict(belief, last - badge.belief_at, costs, p.zone_dwell_s, p.corridor_dwell_s)
        current = badge.zone
        dead_zone = (p.switch_margin_db if current is not None else p.corridor_switch_margin_db) ** 2
        update(belief, costs, current or CORRIDOR, dead_zone, p.emission_sd_db**2, p.robust_cap_db**2)
        badge.belief_at = last
        leader = min(costs, key=costs.__getitem__)  # this window's best place: where evidence of a move starts
        if leader != badge.leader:
            badge.leader, badge.leader_since = leader, min(first, last)
        place, _ = most_likely(belief)
        winner = None if place == CORRIDOR else place
        if winner is not None and winner != current:
            if winner not in costs:
                winner = current  # believed, but not among this window's places: no opinion this time
            elif not plausible(winner):
                winner = None  # no spot of it explains the readings: not a zone to enter
        if winner == current:
            badge.challenger = None
            if current is not None and costs.get(current, math.inf) <= costs[leader] + dead_zone:
                badge.zone_last = last  # evidence of the zone (a visit ends at its last evidence)
                self._announce(badge, events)
            return
        challenger = winner if winner is not None else _NO_ZONE
        if badge.challenger != challenger:  # back-dated to the first window it explained best (the filter lags)
            since = badge.leader_since if badge.leader == challenger else min(first, last)
            badge.challenger, badge.challenger_since = challenger, since
            if p.confirm_s > 0:
                return
        if last - badge.challenger_since >= p.confirm_s:
            events += self._switch(badge, winner, badge.challenger_since)
            badge.zone_last = last
            self._announce(badge, events)

    def _announce(self, badge: _Badge, events: list[VisitEvent]) -> None:
        if (
            badge.zone is not None
            and not badge.emitted
            and badge.zone_last - badge.zone_since >= self.params.min_visit_s
        ):
            badge.emitted = True
            events.append(VisitStarted(Visit(badge.attendee_id, badge.zone, badge.zone_since)))

    def _switch(self, badge: _Badge, zone_id: str | None, since: float) -> list[VisitEvent]:
        events = self._close(badge) if badge.zone is not None else []
        badge.zone, badge.zone_since, badge.zone_last = zone_id, since, since
        badge.emitted = False
        badge.challenger = None
        return events

    def _close(self, badge: _Badge) -> list[VisitEvent]:
        zone_id, emitted = badge.zone, badge.emitted
        badge.zone, badge.emitted = None, False
        if zone_id is None or not emitted:
            return []
        return [VisitEnded(Visit(badge.attendee_id, zone_id, badge.zone_since, max(badge.zone_last, badge.zone_since)))]
