"""Cloud Build's first step: may this build change the environment, and is it set up right?

    python3 -m infra.ci_gate --env dev --project P --branch B --pr N --trigger T --apply A

Writes ``yes`` or ``no`` to /workspace/apply (read by every step that changes the cloud) and
the state bucket to /workspace/state-bucket. Standard library only: it runs before anything
is installed. Rules (docs/deploy.md, "Continuous deployment"):

- a pull-request build (``_PR_NUMBER`` set) never applies, whatever its branch is called;
- a triggered build applies only from its environment's branches (dev: ``dev``; prod:
  ``main`` or ``prod``);
- a manual ``gcloud builds submit`` applies only when asked to (``_APPLY=true``).

It also refuses to run when the environment's settings.auto.tfvars names another project than
the build's, or when the build does not run as the deployer those settings name.
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


def settings(env: str, root: Path = ROOT) -> dict[str, str]:
    """The plain string settings of terraform/environments/<env>/settings.auto.tfvars."""
    path = root / "terraform" / "environments" / env / "settings.auto.tfvars"
    pattern = re.compile(r'^\s*([a-z_]+)\s*=\s*"([^"]*)"', re.M)
    return dict(pattern.findall(path.read_text(encoding="utf-8")))


def deployer(values: dict[str, str]) -> str:
    """The deployer's email, as the environment root module derives it."""
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


def check(env: str, project: str, identity: str, root: Path = ROOT) -> None:
    values = settings(env, root)
    if values.get("project_id") != project:
        raise GateError(
            f"terraform/environments/{env}/settings.auto.tfvars has project_id "
            f"{values.get('project_id')!r} but this build runs in {project!r}"
        )
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
    parser.add_argument("--state-bucket", default="")
    parser.add_argument("--identity", default=None, help="skip the metadata server (tests)")
    parser.add_argument("--workspace", type=Path, default=Path("/workspace"))
    args = parser.parse_args(argv)
    try:
        check(args.env, args.project, args.identity or build_identity())
        apply, why = decide(args.env, args.branch, args.pr, args.trigger, args.apply)
    except GateError as error:
        print(f"gate: {error}", file=sys.stderr)
        return 1
    bucket = args.state_bucket or f"{args.project}-tfstate"
    (args.workspace / "apply").write_text("yes\n" if apply else "no\n")
    (args.workspace / "state-bucket").write_text(bucket + "\n")
    print(f"gate: env={args.env} state=gs://{bucket} apply={'yes' if apply else 'no'}: {why}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
