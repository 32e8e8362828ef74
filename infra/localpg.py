"""An embedded PostgreSQL for laptops and tests, from the binaries in the `pgserver` wheel.

We drive initdb/pg_ctl ourselves (rather than pgserver.get_server) to listen on a TCP port,
which pg8000 and the DATABASE_URL convention expect, and to stop/start it on demand.
"""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

if not os.environ.get("XDG_RUNTIME_DIR"):  # pgserver's platformdirs warns without a private one
    os.environ["XDG_RUNTIME_DIR"] = tempfile.mkdtemp(prefix="xdg-")

from pgserver._commands import POSTGRES_BIN_PATH

SYSTEM_USER = "pgserveruser"  # postgres refuses to run as root
FAST_UNSAFE = "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_root() -> bool:
    return os.geteuid() == 0


def _prepare_for_system_user(data_dir: Path) -> str | None:
    """When root, run postgres as an unprivileged user that can reach the data directory."""
    if not _as_root():
        return None
    from pgserver.utils import (
        ensure_folder_permissions,
        ensure_prefix_permissions,
        ensure_user_exists,
    )

    entry = ensure_user_exists(SYSTEM_USER)
    assert entry is not None
    ensure_prefix_permissions(data_dir)
    ensure_prefix_permissions(POSTGRES_BIN_PATH)
    ensure_folder_permissions(
        POSTGRES_BIN_PATH, stat.S_IXGRP | stat.S_IXOTH | stat.S_IRGRP | stat.S_IROTH
    )
    ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", stat.S_IRGRP | stat.S_IROTH)
    os.chown(data_dir, entry.pw_uid, entry.pw_gid)
    return SYSTEM_USER


def hand_over(path: Path) -> Path:
    """Give `path` (and everything under it) to the server's user, when we are root."""
    if _as_root():
        from pgserver.utils import ensure_user_exists

        entry = ensure_user_exists(SYSTEM_USER)
        assert entry is not None
        for item in [path, *path.rglob("*")]:
            os.chown(item, entry.pw_uid, entry.pw_gid)
    return path


@dataclass
class EmbeddedPostgres:
    """One local cluster in `root` (data, socket and log inside), reachable on 127.0.0.1:port."""

    root: Path
    port: int
    durable: bool = True

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def log_file(self) -> Path:
        return self.root / "postgres.log"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, tool: str, *args: str, timeout: float = 60) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        user = _prepare_for_system_user(self.root)
        command = [str(POSTGRES_BIN_PATH / tool), *args]
        result = subprocess.run(
            command,
            user=user,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        if result.returncode != 0:
            log = self.log_file.read_text()[-3000:] if self.log_file.exists() else ""
            raise RuntimeError(f"{tool} failed: {result.stderr.strip()}\n{log}")

    def ensure_initialised(self) -> None:
        if (self.data_dir / "PG_VERSION").exists():
            return
        self._run(
            "initdb",
            "-D",
            str(self.data_dir),
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
            "-U",
            "postgres",
        )

    def configure(self, **settings: str) -> None:
        """Server settings written into the data directory's postgresql.conf (read at start;
        a later line wins, so this also overrides what a copied data directory carries)."""
        self.ensure_initialised()
        quoted = {name: value.replace("'", "''") for name, value in settings.items()}
        lines = "".join(f"{name} = '{value}'\n" for name, value in quoted.items())
        with (self.data_dir / "postgresql.conf").open("a", encoding="utf-8") as conf:
            conf.write(lines)

    def base_backup(self, target: Path) -> None:
        """A plain-format base backup of the running cluster into `target` (WAL from the
        archive, -X none), fast checkpoint, checked against its manifest."""
        self._run(
            "pg_basebackup",
            *("-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres"),
            *("-D", str(target), "-Fp", "-X", "none", "--checkpoint=fast"),
            timeout=1800,
        )
        self._run("pg_verifybackup", "--no-parse-wal", str(target), timeout=1800)

    def start(self) -> EmbeddedPostgres:
        self.ensure_initialised()
        if self.is_running():
            return self
        options = f"-h 127.0.0.1 -p {self.port} -k {self.data_dir} -c max_connections=200"
        if not self.durable:
            options += " " + FAST_UNSAFE
        if self.log_file.exists() and _as_root():
            self.log_file.unlink()
        self._run(
            "pg_ctl",
            "-D",
            str(self.data_dir),
            "-l",
            str(self.log_file),
            "-w",
            "-t",
            "60",
            "-o",
            options,
            "start",
        )
        return self

    def stop(self, mode: str = "fast") -> None:
        if self.is_running():
            self._run("pg_ctl", "-D", str(self.data_dir), "-m", mode, "-w", "stop")

    def is_running(self) -> bool:
        pid_file = self.data_dir / "postmaster.pid"
        if not pid_file.exists():
            return False
        try:
            pid = int(pid_file.read_text().split("\n", 1)[0])
            os.kill(pid, 0)
        except (ValueError, ProcessLookupError):
            return False
        return True

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        raise TimeoutError(f"postgres on port {self.port} did not come up")

    def create_database(self, name: str, template: str | None = None) -> str:
        """Create `name` unless it exists; return its URL."""
        import pg8000.native

        conn = pg8000.native.Connection("postgres", host="127.0.0.1", port=self.port)
        try:
            exists = conn.run("SELECT 1 FROM pg_database WHERE datname = :n", n=name)
            if not exists:
                suffix = f" TEMPLATE {pg8000.native.identifier(template)}" if template else ""
                conn.run(f"CREATE DATABASE {pg8000.native.identifier(name)}{suffix}")
        finally:
            conn.close()
        return self.url(name)

    def drop_database(self, name: str) -> None:
        import pg8000.native

        conn = pg8000.native.Connection("postgres", host="127.0.0.1", port=self.port)
        try:
            conn.run(f"DROP DATABASE IF EXISTS {pg8000.native.identifier(name)} WITH (FORCE)")
        finally:
            conn.close()
