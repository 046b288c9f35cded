"""Serve the emulator over HTTPS with uvicorn in a background thread, its certificate from a trustme CA.

with EmulatorServer(tmp_dir) as emu:      # emu.url: https://127.0.0.1:<port>, emu.ca_path: the CA to trust
    ...
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

import trustme
import uvicorn

from server.crm.emulator.app import Emulator, build_app

log = logging.getLogger(__name__)


class _QuietServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:  # the host process owns signals
        yield


class EmulatorServer:
    def __init__(self, directory: Path, host: str = "127.0.0.1", port: int = 0, emulator: Emulator | None = None):
        self.directory = Path(directory)
        self.host = host
        self.port = port
        self.emulator = emulator or Emulator()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"https://{self.host}:{self.port}"

    @property
    def ca_path(self) -> Path:
        return self.directory / "emulator-ca.pem"

    def _certificates(self) -> tuple[Path, Path]:
        self.directory.mkdir(parents=True, exist_ok=True)
        ca = trustme.CA()
        cert = ca.issue_cert(self.host, "localhost")
        ca.cert_pem.write_to_path(str(self.ca_path))
        cert_path, key_path = self.directory / "emulator-cert.pem", self.directory / "emulator-key.pem"
        cert.private_key_pem.write_to_path(str(key_path))
        with cert_path.open("wb") as handle:
            for blob in cert.cert_chain_pems:
                handle.write(blob.bytes())
        return cert_path, key_path

    def start(self) -> EmulatorServer:
        cert_path, key_path = self._certificates()
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        self.emulator.base_url = self.url
        config = uvicorn.Config(
            build_app(self.emulator),
            log_config=None,
            access_log=False,
            lifespan="off",
            ssl_certfile=str(cert_path),
            ssl_keyfile=str(key_path),
            timeout_keep_alive=30,
        )
        self._server = _QuietServer(config)
        server = self._server

        def run() -> None:
            asyncio.run(server.serve(sockets=[sock]))

        self._thread = threading.Thread(target=run, name="salesforce-emulator", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the Salesforce emulator did not start")
            time.sleep(0.02)
        log.info("Salesforce emulator at %s (CA %s)", self.url, self.ca_path)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            self._server.force_exit = True  # do not wait for clients' keep-alive connections
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *_exc: tuple[type[BaseException] | None, BaseException | None, TracebackType | None]) -> None:
        self.stop()
