"""The instance's firebase-admin App: created on first use, for one explicit project.

firebase_admin is imported here only, on first use, so a cold start that verifies no token
does not pay for it.
"""

from __future__ import annotations

import threading
from typing import Any

from shared.settings import Need, get_settings

APP_NAME = "movie-reviews"
_lock = threading.Lock()
_app: Any = None


def get_app() -> Any:
    """The firebase_admin.App; SettingsError if identity is not set up, or unsafely
    (Need.IDENTITY: a project id; the Auth emulator only in a demo- project off Cloud Run)."""
    global _app
    if _app is None:
        with _lock:
            if _app is None:
                _app = _make_app()
    return _app


def _make_app() -> Any:
    settings = get_settings().require(Need.IDENTITY, process="identity")
    import firebase_admin

    # Credentials: Application Default Credentials (the runtime service account on Cloud
    # Run), loaded only when a call needs them; the emulator needs none.
    options = {
        "projectId": settings.firebase_project_id,
        "httpTimeout": settings.identity_timeout_seconds,
    }
    return firebase_admin.initialize_app(options=options, name=APP_NAME)


def reset() -> None:
    """Forget the App (tests switch projects, emulators and modes)."""
    global _app
    with _lock:
        if _app is not None:
            import firebase_admin

            firebase_admin.delete_app(_app)
        _app = None
