"""The instance's firebase-admin App: created on first use, for one explicit project.

firebase_admin is imported here only, on first use, so a cold start that verifies no token
does not pay for it.
"""

from __future__ import annotations

from typing import Any

from shared.lazy import Lazy
from shared.settings import Need, get_settings

APP_NAME = "movie-reviews"


def get_app() -> Any:
    """The firebase_admin.App; SettingsError if identity is not set up, or unsafely
    (Need.IDENTITY: a project id; the Auth emulator only in a demo- project off Cloud Run)."""
    return _app.get()


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


def _delete_app(app: Any) -> None:
    import firebase_admin

    firebase_admin.delete_app(app)


_app: Lazy[Any] = Lazy(_make_app, close=_delete_app)


def reset() -> None:
    """Forget the App (tests switch projects, emulators and modes)."""
    _app.reset()
