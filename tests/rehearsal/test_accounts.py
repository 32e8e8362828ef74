"""The operator's role tool (`python -m infra.users`, docs/deploy.md section 4a) as it runs
against the cloud: production mode (no emulator switch, the environment's real project id),
Application Default Credentials from a service-account key whose OAuth token comes from the
local stand-in of Google's token endpoint, and firebase-admin's account calls answered by the
Auth emulator's Identity Toolkit API (the one redirect, tests/support/cloud_edge.py)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from infra.authemu import AuthEmulator, SeedAccount
from tests.support import REPO
from tests.support.google_edge import SigningKey, google_edge, write_service_account
from tests.support.identity import PASSWORD
from tests.support.rehearsal import Cloud, operator

EMAIL = "first-admin@example.com"


def _edge(folder: Path, emulator: AuthEmulator) -> Path:
    folder.mkdir()
    shutil.copyfile(REPO / "tests" / "support" / "cloud_edge.py", folder / "sitecustomize.py")
    toolkit = f"{emulator.url}/identitytoolkit.googleapis.com/v1"
    (folder / "edge.json").write_text(json.dumps({"identity_toolkit": toolkit}))
    return folder


def test_operator_makes_the_first_admin(
    cloud: Cloud, auth_emulator: AuthEmulator, signing_key: SigningKey, tmp_path: Path
) -> None:
    project = str(cloud.environment.variable("project_id"))
    auth_emulator.wipe(project)
    auth_emulator.seed(SeedAccount(EMAIL, PASSWORD, "운영자"), project=project)
    users = ("python", "-m", "infra.users", "--project", project)
    with google_edge(signing_key) as edge:
        env = {
            "PYTHONPATH": str(_edge(tmp_path / "edge", auth_emulator)),
            "GOOGLE_APPLICATION_CREDENTIALS": str(
                write_service_account(edge, tmp_path / "adc.json", project)
            ),
        }
        granted = cloud.run(operator("users", (*users, "grant-admin", EMAIL), env)).check()
        listed = cloud.run(operator("users", (*users, "list", EMAIL), env)).check()
    assert f"{EMAIL} is now admin" in granted.output
    assert listed.output.split("\t")[:2] == [EMAIL, "admin"]
    assert edge.hits["token"] >= 2  # each process got its OAuth token as in the cloud
    auth_emulator.wipe(project)
