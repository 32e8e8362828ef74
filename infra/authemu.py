"""The Firebase Auth emulator (npm firebase-tools, installed by `make` into
infra/auth-emulator/node_modules) for `make run` and the tests.

    with AuthEmulator("demo-movie-reviews") as emulator:   # free ports, no UI
        emulator.seed(SeedAccount("admin@example.com", "secret", "관리자", role="admin"))
        os.environ["FIREBASE_AUTH_EMULATOR_HOST"] = emulator.host

The emulator keeps users in memory, per project (any project id; sign-ins through the REST
API with an API key land in the one it was started for). A generated firebase.json sets the
auth, hub and logging ports explicitly, so nothing collides with another stack; the process
dies with its parent. The operator endpoints (`Authorization: Bearer owner`) seed and wipe.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import psutil
import requests

from infra.localpg import free_port
from infra.processes import die_with_parent
from shared.identity.roles import ROLE_CLAIM, Role

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "infra" / "auth-emulator"
FIREBASE = PACKAGE / "node_modules" / ".bin" / "firebase"
OWNER = {"Authorization": "Bearer owner"}  # the emulator's operator credential
START_ATTEMPTS = 3  # a free port can be taken between choosing it and binding it


class EmulatorError(RuntimeError):
    """The emulator could not be started or refused an operator call."""


@dataclass(frozen=True)
class SeedAccount:
    email: str
    password: str
    display_name: str
    role: Role | None = None  # the `role` custom claim ("admin"); None: a member
    uid: str | None = None  # fixed ids survive restarts (make run); None: the emulator's
    disabled: bool = False


class AuthEmulator:
    """One `firebase emulators:start --only auth` process on free ports."""

    def __init__(
        self,
        project: str,
        *,
        port: int | None = None,
        data_dir: Path | None = None,
        workdir: Path | None = None,
    ) -> None:
        self.project = project
        self.port = 0
        self._wanted_port = port  # None: a free one
        self.data_dir = data_dir  # users imported at start and exported at stop, if set
        self._own_workdir = workdir  # config and logs; None: a temporary folder
        self._process: subprocess.Popen[bytes] | None = None
        self._workdir: Path | None = None
        self._session = requests.Session()

    @property
    def process(self) -> subprocess.Popen[bytes] | None:
        return self._process

    @property
    def host(self) -> str:
        """host:port, as FIREBASE_AUTH_EMULATOR_HOST wants it."""
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    def start(self, timeout: float = 120) -> Self:
        if not FIREBASE.exists():
            raise EmulatorError(f"{FIREBASE} is missing: run `make auth-emulator` first")
        for attempt in range(1, START_ATTEMPTS + 1):
            self._launch()
            try:
                self._wait_ready(timeout)
                return self
            except EmulatorError:
                log = self.log_tail()
                self.stop()
                fixed = self._wanted_port is not None
                if fixed or attempt == START_ATTEMPTS or "not open" not in log:
                    raise EmulatorError(f"the Auth emulator did not start:\n{log}") from None
        raise AssertionError("unreachable")

    def _launch(self) -> None:
        self.port = self._wanted_port or free_port()
        if self._own_workdir is None:
            self._workdir = Path(tempfile.mkdtemp(prefix="authemu-"))
        else:
            self._workdir = self._own_workdir
            self._workdir.mkdir(parents=True, exist_ok=True)
        config = {
            "emulators": {
                "auth": {"host": "127.0.0.1", "port": self.port},
                "hub": {"host": "127.0.0.1", "port": free_port()},
                "logging": {"host": "127.0.0.1", "port": free_port()},
                "ui": {"enabled": False},
            }
        }
        (self._workdir / "firebase.json").write_text(json.dumps(config))
        args = [str(FIREBASE), "emulators:start", "--only", "auth", "--project", self.project]
        args += ["--config", str(self._workdir / "firebase.json"), *self._data_args()]
        env = {**os.environ, "NO_UPDATE_NOTIFIER": "1"}
        with (self._workdir / "emulator.log").open("wb") as log:
            self._process = subprocess.Popen(
                args,
                cwd=self._workdir,  # firebase-debug.log lands here
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=die_with_parent,  # noqa: PLW1509
            )

    def _data_args(self) -> list[str]:
        if self.data_dir is None:
            return []
        self.data_dir.mkdir(parents=True, exist_ok=True)
        args = ["--export-on-exit", str(self.data_dir)]
        if (self.data_dir / "firebase-export-metadata.json").exists():
            args += ["--import", str(self.data_dir)]
        return args

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process is None or self._process.poll() is not None:
                raise EmulatorError("the emulator exited")
            with contextlib.suppress(requests.RequestException, ValueError):
                answer = self._session.get(self.url, timeout=2).json()
                if answer.get("authEmulator", {}).get("ready"):
                    return
            time.sleep(0.2)
        raise EmulatorError(f"no answer at {self.url} within {timeout:.0f} s")

    def log_tail(self, chars: int = 4000) -> str:
        path = (self._workdir or Path("/nonexistent")) / "emulator.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    def stop(self, timeout: float = 20) -> None:
        """SIGINT (the emulator exports its users, if asked to), then SIGKILL what lingers."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            tree = [psutil.Process(process.pid), *_descendants(process.pid)]
            process.send_signal(signal.SIGINT)
            _, alive = psutil.wait_procs(tree, timeout=timeout)
            for proc in alive:
                with contextlib.suppress(psutil.Error):
                    proc.kill()
            process.wait()
        if self._workdir is not None and self._own_workdir is None:
            shutil.rmtree(self._workdir, ignore_errors=True)
        self._workdir = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- operator calls -------------------------------------------------------------

    def wipe(self, project: str | None = None) -> None:
        """Delete every account of `project` (default: the emulator's own)."""
        self._operator("DELETE", f"/emulator/v1/projects/{project or self.project}/accounts")

    def seed(self, account: SeedAccount, project: str | None = None) -> str:
        """Create the account (or, with a fixed uid that exists, reset it); its uid."""
        base = f"/identitytoolkit.googleapis.com/v1/projects/{project or self.project}/accounts"
        fields: dict[str, Any] = {
            "email": account.email,
            "password": account.password,
            "displayName": account.display_name,
        }
        if account.uid:
            fields["localId"] = account.uid
        created = self._operator("POST", base, fields, allow=frozenset({"DUPLICATE_LOCAL_ID"}))
        uid = str(created.get("localId") or account.uid)
        claims = {ROLE_CLAIM: account.role} if account.role else {}
        update = {**fields, "localId": uid, "customAttributes": json.dumps(claims)}
        update["disableUser"] = account.disabled
        self._operator("POST", f"{base}:update", update)
        return uid

    def disable(self, uid: str, project: str | None = None) -> None:
        """Disable an account (its tokens stay well-formed; check_revoked refuses them)."""
        path = f"/identitytoolkit.googleapis.com/v1/projects/{project or self.project}"
        self._operator("POST", f"{path}/accounts:update", {"localId": uid, "disableUser": True})

    def protect_email_enumeration(self, enabled: bool, project: str | None = None) -> None:
        """Identity Platform's email-enumeration protection: a wrong password and an unknown
        email then both answer INVALID_LOGIN_CREDENTIALS (new projects have it on)."""
        body = {"emailPrivacyConfig": {"enableImprovedEmailPrivacy": enabled}}
        self._operator("PATCH", f"/emulator/v1/projects/{project or self.project}/config", body)

    def _operator(
        self,
        method: str,
        path: str,
        body: Any = None,
        allow: frozenset[str] = frozenset(),
    ) -> dict[str, Any]:
        response = self._session.request(
            method, self.url + path, json=body, headers=OWNER, timeout=10
        )
        data: dict[str, Any] = response.json() if response.content else {}
        if response.status_code >= 400:
            message = str(data.get("error", {}).get("message", response.text))
            if message not in allow:
                raise EmulatorError(f"{method} {path}: HTTP {response.status_code} {message}")
        return data


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return list(psutil.Process(pid).children(recursive=True))
    except psutil.Error:
        return []
