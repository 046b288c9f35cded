"""Plumbing the benchmarks share on this machine: a free port, a child process stopped, a database of their own."""

from __future__ import annotations

import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop_process(process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """SIGTERM, then SIGKILL if it has not ended within ``timeout``."""
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()


@contextmanager
def bench_database(database_url: str | None, name: str) -> Iterator[str]:
    """The URL of a database for one bench run: a fresh SQLite file (no URL given), or a PostgreSQL schema of
    its own in the given database, created here and dropped afterwards (the server's tables are in it)."""
    if database_url is None:
        yield f"sqlite:///{Path(tempfile.mkdtemp(prefix=f'tp-bench-{name}-')) / 'bench.db'}"
        return
    from sqlalchemy import text

    from server.core.config import load_settings
    from server.store.db import make_engine

    admin = make_engine(load_settings(database_url=database_url).sqlalchemy_url)
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{database_url}{'&' if '?' in database_url else '?'}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
