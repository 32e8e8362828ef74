"""The cloud, rehearsed: stand-ins for what Google runs, and our processes started against them.

tests/rehearsal starts every process the cloud runs (infra/cloudenv.py reads them from
terraform/ and cloudbuild.yaml) as a real subprocess with exactly its cloud environment:
functions under functions-framework from their unpacked bundles, job tasks from the job
image's build context, pipeline steps from the checkout. Only what points at Google is
replaced:

- Cloud SQL: an embedded PostgreSQL provisioned as Terraform provisions the instance (its
  database owned by `cloudsqlsuperuser`, every `google_sql_user` as a role of the same
  name, the deployer in `cloudsqlsuperuser`); the connector's tunnel leads there
  (tests/support/cloud_edge.py), so every process logs in as its own IAM user and needs
  the grants migrate gives;
- Cloud Storage: the emulator (STORAGE_EMULATOR_HOST) with the buckets Terraform creates;
- Secret Manager: local values under the secrets' own names and versions;
- the Cloud Run Admin API: tests/support/fake_run_api.py; an execution started there runs
  the job's tasks here, with the job's environment, the request's overrides and the task
  contract;
- run.app URLs: the local processes, as the values Terraform computes;
- the Cloud Build workspace (/workspace) and the build's identity (the metadata server's
  answer): a temporary folder and the deployer the settings name.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from infra import cloudenv
from infra.cloudenv import CloudProcess, instances
from infra.jobs import task_env
from infra.localpg import EmbeddedPostgres, free_port
from infra.tfeval import Computed, Instance
from tests.support import REPO
from tests.support.fake_run_api import FakeRunApi
from tests.support.processes import LOG_TAIL, Serving

SECRET_VERSION = "1"  # the version the guide's first deployment adds (docs/deploy.md, 4 a)
# The database variables docs/deploy.md has an operator set from Terraform outputs (section 4
# b: migrate; section 6: verify; the runbook: grant), by output name.
OPERATOR_DB_ENV = {
    "INSTANCE_CONNECTION_NAME": "sql_connection_name",
    "DB_NAME": "db_name",
    "DB_IAM_USER": "db_build_user",
}


def operator(name: str, command: tuple[str, ...], env: dict[str, str]) -> CloudProcess:
    """A command docs/deploy.md tells an operator to run, with the variables it sets."""
    return CloudProcess(f"operator {name}", command, env)


def resolved(outputs: dict[str, Any], names: dict[str, str]) -> dict[str, str]:
    """Environment variables from Terraform outputs, as `terraform output -raw` prints them."""
    return {variable: str(outputs[output]) for variable, output in names.items()}


@dataclass(frozen=True)
class Ran:
    """A finished process: its command, exit code and output."""

    command: tuple[str, ...]
    code: int
    output: str

    def check(self) -> Ran:
        if self.code != 0:
            raise AssertionError(
                f"{' '.join(self.command)} exited {self.code}:\n{self.output[-LOG_TAIL:]}"
            )
        return self


@dataclass
class Served(Serving):
    """A function served by functions-framework on a local port."""

    process: CloudProcess


@dataclass
class Execution:
    """One job execution the fake Admin API ran: its overrides and each task's result."""

    job: str
    name: str
    overrides: dict[str, str]
    tasks: list[Ran] = field(default_factory=list)


def _python(command: tuple[str, ...]) -> tuple[str, ...]:
    """The cloud's interpreter and launchers are this environment's."""
    head = {
        "python": (sys.executable,),
        "functions-framework": (sys.executable, "-m", "functions_framework"),
    }
    return (*head.get(command[0], command[:1]), *command[1:])


def _run(command: tuple[str, ...], env: dict[str, str], cwd: Path, timeout: float) -> Ran:
    done = subprocess.run(
        list(command),
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        timeout=timeout,
        check=False,
    )
    return Ran(command, done.returncode, done.stdout.decode(errors="replace"))


class Cloud:
    """One environment as Terraform defines it, standing on local stand-ins (module doc)."""

    def __init__(
        self, env: str, root: Path, postgres: EmbeddedPostgres, storage: str, api: FakeRunApi
    ) -> None:
        self.root, self.postgres, self.storage = root, postgres, storage
        self.ports: dict[str, int] = {}
        local_urls = {("google_cloudfunctions2_function", "service_config"): self._local_url}
        self.environment = cloudenv.environment(env, Computed().replacing(local_urls))
        self.module = self.environment.child("system")
        self.functions = cloudenv.functions(self.module)
        self.jobs = cloudenv.jobs(self.module)
        self.workspace = self._folder("workspace")
        self.home = self._folder("home")
        self.secrets: dict[str, dict[str, str]] = {}
        self.executions: list[Execution] = []
        self.api = api
        self.edge = self._edge(api)
        api.on_run = self._execute

    def _folder(self, name: str) -> Path:
        path = self.root / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def _local_url(self, function: Instance) -> list[dict[str, str]]:
        port = self.ports.setdefault(function.attr("name"), free_port())
        return [{"uri": f"http://127.0.0.1:{port}"}]

    def _edge(self, api: FakeRunApi) -> Path:
        folder = self._folder("edge")
        shutil.copyfile(REPO / "tests" / "support" / "cloud_edge.py", folder / "sitecustomize.py")
        instance = instances(self.module, "google_sql_database_instance")
        (name,) = (sql.attr("connection_name") for sql in instance.values())
        config = {"instance": name, "host": "127.0.0.1", "port": self.postgres.port}
        (folder / "edge.json").write_text(json.dumps({**config, "run_api": api.endpoint}))
        return folder

    # --- terraform apply ------------------------------------------------------------------

    def apply(self) -> None:
        """Create what `terraform apply` creates and the processes reach, named as it names it."""
        import pg8000.native
        from pg8000.native import identifier

        from shared import storage

        databases = [d.attr("name") for d in instances(self.module, "google_sql_database").values()]
        users = [
            (u.attr("name"), u.attr("database_roles") if u.has("database_roles") else [])
            for u in instances(self.module, "google_sql_user").values()
        ]
        conn = pg8000.native.Connection("postgres", host="127.0.0.1", port=self.postgres.port)
        try:  # Cloud SQL's admin role, and databases created through the API belong to it
            conn.run("CREATE ROLE cloudsqlsuperuser NOLOGIN CREATEDB CREATEROLE")
            for name in databases:
                conn.run(f"CREATE DATABASE {identifier(name)} OWNER cloudsqlsuperuser")
            for name, roles in users:
                member = f" IN ROLE {', '.join(identifier(r) for r in roles)}" if roles else ""
                conn.run(f"CREATE ROLE {identifier(name)} LOGIN{member}")
        finally:
            conn.close()
        client = storage.get_client()
        for bucket in instances(self.module, "google_storage_bucket").values():
            client.create_bucket(bucket.attr("name"))
        for secret in instances(self.module, "google_secret_manager_secret").values():
            self.secrets[secret.attr("secret_id")] = {SECRET_VERSION: secrets.token_urlsafe(24)}

    def sessions(self) -> set[str]:
        """The users of the instance's open sessions (pg_stat_activity)."""
        import pg8000.native

        conn = pg8000.native.Connection("postgres", host="127.0.0.1", port=self.postgres.port)
        try:
            rows = conn.run("SELECT DISTINCT usename FROM pg_stat_activity WHERE usename <> ''")
        finally:
            conn.close()
        return {row[0] for row in rows}

    def outputs(self) -> dict[str, Any]:
        """`terraform output -json` of the environment, as {name: value}."""
        return self.environment.outputs()

    def write_outputs(self, name: str, values: dict[str, Any]) -> None:
        """An output file of the pipeline's Terraform steps in the workspace."""
        shaped = {k: {"value": v, "sensitive": False} for k, v in values.items()}
        if name == "tfplan.json":
            shaped = {"planned_values": {"outputs": shaped}}
        (self.workspace / name).write_text(json.dumps(shaped))

    # --- environments -----------------------------------------------------------------------

    def secret(self, secret: str, version: str) -> str:
        if secret not in self.secrets:
            raise AssertionError(f"Secret Manager has no secret {secret} (Terraform creates it)")
        if version not in self.secrets[secret]:
            raise AssertionError(f"secret {secret} has no version {version}")
        return self.secrets[secret][version]

    def env_for(self, process: CloudProcess, **extra: str) -> dict[str, str]:
        """Exactly the process's cloud environment, plus the stand-ins' addresses."""
        mounted = {
            name: self.secret(ref.secret, ref.version) for name, ref in process.secrets.items()
        }
        base = {"PATH": os.environ["PATH"], "HOME": str(self.home), "LANG": "C.UTF-8"}
        edge = {"PYTHONPATH": str(self.edge), "STORAGE_EMULATOR_HOST": self.storage}
        return {**base, **edge, **process.env, **mounted, **extra}

    # --- functions ------------------------------------------------------------------------

    def serve(self, key: str) -> Served:
        """Start function `key` as Cloud Run functions does: its bundle, its environment."""
        process = self.functions[key]
        source = self.root / "bundles" / process.bundle
        if not source.exists():
            with zipfile.ZipFile(REPO / "build" / "bundles" / f"{process.bundle}.zip") as bundle:
                bundle.extractall(source)
        port = self.ports.setdefault(process.service, free_port())
        runtime = {
            "PORT": str(port),
            "K_SERVICE": process.service,
            "K_REVISION": f"{process.service}-00001-reh",
            "K_CONFIGURATION": process.service,
            "FUNCTION_TARGET": process.target,
            "FUNCTION_SIGNATURE_TYPE": process.signature,
        }
        return Served.start(
            process.name,
            f"http://127.0.0.1:{port}",
            _python(process.command),
            env=self.env_for(process, **runtime),
            cwd=source,
            log=self.root / f"function-{key}.log",
            process=process,
        )

    # --- jobs (through the fake Admin API) ------------------------------------------------

    def _execute(self, job: str, execution: str, body: dict[str, Any]) -> dict[str, Any]:
        """Run an execution the Admin API was asked for: every task, to its end."""
        process = next(p for p in self.jobs.values() if p.service == job.rsplit("/", 1)[-1])
        overrides = body.get("overrides", {})
        env = {
            item["name"]: item.get("value", "")
            for container in overrides.get("containerOverrides", [])
            for item in container.get("env", [])
        }
        count = int(overrides.get("taskCount", process.tasks))
        name = execution.rsplit("/", 1)[-1]
        run = Execution(job, name, env)
        context = REPO / "build" / "job-image"  # the image's files (job-image-context step)
        started = [
            subprocess.Popen(
                list(_python(process.command)),
                cwd=context,
                env=self.env_for(process, **env, **task_env(process.service, name, i, count, 0)),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
            for i in range(count)
        ]
        for popen in started:
            output, _ = popen.communicate(timeout=300)
            run.tasks.append(Ran(_python(process.command), popen.returncode, output.decode()))
        self.executions.append(run)
        succeeded = sum(task.code == 0 for task in run.tasks)
        return {
            "taskCount": count,
            "succeededCount": succeeded,
            "failedCount": count - succeeded,
            "completionTime": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        }

    # --- pipeline steps and operator commands -------------------------------------------

    def run(self, process: CloudProcess, *extra: str, timeout: float = 180) -> Ran:
        """A Cloud Build step (or an operator's command) from the checkout, to its end."""
        command = (*_python(process.command), *extra)
        return _run(command, self.env_for(process), REPO, timeout)
