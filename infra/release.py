"""The pipeline's database and model steps around `terraform apply` (cloudbuild.yaml).

    python -m infra.release before   # after the plan: publish the model, migrate
    python -m infra.release after    # after the apply: the same, then grants to new users

Both phases are idempotent, so running them twice costs nothing:

- publish: the model version the plan deploys is uploaded unless it is already there;
- migrate: Alembic upgrades to head (expand-only migrations: the code still running must keep
  working), creates pgaudit where enabled and grants data access to the functions' users.

``before`` runs while the old code serves traffic, so migrations and models are in place
before new revisions start. On a new environment there is nothing yet (no bucket, no
database): ``before`` says so and does nothing, ``after`` does everything. ``after`` also
covers users that the apply has just created (a new function), which ``before`` cannot grant.
It reads Terraform's outputs from /workspace (written by the tf-plan and tf-apply steps).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

WORKSPACE = Path("/workspace")
ARTIFACTS = Path("model/artifacts")
Runner = Callable[[Sequence[str], dict[str, str]], None]


class ReleaseError(Exception):
    """A step cannot go on; the message says what to do."""


def run(command: Sequence[str], env: dict[str, str]) -> None:
    subprocess.run(list(command), env={**os.environ, **env}, check=True)


def outputs(path: Path) -> dict[str, Any]:
    """`terraform output -json` as {name: value}."""
    raw = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    return {name: item["value"] for name, item in raw.items()}


def planned_model_version(plan_json: Path) -> str:
    """model_version as the saved plan will apply it (`terraform show -json tfplan`)."""
    plan = json.loads(plan_json.read_text(encoding="utf-8"))
    try:
        return str(plan["planned_values"]["outputs"]["model_version"]["value"])
    except KeyError as exc:
        raise ReleaseError(f"{plan_json} has no planned output model_version") from exc


def publish(bucket: str, version: str, exists: Callable[[str, str], bool], runner: Runner) -> str:
    """Publish model/artifacts/<version> unless gs://bucket/sentiment/<version>/ exists."""
    if exists(bucket, f"sentiment/{version}/manifest.json"):
        return f"gs://{bucket}/sentiment/{version}/ already published"
    artifact = ARTIFACTS / version
    manifest = artifact / "manifest.json"
    if not manifest.is_file():
        raise ReleaseError(f"model {version} is neither published nor in {ARTIFACTS}")
    found = json.loads(manifest.read_text(encoding="utf-8"))["version"]
    if found != version:
        raise ReleaseError(f"{manifest} says version {found}, the settings say {version}")
    runner([sys.executable, "-m", "model.publish", str(artifact), f"gs://{bucket}/sentiment/"], {})
    return f"published {version} to gs://{bucket}/sentiment/"


def migrate(values: dict[str, Any], runner: Runner) -> str:
    env = {
        "INSTANCE_CONNECTION_NAME": values["sql_connection_name"],
        "DB_NAME": values["db_name"],
        "DB_IAM_USER": values["db_build_user"],
        "DB_APP_USERS": values["db_app_users"],
    }
    runner([sys.executable, "-m", "infra.migrate", "upgrade"], env)
    return f"migrated; data access for {values['db_app_users']}"


def blob_exists(bucket: str, name: str) -> bool:
    from shared import storage

    return bool(storage.get_client().bucket(bucket).blob(name).exists())


def release(
    phase: str,
    workspace: Path = WORKSPACE,
    exists: Callable[[str, str], bool] = blob_exists,
    runner: Runner = run,
) -> list[str]:
    """Run one phase; returns what was done, line by line."""
    if (workspace / "apply").read_text().strip() != "yes":
        return [f"plan-only build: nothing to do {phase} apply"]
    name = "tf-outputs.json" if phase == "before" else "tf-outputs-applied.json"
    values = outputs(workspace / name)
    if "sql_connection_name" not in values:
        if phase == "before":
            return ["new environment: the model and the database are set up after apply"]
        raise ReleaseError(f"{workspace / name} has no sql_connection_name: did the apply run?")
    version = planned_model_version(workspace / "tfplan.json")
    return [publish(values["models_bucket"], version, exists, runner), migrate(values, runner)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("phase", choices=["before", "after"])
    parser.add_argument("--workspace", type=Path, default=WORKSPACE)
    args = parser.parse_args(argv)
    try:
        for line in release(args.phase, args.workspace):
            print(f"release {args.phase}: {line}")
    except ReleaseError as error:
        print(f"release {args.phase}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
