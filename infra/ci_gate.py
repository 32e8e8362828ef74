"""Cloud Build's first step: may this build change the environment, and is it set up right?

    python3 -m infra.ci_gate --env dev --project P --branch B --pr N --trigger T --apply A

Writes ``yes`` or ``no`` to /workspace/apply, read by every step that changes the cloud.
Standard library only: it runs before anything is installed. Rules (docs/deploy.md,
"Continuous deployment"):

- a pull-request build (``_PR_NUMBER`` set) never applies, whatever its branch is called;
- a triggered build applies only from its environment's branches (dev: ``dev``; prod:
  ``main`` or ``prod``);
- a manual ``gcloud builds submit`` applies only when asked to (``_APPLY=true``).

It refuses to run when the environment's files (terraform/environments/<env>/) do not
belong to it: settings.tfvars naming another project than the build's or another
environment, backend.hcl without a bucket or with another environment's prefix. A build that
applies must run as the deployer those settings name; a plan-only build (a pull request,
say) may run as any identity that can read the project and the state, such as a read-only
account.
"""

from __future__ import annotations

import argparse
import re
import sys
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENV_BRANCHES = {"dev": frozenset({"dev"}), "prod": frozenset({"main", "prod"})}
METADATA_EMAIL = (
    "http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/email"
)


class GateError(Exception):
    """The build is misconfigured; it must stop before touching anything."""


def decide(env: str, branch: str, pr_number: str, trigger: str, apply: str) -> tuple[bool, str]:
    """Whether the build may publish, migrate and apply, and why."""
    if env not in ENV_BRANCHES:
        raise GateError(f"_ENV must be one of {sorted(ENV_BRANCHES)}, not {env!r}")
    if pr_number:
        return False, f"pull-request build (#{pr_number}): plan only, whatever the branch"
    if trigger:
        if branch in ENV_BRANCHES[env]:
            return True, f"trigger {trigger}: branch {branch!r} deploys {env}"
        return False, f"trigger {trigger}: branch {branch!r} does not deploy {env}: plan only"
    if apply == "true":
        return True, "manual build with _APPLY=true"
    return False, "manual build: plan only (add _APPLY=true to deploy)"


def environment_dir(env: str, root: Path = ROOT) -> Path:
    """terraform/environments/<env>: the environment's settings and state location."""
    return root / "terraform" / "environments" / env


def _assignments(path: Path) -> dict[str, str]:
    """The plain `name = "string"` lines of a .tfvars or .hcl file."""
    pattern = re.compile(r'^\s*([a-z_]+)\s*=\s*"([^"]*)"', re.M)
    return dict(pattern.findall(path.read_text(encoding="utf-8")))


def settings(env: str, root: Path = ROOT) -> dict[str, str]:
    """The plain string settings of terraform/environments/<env>/settings.tfvars."""
    return _assignments(environment_dir(env, root) / "settings.tfvars")


def backend(env: str, root: Path = ROOT) -> dict[str, str]:
    """The state location of terraform/environments/<env>/backend.hcl (bucket, prefix)."""
    return _assignments(environment_dir(env, root) / "backend.hcl")


def deployer(values: dict[str, str]) -> str:
    """The deployer's email, as terraform/main.tf derives it."""
    return values.get("build_service_account_email") or (
        f"kmr-deployer@{values['project_id']}.iam.gserviceaccount.com"
    )


def build_identity() -> str:
    """The service account this build runs as, from the metadata server."""
    request = urllib.request.Request(METADATA_EMAIL, headers={"Metadata-Flavor": "Google"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 (fixed URL)
            return str(response.read().decode().strip())
    except (urllib.error.URLError, OSError) as exc:
        raise GateError(f"cannot read the build's identity (metadata server): {exc}") from exc


def check_files(env: str, project: str, root: Path = ROOT) -> dict[str, str]:
    """The environment's settings, once they are known to belong to `env` in `project`."""
    where = f"terraform/environments/{env}"
    values = settings(env, root)
    if values.get("project_id") != project:
        raise GateError(
            f"{where}/settings.tfvars has project_id "
            f"{values.get('project_id')!r} but this build runs in {project!r}"
        )
    if values.get("environment") != env:
        raise GateError(
            f"{where}/settings.tfvars has environment {values.get('environment')!r}, not {env!r}"
        )
    state = backend(env, root)
    if not state.get("bucket") or not state.get("prefix", "").endswith(f"/{env}"):
        raise GateError(
            f"{where}/backend.hcl must name the state bucket and a prefix ending in /{env}, "
            f"not {state}"
        )
    return values


def check_identity(values: dict[str, str], project: str, identity: str) -> None:
    """A build that changes the environment runs as its deployer."""
    expected = deployer(values)
    if identity != expected:
        raise GateError(
            f"the build runs as {identity}, not as the deployer {expected}: pass "
            f"--service-account=projects/{project}/serviceAccounts/{expected} "
            "(gcloud builds submit, or the trigger's service account)"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--env", required=True)
    parser.add_argument("--project", required=True)
    parser.add_argument("--branch", default="")
    parser.add_argument("--pr", default="")
    parser.add_argument("--trigger", default="")
    parser.add_argument("--apply", default="")
    parser.add_argument("--identity", default=None, help="skip the metadata server (tests)")
    parser.add_argument("--workspace", type=Path, default=Path("/workspace"))
    args = parser.parse_args(argv)
    try:
        apply, why = decide(args.env, args.branch, args.pr, args.trigger, args.apply)
        values = check_files(args.env, args.project)
        if apply:
            check_identity(values, args.project, args.identity or build_identity())
    except GateError as error:
        print(f"gate: {error}", file=sys.stderr)
        return 1
    (args.workspace / "apply").write_text("yes\n" if apply else "no\n")
    state = backend(args.env)
    print(
        f"gate: env={args.env} state=gs://{state['bucket']}/{state['prefix']} "
        f"apply={'yes' if apply else 'no'}: {why}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
