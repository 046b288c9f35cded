"""Session attendance: who was in a session's room while it ran, for how much of it, and who never came.

Pure: visits, taps and the agenda in; plain values out. An open visit is measured up to ``now`` (a parameter,
never the clock).

Two kinds of evidence count, because each covers the other's blind spot:

* **Visits** (BLE presence in the session's room) say *how long* someone stayed: a 60-minute talk with a visit
  from 10:15 to 10:45 is attended with ``share`` 0.5.
* **Check-in taps** at the room's reader say *that* someone came in, even when their badge's radio is flat or
  shielded. A tap holds presence "from the tap until BLE tells us otherwise": from the tap to the start of the
  next visit in the room, or to the session's end when no later visit says when they arrived. A tap 20 minutes
  into a 60-minute talk with no visit gives ``present_s`` 2400, ``share`` 0.67, ``checked_in_by_tap`` True.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from statistics import fmean

from server.domain.model import AgendaSession, Attendance, Tap, Visit, Zone

CHECK_IN_GRACE_S = 15 * 60  # doors open ~15 min before a talk: a tap in that window checks in to the coming talk
MIN_ATTENDED_SHARE = 0.25  # under a quarter of a talk (~11 min of 45) is looking in, not attending; a tap counts anyway


@dataclass(frozen=True, slots=True)
class SessionReport:
    """Registered versus attended for one session: the numbers organisers and the CRM sync ask for.

    ``no_shows`` registered but did not attend; ``walk_ins`` attended without registering. ``fill`` is
    attended / capacity of the room (None when the room has no capacity), so 1.2 means over-full.
    """

    session_id: str
    title: str
    registered: int
    attended: int
    registered_and_attended: int
    no_shows: tuple[str, ...]
    walk_ins: tuple[str, ...]
    capacity: int | None
    fill: float | None
    show_rate: float | None  # registered_and_attended / registered; None with nobody registered
    average_share: float | None
    average_dwell_s: float | None


def session_attendance(
    visits: Iterable[Visit],
    sessions: Iterable[AgendaSession],
    taps: Iterable[Tap] = (),
    tap_zone: Mapping[str, str | None] | None = None,
    *,
    now: float | None = None,
    min_share: float = MIN_ATTENDED_SHARE,
    grace_s: float = CHECK_IN_GRACE_S,
) -> list[Attendance]:
    """Every attendance that counts, ordered by session start, session id, then attendee id.

    ``tap_zone`` maps a tap's ``device_id`` to the zone of its reader (taps at unknown readers are ignored).
    A visit counts for the part that overlaps the session; several visits (the badge left for coffee and came
    back) are merged as a union of intervals, so overlapping visits are never counted twice, and the share is
    capped at 1. Open visits run to ``now`` or, without ``now``, to the session's end.

    A tap checks in to the session running in its room, or to the next one when it falls within ``grace_s``
    before that session starts: a tap at 09:55 in a room whose talk ends at 10:00 and whose next talk starts at
    10:00 is queueing for the next talk, not arriving for the last five minutes of this one.

    Attendances under ``min_share`` are dropped unless checked in by tap; pass ``min_share=0`` to see every
    overlap (for instance to tune the threshold).

    Example: session 10:00-11:00 in room r1, visits 10:00-10:20 and 10:40-11:10 -> present_s 2400, share 0.667.
    """
    by_zone: dict[str, list[AgendaSession]] = defaultdict(list)
    for session in sessions:
        by_zone[session.zone_id].append(session)
    for room_sessions in by_zone.values():
        room_sessions.sort(key=lambda s: (s.starts_at, s.id))

    # (session id, attendee id) -> presence intervals, and which pairs were checked in by tap.
    intervals: dict[tuple[str, str], list[tuple[float, float]]] = defaultdict(list)
    tapped: dict[tuple[str, str], float] = {}
    room_visits: dict[tuple[str, str], list[Visit]] = defaultdict(list)  # (zone, attendee) -> visits

    for visit in visits:
        if visit.zone_id not in by_zone:
            continue
        room_visits[(visit.zone_id, visit.attendee_id)].append(visit)
        for session in by_zone[visit.zone_id]:
            end = _visit_end(visit, session, now)
            start, stop = max(visit.started_at, session.starts_at), min(end, session.ends_at)
            if stop > start:
                intervals[(session.id, visit.attendee_id)].append((start, stop))

    for tap in taps:
        zone_id = (tap_zone or {}).get(tap.device_id)
        if zone_id is None or zone_id not in by_zone:
            continue
        checked_into = _session_checked_into(by_zone[zone_id], tap.at, grace_s)
        if checked_into is None:
            continue
        key = (checked_into.id, tap.attendee_id)
        tapped[key] = min(tap.at, tapped.get(key, tap.at))
        start = max(tap.at, checked_into.starts_at)
        stop = _tap_hold_until(room_visits[(zone_id, tap.attendee_id)], start, checked_into, now)
        if stop > start:
            intervals[key].append((start, stop))
        else:
            intervals.setdefault(key, [])

    sessions_by_id = {s.id: s for room_sessions in by_zone.values() for s in room_sessions}
    result: list[Attendance] = []
    for (session_id, attendee_id), spans in intervals.items():
        session = sessions_by_id[session_id]
        length = session.ends_at - session.starts_at
        present_s = _union_length(spans)
        share = min(1.0, present_s / length) if length > 0 else 1.0
        by_tap = (session_id, attendee_id) in tapped
        if share < min_share and not by_tap:
            continue
        result.append(Attendance(attendee_id, session_id, present_s, share, checked_in_by_tap=by_tap))
    result.sort(key=lambda a: (sessions_by_id[a.session_id].starts_at, a.session_id, a.attendee_id))
    return result


def session_report(
    sessions: Iterable[AgendaSession],
    registrations: Mapping[str, Collection[str]],
    attendances: Iterable[Attendance],
    *,
    zones: Iterable[Zone] = (),
) -> list[SessionReport]:
    """Registered versus attended per session, in agenda order.

    ``registrations`` maps a session id to the attendee ids registered for it. ``zones`` gives the rooms'
    capacities for ``fill``. Averages are over the attendees who attended (a no-show has no dwell to average).

    Example: registered {a, b, c}, attended a (share 1.0) and d (share 0.5) -> registered 3, attended 2,
    registered_and_attended 1, no_shows (b, c), walk_ins (d,), show_rate 0.333, average_share 0.75.
    """
    capacity = {z.id: z.capacity for z in zones}
    by_session: dict[str, list[Attendance]] = defaultdict(list)
    for attendance in attendances:
        by_session[attendance.session_id].append(attendance)

    reports = []
    for session in sorted(sessions, key=lambda s: (s.starts_at, s.id)):
        registered = set(registrations.get(session.id, ()))
        attended_rows = by_session.get(session.id, [])
        attended = {a.attendee_id for a in attended_rows}
        room_capacity = capacity.get(session.zone_id)
        reports.append(
            SessionReport(
                session_id=session.id,
                title=session.title,
                registered=len(registered),
                attended=len(attended),
                registered_and_attended=len(registered & attended),
                no_shows=tuple(sorted(registered - attended)),
                walk_ins=tuple(sorted(attended - registered)),
                capacity=room_capacity,
                fill=len(attended) / room_capacity if room_capacity else None,
                show_rate=len(registered & attended) / len(registered) if registered else None,
                average_share=fmean(a.share for a in attended_rows) if attended_rows else None,
                average_dwell_s=fmean(a.present_s for a in attended_rows) if attended_rows else None,
            )
        )
    return reports


def _visit_end(visit: Visit, session: AgendaSession, now: float | None) -> float:
    if visit.ended_at is not None:
        return visit.ended_at
    return now if now is not None else session.ends_at


def _session_checked_into(room_sessions: list[AgendaSession], at: float, grace_s: float) -> AgendaSession | None:
    """The session a tap at ``at`` checks in to: the latest-starting one whose grace window or run covers it."""
    chosen = None
    for session in room_sessions:  # sorted by start
        if session.starts_at - grace_s <= at < session.ends_at:
            chosen = session
    return chosen


def _tap_hold_until(visits: list[Visit], start: float, session: AgendaSession, now: float | None) -> float:
    """How long a tap at ``start`` vouches for presence: until a visit takes over, else the session's end.

    A visit already running at the tap covers it (nothing to add); a later visit bounds it at its start.
    """
    stop = session.ends_at if now is None else min(session.ends_at, max(now, start))
    for visit in visits:
        end = _visit_end(visit, session, now)
        if visit.started_at <= start < end:
            return start
        if start <= visit.started_at < stop:
            stop = visit.started_at
    return stop


def _union_length(spans: list[tuple[float, float]]) -> float:
    total, reach = 0.0, float("-inf")
    for start, stop in sorted(spans):
        if stop <= reach:
            continue
        total += stop - max(start, reach)
        reach = stop
    return total
