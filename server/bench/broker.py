"""A private Mosquitto for benchmarks, configured like docs/deploy/mosquitto/mosquitto.conf.

A system Mosquitto keeps its defaults (``max_queued_messages 1000``): under a benchmark's burst it drops
QoS 1 messages for a subscriber that lags by more than that, and the figures would then count a faster
consumer as one that "lost" less. Benchmarks therefore start their own broker on a free port with the
production queue limits, unless given a broker URL.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from server.bench.local import free_port, stop_process

PRIVATE = "private"
START_TIMEOUT_S = 10.0

CONFIG = """\
listener {port} 127.0.0.1
allow_anonymous true
persistence false
max_queued_messages 1000000
max_queued_bytes 0
max_inflight_messages 1000
log_dest stderr
log_type error
log_type warning
"""


@contextmanager
def broker_for_bench(url: str) -> Iterator[str]:
    """Yield ``url`` as it is, or for ``private`` the URL of a Mosquitto started (and stopped) here."""
    if url != PRIVATE:
        yield url
        return
    binary = shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin:/usr/local/sbin")
    if binary is None:
        raise RuntimeError("--mqtt private needs the mosquitto binary (apt install mosquitto), or pass --mqtt URL")
    port = free_port()
    workdir = Path(tempfile.mkdtemp(prefix="tp-bench-broker-"))
    config = workdir / "mosquitto.conf"
    config.write_text(CONFIG.format(port=port))
    process = subprocess.Popen([binary, "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    err = process.stderr.read().decode(errors="replace") if process.stderr else ""
                    raise RuntimeError(f"private mosquitto on port {port} did not start: {err.strip()}") from None
                time.sleep(0.05)
        yield f"mqtt://127.0.0.1:{port}"
    finally:
        stop_process(process, timeout=5)
        shutil.rmtree(workdir, ignore_errors=True)
