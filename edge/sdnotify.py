"""A tiny sd_notify(3) in the standard library: tells systemd the agent is ready and still alive.

systemd passes the address of a datagram socket in ``NOTIFY_SOCKET`` (a path, or ``@name`` for the abstract
namespace) and, with ``WatchdogSec=``, the interval in ``WATCHDOG_USEC``. Outside systemd both are unset and
every call here is a no-op.
"""

from __future__ import annotations

import os
import socket

# Ping twice per watchdog interval, as sd_watchdog_enabled(3) recommends: one late ping is not a restart.
PINGS_PER_INTERVAL = 2


def sd_notify(state: str) -> bool:
    """Send e.g. ``READY=1``, ``WATCHDOG=1`` or ``STOPPING=1``; False when not under systemd."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(state.encode())
    except OSError:
        return False
    return True


def watchdog_ping_interval_s() -> float | None:
    """How often to send ``WATCHDOG=1``, or None when systemd's watchdog is not enabled for this process."""
    usec = os.environ.get("WATCHDOG_USEC")
    pid = os.environ.get("WATCHDOG_PID")
    if not usec or (pid and pid != str(os.getpid())):
        return None
    try:
        return int(usec) / 1_000_000 / PINGS_PER_INTERVAL
    except ValueError:
        return None
