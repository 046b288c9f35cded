"""Serving the PWA from the package's ``static/`` folder at ``/app/`` (no CDN, no build step)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

STATIC_DIR = Path(__file__).parent / "static"


class PwaFiles(StaticFiles):
    """Static files with the headers a PWA needs: the service worker and the shell are always revalidated
    (a new release reaches phones on the next start), the manifest gets its MIME type."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if path.endswith(".webmanifest"):
            response.headers["Content-Type"] = "application/manifest+json"
        if path in ("sw.js", "index.html", ".", "") or path.endswith((".js", ".css", ".html")):
            response.headers["Cache-Control"] = "no-cache"
        if path == "sw.js":
            response.headers["Service-Worker-Allowed"] = "/app/"
        return response


def mount_pwa(app: FastAPI) -> None:
    @app.get("/app", include_in_schema=False)
    def _slash() -> RedirectResponse:
        return RedirectResponse("/app/")

    app.mount("/app", PwaFiles(directory=STATIC_DIR, html=True), name="pwa")
