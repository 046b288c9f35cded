"""NFC badge reader (nfcpy): one tap per presentation, UID plus the badge id from NDEF, reconnect on unplug.

nfcpy's ``connect(rdwr=...)`` calls ``on-connect`` once when a tag enters the field and returns only after
the tag left it, so a badge held on the reader is one tap. ``TapDebouncer`` adds the re-tap gap: a badge that
flickers out of the field and back (a wobbly hand, a lanyard swinging) within ``retap_gap_s`` is the same tap.

Device paths are nfcpy's: ``usb:072f:2200`` (ACR122U), ``tty:AMA0:pn532`` (PN532 on the Pi's UART),
``tty:USB0:pn532`` (PN532 behind a USB-serial adapter), ``udp:localhost:54321`` (nfcpy's simulated radio).
"""

from __future__ import annotations

import errno
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from edge.protocol import NdefRecord, ReaderState

log = logging.getLogger(__name__)

# A reader that is missing or failed is retried this often: quick enough that staff replugging a reader see
# it come back within seconds, slow enough not to flood the log.
REOPEN_INTERVAL_S = 2.0
# Poll cycles per connect() call: connect() checks for shutdown between calls, so this bounds stop latency.
SENSE_ITERATIONS = 1
SENSE_INTERVAL_S = 0.1
MAX_BADGE_ID_CHARS = 128  # the contract's limit
MAX_NDEF_RECORDS = 16
# nfcpy reports a failed NDEF read (a command timeout, a badge moving in the field) the same way as "no NDEF":
# tag.ndef is None. A badge's id lives in its NDEF, so a tap is worth a few more reads (milliseconds each)
# before it is published with its UID alone. Growing pauses between them (50, 100, 150, 200 ms: half a second
# in all, about as long as a badge is held) let a reader or tag that missed one exchange, or a machine that is
# busy for a moment, answer the next; three immediate retries still failed together on a loaded CI machine.
NDEF_READ_ATTEMPTS = 5
NDEF_RETRY_PAUSE_S = 0.05
# URI query parameters that carry a badge id (https://event.example/b?badge=A123 -> A123).
BADGE_QUERY_KEYS = ("badge", "badge_id", "id")
KERNEL_DRIVER_HINT = (
    "the kernel's pn533 NFC driver has claimed the reader, so nfcpy cannot use it. Fix: "
    "`sudo modprobe -r pn533_usb pn533 nfc` now, and install hardware/modprobe/blacklist-pn533.conf to "
    "/etc/modprobe.d/ so that it stays unloaded after a reboot"
)
PERMISSION_HINT = (
    "no permission to open the USB reader. Fix: install hardware/udev/99-touchpoints-nfc.rules to "
    "/etc/udev/rules.d/, run `sudo udevadm control --reload && sudo udevadm trigger`, make sure the agent's "
    "user is in the plugdev group, then unplug and replug the reader"
)


@dataclass(frozen=True, slots=True)
class TapRead:
    uid: str  # lowercase hex
    captured_at: float
    badge_id: str | None = None
    ndef: list[NdefRecord] = field(default_factory=list)


def badge_id_from_records(records: list[NdefRecord]) -> str | None:
    """The first text record's text; else a badge id carried by the first URI (query parameter or last path
    segment, e.g. ``https://ev.example/badge/A123`` -> ``A123``)."""
    for record in records:
        if record.type == "text" and record.value.strip():
            return record.value.strip()[:MAX_BADGE_ID_CHARS]
    for record in records:
        if record.type == "uri":
            parts = urlsplit(record.value)
            query = parse_qs(parts.query)
            for key in BADGE_QUERY_KEYS:
                if query.get(key):
                    return query[key][0][:MAX_BADGE_ID_CHARS]
            segments = [segment for segment in parts.path.split("/") if segment]
            if segments:
                return segments[-1][:MAX_BADGE_ID_CHARS]
    return None


def records_from_ndef(message: Any) -> list[NdefRecord]:
    """ndeflib records -> contract records (text, uri, or other with its record type)."""
    import ndef

    records: list[NdefRecord] = []
    for record in list(message)[:MAX_NDEF_RECORDS]:
        if isinstance(record, ndef.TextRecord):
            records.append(NdefRecord(type="text", value=record.text[:1024]))
        elif isinstance(record, ndef.UriRecord):
            records.append(NdefRecord(type="uri", value=record.iri[:1024]))
        else:
            records.append(NdefRecord(type="other", value=str(record.type)[:1024]))
    return records


class TapDebouncer:
    """Decides whether a presentation is a new tap; time is passed in.

    >>> debouncer = TapDebouncer(retap_gap_s=3.0)
    >>> debouncer.presented("04a1b2c3", 100.0), debouncer.presented("04a1b2c3", 101.0)
    (True, False)
    >>> debouncer.removed("04a1b2c3", 101.5); debouncer.presented("04a1b2c3", 104.6)
    True
    """

    def __init__(self, retap_gap_s: float) -> None:
        self.retap_gap_s = retap_gap_s
        self._last_seen: dict[str, float] = {}

    def presented(self, uid: str, now: float) -> bool:
        last = self._last_seen.get(uid)
        self._last_seen[uid] = now
        self._forget_before(now - self.retap_gap_s)
        return last is None or now - last >= self.retap_gap_s

    def removed(self, uid: str, now: float) -> None:
        # The gap counts from when the badge left the field: holding it there for a minute is one tap.
        self._last_seen[uid] = now

    def _forget_before(self, cutoff: float) -> None:
        if len(self._last_seen) > 1024:  # bounded memory over a day of thousands of badges
            self._last_seen = {uid: seen for uid, seen in self._last_seen.items() if seen >= cutoff}


class NfcReader:
    """Runs nfcpy's blocking reader loop in a thread of its own and calls ``on_tap`` for every new tap."""

    def __init__(
        self,
        path: str,
        on_tap: Callable[[TapRead], object],
        retap_gap_s: float = 3.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = path
        self.debouncer = TapDebouncer(retap_gap_s)
        self.state = ReaderState.ABSENT
        self._on_tap = on_tap
        self._clock = clock
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self.path.startswith("usb") and Path("/sys/module/pn533_usb").exists():
            log.warning("NFC: %s", KERNEL_DRIVER_HINT)
        self._thread = threading.Thread(target=self._run, name="edge-nfc", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        import nfc

        last_problem: str | None = None
        while not self._stopping.is_set():
            try:
                frontend = nfc.ContactlessFrontend(self.path)
            except OSError as exc:
                self.state = ReaderState.ABSENT if exc.errno == errno.ENODEV else ReaderState.ERROR
                problem = self._explain(exc)
                if problem != last_problem:  # log a state change once, not every retry
                    log.error("NFC reader %s: %s (retrying every %.0f s)", self.path, problem, REOPEN_INTERVAL_S)
                    last_problem = problem
                self._stopping.wait(REOPEN_INTERVAL_S)
                continue
            log.info("NFC reader %s opened: %s", self.path, frontend)
            last_problem = None
            self.state = ReaderState.OK
            try:
                self._read_until_unplugged(frontend)
            finally:
                frontend.close()
            if not self._stopping.is_set():
                log.error("NFC reader %s stopped responding (unplugged?); reopening", self.path)
                self.state = ReaderState.ABSENT
                self._stopping.wait(REOPEN_INTERVAL_S)

    def _read_until_unplugged(self, frontend: Any) -> None:
        options = {
            "on-connect": self._tag_presented,
            "on-release": self._tag_removed,
            "iterations": SENSE_ITERATIONS,
            "interval": SENSE_INTERVAL_S,
            "beep-on-connect": True,  # the ACR122U beeps: staff and attendees hear that the tap counted
        }
        while not self._stopping.is_set():
            # Returns True after a tag left the field, None when terminated, False on an I/O error.
            if frontend.connect(rdwr=options, terminate=self._stopping.is_set) is False:
                self.state = ReaderState.ERROR
                return

    def _tag_presented(self, tag: Any) -> bool:
        now = self._clock()
        uid = bytes(tag.identifier).hex()
        if not self.debouncer.presented(uid, now):
            log.debug("NFC: %s presented again within the re-tap gap", uid)
            return True
        records = self._read_records(tag, uid)
        self._on_tap(TapRead(uid, now, badge_id_from_records(records), records))
        return True  # wait for the tag to leave: a badge held on the reader is one tap

    @staticmethod
    def _read_records(tag: Any, uid: str, pause: Callable[[float], None] = time.sleep) -> list[NdefRecord]:
        for attempt in range(1, NDEF_READ_ATTEMPTS + 1):
            if attempt > 1:
                pause(NDEF_RETRY_PAUSE_S * (attempt - 1))
            try:
                ndef = tag.ndef  # nfcpy retries the read while it has none cached
                if ndef is not None:
                    return records_from_ndef(ndef.records)
            except Exception as exc:  # a badge pulled away mid-read, or unreadable NDEF: the UID still counts
                log.warning("NFC: could not read NDEF from %s (attempt %d): %s", uid, attempt, exc)
        log.warning("NFC: %s has no readable NDEF after %d reads; publishing its UID only", uid, NDEF_READ_ATTEMPTS)
        return []

    def _tag_removed(self, tag: Any) -> bool:
        self.debouncer.removed(bytes(tag.identifier).hex(), self._clock())
        return True

    @staticmethod
    def _explain(exc: OSError) -> str:
        if exc.errno == errno.EBUSY:
            return KERNEL_DRIVER_HINT
        if exc.errno == errno.EACCES:
            return PERMISSION_HINT
        if exc.errno == errno.ENODEV:
            return "no reader found at this path (plugged in? `lsusb` lists an ACR122U as 072f:2200)"
        return str(exc)
