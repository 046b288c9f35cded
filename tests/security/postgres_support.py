"""A throwaway PostgreSQL of the test's own (initdb + pg_ctl in a temp dir, a free port), to stop and start
during a test. Never the machine's PostgreSQL. Runs as the `postgres` user when the tests run as root
(PostgreSQL refuses to run as root)."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from mosquitto_support import free_port

BIN_DIRS = (
    sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True) if Path("/usr/lib/postgresql").exists() else []
)


def _bin(name: str) -> str | None:
    for directory in BIN_DIRS:
        if (directory / name).exists():
            return str(directory / name)
    return shutil.which(name)


@dataclass
class OwnPostgres:
    port: int = field(default_factory=free_port)
    directory: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="tp-own-pg-")))

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        prefix: list[str] = []
        if os.geteuid() == 0:
            prefix = ["runuser", "-u", "postgres", "--"]
        subprocess.run([*prefix, *args], check=True, capture_output=True, timeout=60)

    def init(self) -> OwnPostgres:
        initdb = _bin("initdb")
        if initdb is None or _bin("pg_ctl") is None:
            pytest.skip("initdb/pg_ctl not installed")
        if os.geteuid() == 0:
            try:
                user = pwd.getpwnam("postgres")
            except KeyError:
                pytest.skip("running as root and there is no postgres user to run PostgreSQL as")
            os.chown(self.directory, user.pw_uid, user.pw_gid)
        self._run(initdb, "-D", str(self.directory / "data"), "-A", "trust", "-U", "postgres", "--no-sync")
        return self

    def start(self) -> None:
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(_bin("pg_ctl") or "pg_ctl", "-D", str(self.directory / "data"), "-o", options,
                  "-l", str(self.directory / "log"), "-w", "start")  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        self._run(_bin("pg_ctl") or "pg_ctl", "-D", str(self.directory / "data"), "-m", mode, "-w", "stop")

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            self.stop("immediate")
        shutil.rmtree(self.directory, ignore_errors=True)
