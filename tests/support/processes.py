"""A server of ours started as a process on a local port, as `make run` and the cloud start
it, with what it prints kept in a log file (the rehearsal and the Schemathesis runs)."""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Self

import requests

LOG_TAIL = 6000


@dataclass
class Serving:
    """A server process answering at `url`; its output goes to `log`."""

    name: str
    url: str
    popen: subprocess.Popen[bytes]
    log: Path
    stream: IO[bytes]

    @classmethod
    def start(
        cls,
        name: str,
        url: str,
        command: Sequence[str],
        *,
        env: Mapping[str, str],
        cwd: Path,
        log: Path,
        **extra: Any,
    ) -> Self:
        """`command` started in `cwd` with exactly `env`; `extra`: a subclass's own fields."""
        stream = log.open("wb")
        popen = subprocess.Popen(
            list(command), cwd=cwd, env=dict(env), stdout=stream, stderr=subprocess.STDOUT
        )
        return cls(name, url, popen, log, stream, **extra)

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-LOG_TAIL:]

    def wait_serving(self, path: str = "/healthz", expect: int = 200, timeout: float = 60) -> None:
        """Until `path` answers `expect`; a process that exits first fails with its output."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise AssertionError(f"{self.name} exited:\n{self.output()}")
            with contextlib.suppress(requests.RequestException):
                if requests.get(self.url + path, timeout=2).status_code == expect:
                    return
            time.sleep(0.2)
        raise AssertionError(f"{self.name} not serving in {timeout} s:\n{self.output()}")

    def stop(self) -> None:
        self.popen.terminate()
        try:
            self.popen.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()
        self.stream.close()
