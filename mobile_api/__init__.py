"""The attendee-facing API (``/app/v1``) and its installable web app (``/app/``), plus exhibitor lead capture.

It uses the server's store and domain and is mounted by the server's app (:func:`install`, called from
``server.app.create_app``); it never imports the server's app module. docs/app-api.md describes the API for
native app builders, docs/lead-capture.md the booth side.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI


def install(app: FastAPI) -> None:
    """Add the app's routes, its WebSocket, the NFC lead listener and the PWA's files to ``app``.

    Call after ``app.state.runtime`` is set and after the server's own routers (the PWA is mounted at
    ``/app`` and must come after ``/app/v1``).
    """
    from mobile_api.deps import MobileState
    from mobile_api.routes import agenda, auth, beacons, connections, exhibitor, inbox, legacy_notifications, me, staff
    from mobile_api.static_files import mount_pwa
    from mobile_api.ws import router as ws_router

    runtime = app.state.runtime
    app.state.mobile = MobileState.from_settings(runtime.settings)
    for module in (auth, me, agenda, inbox, connections, beacons, exhibitor, staff, legacy_notifications):
        app.include_router(module.router)
    app.include_router(ws_router)
    mount_pwa(app)
