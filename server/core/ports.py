"""Port checks, so that a taken port fails with a message that says which setting to change."""

from __future__ import annotations

import errno
import socket


class PortInUseError(RuntimeError):
    pass


def ensure_port_free(host: str, port: int, setting: str) -> None:
    """Raise PortInUseError naming ``setting`` when ``host:port`` cannot be bound (port 0 always can)."""
    if port == 0:
        return
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PortInUseError(
                    f"port {port} on {host} is already in use (by another program or an earlier run)"
                    f"; set {setting} to a free port, or 0 for any free port"
                ) from None
            raise PortInUseError(f"cannot bind {host}:{port} ({exc.strerror}); check {setting}") from None
