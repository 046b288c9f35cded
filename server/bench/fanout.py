"""Dashboard fan-out: N WebSocket dashboards on one server, each receiving the live feed's 1 Hz updates.

The server runs in a subprocess (uvicorn, a fresh SQLite file, ingest off) so clients and server do not
share a GIL; the clients run in this process on one asyncio loop. Every feed message carries the server's
``sent_at`` (wall clock); a client's lag is its receive time minus ``sent_at`` (same machine, same clock).
With the venue idle the feed sends its heartbeat once a second: the figure is the cost of fan-out itself
(serialize once, hand the text to N sockets), the part that grows with the number of dashboards.
"""

from __future__ import annotations

import asyncio
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from server.bench.local import free_port, stop_process

CONNECT_BATCH = 100  # connections opened concurrently: the listen backlog and the handshake cost set this
WARMUP_S = 3.0  # after the last connection, before measuring: the first snapshot burst settles
TOKEN = "bench-fanout-token"

SERVER = """
import sys, uvicorn
from server.app import create_app
from server.core.config import load_settings
settings = load_settings(database_url=sys.argv[1], ingest_enabled=False, admin_token=sys.argv[2], var_dir=sys.argv[3])
uvicorn.run(create_app(settings), host="127.0.0.1", port=int(sys.argv[4]), log_level="warning", backlog=4096)
"""


def _raise_fd_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(needed, soft)), hard))


def _cpu_seconds(pid: int) -> float:
    """utime + stime of ``pid`` from /proc (psutil is not a dependency)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] if ordered else float("nan")


async def _wait_ready(port: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            _reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.2)
    raise RuntimeError("the server did not start")


class _Stats:
    def __init__(self) -> None:
        self.lags_ms: list[float] = []
        self.messages = 0
        self.measuring = False
        self.closed_early = 0
        self.failed = 0


async def _client(url: str, stats: _Stats, stop: asyncio.Event, connected: list[int]) -> None:
    import websockets

    try:
        async with websockets.connect(url, max_queue=None, open_timeout=60, ping_interval=None) as ws:
            await ws.send(orjson.dumps({"token": TOKEN}).decode())
            await ws.recv()  # the snapshot
            connected[0] += 1
            async for raw in ws:  # cancelled at the end of the run
                received = time.time()
                if stats.measuring:
                    stats.messages += 1
                    stats.lags_ms.append((received - orjson.loads(raw)["sent_at"]) * 1000)
    except websockets.ConnectionClosed:
        stats.closed_early += 1
    except OSError:
        stats.failed += 1


async def _drive(url: str, clients: int, seconds: float, pid: int) -> tuple[_Stats, int, float, float]:
    stats, stop, connected = _Stats(), asyncio.Event(), [0]
    tasks: list[asyncio.Task[None]] = []
    started = time.monotonic()
    for i in range(0, clients, CONNECT_BATCH):
        batch = [
            asyncio.create_task(_client(url, stats, stop, connected)) for _ in range(min(CONNECT_BATCH, clients - i))
        ]
        tasks += batch
        target = i + len(batch)
        while connected[0] + stats.failed + stats.closed_early < target and time.monotonic() - started < 120:
            await asyncio.sleep(0.05)
    connect_s = time.monotonic() - started
    await asyncio.sleep(WARMUP_S)
    cpu_before, wall_before = _cpu_seconds(pid), time.monotonic()
    stats.measuring = True
    await asyncio.sleep(seconds)
    stats.measuring = False
    cpu_pct = 100 * (_cpu_seconds(pid) - cpu_before) / (time.monotonic() - wall_before)  # steady state only
    stop.set()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return stats, connected[0], connect_s, cpu_pct


def run_fanout_bench(clients: int = 2000, seconds: float = 30.0) -> dict[str, Any]:
    _raise_fd_limit(clients + 256)
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="fanout-") as tmp:
        root = Path(__file__).resolve().parents[2]
        server = subprocess.Popen(
            [sys.executable, "-c", SERVER, f"sqlite:///{tmp}/bench.db", TOKEN, tmp, str(port)],
            cwd=root,
            preexec_fn=lambda: _raise_fd_limit(clients + 256),
        )
        try:
            asyncio.run(_wait_ready(port, time.monotonic() + 60))
            url = f"ws://127.0.0.1:{port}/dashboard/ws"
            stats, connected, connect_s, cpu_pct = asyncio.run(_drive(url, clients, seconds, server.pid))
        finally:
            stop_process(server)
    expected = connected * seconds  # one heartbeat a second per client
    return {
        "clients": clients,
        "connected": connected,
        "seconds": seconds,
        "connect_s": round(connect_s, 1),
        "messages": stats.messages,
        "delivered_share": round(stats.messages / expected, 3) if expected else 0.0,
        "p50_lag_ms": round(_percentile(stats.lags_ms, 50), 1),
        "p99_lag_ms": round(_percentile(stats.lags_ms, 99), 1),
        "max_lag_ms": round(max(stats.lags_ms, default=float("nan")), 1),
        "server_cpu_pct": round(cpu_pct, 1),
        "closed_by_server": stats.closed_early,
        "failed": stats.failed,
    }
