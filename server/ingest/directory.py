"""In-memory directory of devices and badges, so that ingest resolves ids without a query per message.

Loaded from the store and reloaded when a lookup misses (rate-limited, since an unregistered sender or a
foreign beacon misses on every message) or when the API that changes devices and attendees says so.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from sqlalchemy import Engine, select
from sqlmodel import col

from server.ingest.decode import DeviceInfo
from server.store.models import Attendee, AttendeeRole, Device

# A device registered a moment ago is found within this long, while a flood of unknown ids costs at most
# one reload per interval.
MISS_RELOAD_INTERVAL_S = 2.0
# Changes made by another process (an API worker revoking a device) reach this one within this long.
MAX_AGE_S = 30.0


@dataclass(frozen=True, slots=True)
class BadgeInfo:
    attendee_id: str
    consent_tracking: bool
    role: str
    # Event staff walk everywhere all day: they are not attendees, and presence never tracks them. Decided
    # once when the directory loads, not for every sighting.
    for_presence: bool = True

    @property
    def trackable(self) -> bool:
        return self.consent_tracking


class Directory:
    def __init__(self, engine: Engine, event_id: str) -> None:
        self._engine = engine
        self._event_id = event_id
        self._lock = threading.Lock()
        self._devices: dict[str, DeviceInfo] = {}
        self._by_beacon: dict[str, BadgeInfo] = {}
        self._by_uid: dict[str, BadgeInfo] = {}
        self._by_badge_id: dict[str, BadgeInfo] = {}
        self._loaded_at = float("-inf")

    def reload(self) -> None:
        devices: dict[str, DeviceInfo] = {}
        by_beacon: dict[str, BadgeInfo] = {}
        by_uid: dict[str, BadgeInfo] = {}
        by_badge: dict[str, BadgeInfo] = {}
        roles: dict[str, str] = {}  # one string per role, not one per badge (50,000 badges: ~3 MB)
        with self._engine.connect() as conn:
            devices_query = select(col(Device.id), col(Device.event_id), col(Device.zone_id), col(Device.revoked_at))
            for row in conn.execute(devices_query):
                devices[row.id] = DeviceInfo(row.id, row.event_id, row.zone_id, row.revoked_at is not None)
            query = select(
                col(Attendee.id),
                col(Attendee.beacon_id),
                col(Attendee.badge_uid),
                col(Attendee.badge_id),
                col(Attendee.consent_tracking),
                col(Attendee.role),
            ).where(col(Attendee.event_id) == self._event_id)
            for badge in conn.execute(query):
                role = str(badge.role or AttendeeRole.ATTENDEE)
                info = BadgeInfo(
                    badge.id,
                    bool(badge.consent_tracking),
                    roles.setdefault(role, role),
                    for_presence=role != AttendeeRole.STAFF,
                )
                if badge.beacon_id:
                    by_beacon[badge.beacon_id] = info
                if badge.badge_uid:
                    by_uid[badge.badge_uid.lower()] = info
                if badge.badge_id:
                    by_badge[badge.badge_id] = info
        with self._lock:
            self._devices, self._by_beacon, self._by_uid, self._by_badge_id = devices, by_beacon, by_uid, by_badge
            self._loaded_at = time.monotonic()

    def invalidate(self) -> None:
        """Reload now: the API calls this after changing devices or attendees, so that a revoked device's
        very next message is refused (a lazy reload would only happen on a lookup miss)."""
        self.reload()

    def _reload_if_due(self) -> bool:
        if time.monotonic() - self._loaded_at >= MISS_RELOAD_INTERVAL_S:
            self.reload()
            return True
        return False

    def device(self, device_id: str) -> DeviceInfo | None:
        found = self._devices.get(device_id)
        if found is None and self._reload_if_due():
            found = self._devices.get(device_id)
        return found

    def badge_by_beacon(self, beacon_id: str) -> BadgeInfo | None:
        return self._by_beacon.get(beacon_id)

    def badge_by_tap(self, uid: str, badge_id: str | None) -> BadgeInfo | None:
        if badge_id and (found := self._by_badge_id.get(badge_id)):
            return found
        return self._by_uid.get(uid.lower())

    def refresh_badges_if_due(self) -> None:
        """Called once per batch that met unknown badges: new registrations show up within seconds."""
        self._reload_if_due()

    def refresh_if_stale(self) -> None:
        """Called once per batch: picks up changes other processes made, at most MAX_AGE_S late."""
        if time.monotonic() - self._loaded_at >= MAX_AGE_S:
            self.reload()
