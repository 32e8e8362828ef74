"""The start-up checks of identity: a project id, and the Auth emulator only where it is safe.

With FIREBASE_AUTH_EMULATOR_HOST set, firebase-admin checks neither the signature nor the
expiry of a token (emulator tokens are unsigned): anyone could write one that says
`role: admin`. So the switch is refused on Cloud Run (K_SERVICE, set for every service and
function) and in Cloud Run jobs (CLOUD_RUN_JOB), and for any project id that is not a
`demo-` project (the Firebase convention for projects that exist only on emulators).
"""

from __future__ import annotations

import os

from shared.settings import Settings, get_settings

EMULATOR_VARIABLE = "FIREBASE_AUTH_EMULATOR_HOST"
DEMO_PREFIX = "demo-"


class IdentityMisconfigured(RuntimeError):
    """The instance must not start: identity is set up wrongly or unsafely."""


def emulator_host(settings: Settings) -> str | None:
    """The Auth emulator's host:port when it is switched on, else None.

    firebase-admin reads its variable from the environment on every call, so the
    environment counts as much as the settings do.
    """
    return settings.firebase_auth_emulator_host or os.environ.get(EMULATOR_VARIABLE) or None


def checked_project_id(settings: Settings) -> str:
    """The project whose tokens this instance accepts, once the emulator switch is safe."""
    project = settings.firebase_project_id
    if not project:
        raise IdentityMisconfigured("FIREBASE_PROJECT_ID is not set: whose sign-ins to accept?")
    if not emulator_host(settings):
        return project
    if settings.k_service or settings.cloud_run_job:
        where = f"service {settings.k_service}" if settings.k_service else "a Cloud Run job"
        raise IdentityMisconfigured(
            f"{EMULATOR_VARIABLE} is set in {where}: the Auth emulator's unsigned tokens would "
            "be accepted in the cloud. Remove the variable."
        )
    if not project.startswith(DEMO_PREFIX):
        raise IdentityMisconfigured(
            f"{EMULATOR_VARIABLE} is set for project {project!r}: the Auth emulator is only "
            f"allowed with a {DEMO_PREFIX}* project, which no real sign-in can belong to."
        )
    return project


def check_startup() -> None:
    """Refuse to start (IdentityMisconfigured) unless identities can be verified safely.

    Cheap (it loads no Firebase code): a function that verifies identities calls it at
    import, so a bad deployment fails to start instead of answering.
    """
    checked_project_id(get_settings())
