"""Every process the cloud runs, and the environment it runs with: read from terraform/ and
cloudbuild.yaml, never written down a second time.

    python -m infra.cloudenv [--env dev]     one JSON line per process

- functions: each `google_cloudfunctions2_function` instance (entry point, signature,
  bundle, `environment_variables`, `secret_environment_variables`);
- jobs: each `google_cloud_run_v2_job` instance (the image's ENTRYPOINT + the container's
  args, its `env` blocks, static or dynamic, literal or from Secret Manager);
- steps: each Cloud Build step that runs our Python (`python -m ...`), with the build's and
  the step's `env` and its arguments after substitution.

Values are what Terraform would set, evaluated by infra/tfeval.py from the module
(terraform/modules/system) and one environment's settings. The rehearsal (tests/rehearsal)
starts each of these processes with exactly this environment.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import sys
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from infra.job_image import DOCKERFILE
from infra.tfeval import (
    Computed,
    Evaluated,
    Instance,
    Module,
    expand_blocks,
    load_tfvars,
    to_string,
)

REPO = Path(__file__).resolve().parents[1]
TERRAFORM = REPO / "terraform"
CLOUDBUILD = REPO / "cloudbuild.yaml"
PYTHON_STEP = re.compile(r"(?:\.venv/bin/python|\bpython3?)\s+-m\s+(\S+)([^\n]*)")


@dataclass(frozen=True)
class SecretRef:
    """An environment variable Secret Manager fills in: which secret, which version."""

    secret: str
    version: str


@dataclass(frozen=True)
class CloudProcess:
    """One process the cloud runs: what starts it and the environment it gets."""

    name: str  # "function movies", "job rescore", "step before-apply"
    command: tuple[str, ...]  # "python" stands for the runtime's interpreter
    env: Mapping[str, str]
    secrets: Mapping[str, SecretRef] = field(default_factory=dict)
    service: str = ""  # the function's or job's name in the cloud
    target: str = ""  # functions: the entry point
    signature: str = ""  # functions: http or cloudevent
    bundle: str = ""  # functions: the bundle (functions/<bundle>/) it deploys
    tasks: int = 0  # jobs: tasks per execution unless a run overrides it

    @property
    def kind(self) -> str:
        return self.name.split(" ", 1)[0]


def environment(
    env: str, computed: Computed | None = None, variables: Mapping[str, Any] | None = None
) -> Module:
    """The root module of environment `env` with its committed settings (and `variables`).

    The one place that knows where an environment's definition and settings live.
    """
    settings = load_tfvars(TERRAFORM / "environments" / env / "settings.tfvars")
    inputs = {**settings, **(variables or {})}
    return Module(TERRAFORM, inputs, computed or Computed(), TERRAFORM)


def system(env: str, computed: Computed | None = None, **variables: Any) -> Module:
    """terraform/modules/system as environment `env` instantiates it."""
    return environment(env, computed, variables).child("system")


def instances(module: Module, rtype: str) -> dict[str, Instance]:
    """Every instance of every resource of `rtype`, by for_each key (or resource name)."""
    found: dict[str, Instance] = {}
    for block in module.body.of_type("resource", rtype):
        value = module.resource(rtype, block.labels[1])
        if isinstance(value, dict):
            found.update(value)
        elif isinstance(value, list):
            found.update({f"{block.labels[1]}[{i}]": v for i, v in enumerate(value)})
        else:
            found[block.labels[1]] = value
    return found


def _first(parent: Evaluated, *path: str) -> Evaluated:
    for name in path:
        blocks = expand_blocks(parent, name)
        if len(blocks) != 1:
            raise ValueError(f"{parent.label}: expected one {name} block, found {len(blocks)}")
        parent = blocks[0]
    return parent


def _strings(values: Mapping[str, Any]) -> dict[str, str]:
    return {name: to_string(value) for name, value in values.items()}


def functions(module: Module) -> dict[str, CloudProcess]:
    """The deployed functions, by Terraform key (`reviews-uploads`) or resource name (`web`)."""
    found = {}
    for key, function in instances(module, "google_cloudfunctions2_function").items():
        build = _first(function, "build_config")
        source = _first(build, "source", "storage_source").referent("object")
        service = _first(function, "service_config")
        secrets = {
            block.attr("key"): SecretRef(block.attr("secret"), to_string(block.attr("version")))
            for block in expand_blocks(service, "secret_environment_variables")
        }
        plain = (
            service.attr("environment_variables") if service.has("environment_variables") else {}
        )
        event = bool(expand_blocks(function, "event_trigger"))
        found[key] = CloudProcess(
            name=f"function {key}",
            command=("functions-framework",),
            env=_strings(plain),
            secrets=secrets,
            service=function.attr("name"),
            target=build.attr("entry_point"),
            signature="cloudevent" if event else "http",
            bundle=Path(source.attr("source")).stem,
        )
    return found


def image_entrypoint(dockerfile: Path = DOCKERFILE) -> tuple[str, ...]:
    """The job image's ENTRYPOINT (exec form), e.g. ("python", "-m")."""
    for line in dockerfile.read_text(encoding="utf-8").splitlines():
        if line.startswith("ENTRYPOINT"):
            return tuple(json.loads(line.removeprefix("ENTRYPOINT")))
    raise ValueError(f"{dockerfile} has no ENTRYPOINT")


def jobs(module: Module) -> dict[str, CloudProcess]:
    """The Cloud Run jobs, by Terraform key."""
    found = {}
    for key, job in instances(module, "google_cloud_run_v2_job").items():
        container = _first(job, "template", "template", "containers")
        env: dict[str, str] = {}
        secrets: dict[str, SecretRef] = {}
        for block in expand_blocks(container, "env"):
            if block.has("value"):
                env[block.attr("name")] = to_string(block.attr("value"))
            else:
                ref = _first(block, "value_source", "secret_key_ref")
                secrets[block.attr("name")] = SecretRef(ref.attr("secret"), ref.attr("version"))
        args = tuple(container.attr("args")) if container.has("args") else ()
        execution = _first(job, "template")
        found[key] = CloudProcess(
            name=f"job {key}",
            command=image_entrypoint() + args,
            env=env,
            secrets=secrets,
            service=job.attr("name"),
            tasks=int(execution.attr("task_count")) if execution.has("task_count") else 1,
        )
    return found


def _substitute(text: str, values: Mapping[str, str]) -> str:
    """Cloud Build's substitution: $NAME and ${NAME}; $$ is a literal $ (ALLOW_LOOSE)."""

    def one(match: re.Match[str]) -> str:
        if match[0] == "$$":
            return "$"
        return values.get(match[1] or match[2], "")

    return re.sub(r"\$\$|\$\{(\w+)\}|\$(\w+)", one, text)


def steps(
    substitutions: Mapping[str, str] | None = None, path: Path = CLOUDBUILD
) -> dict[str, CloudProcess]:
    """The Cloud Build steps that run our Python, by step id, after substitution."""
    import yaml

    build = yaml.safe_load(path.read_text(encoding="utf-8"))
    values = {**build.get("substitutions", {}), **(substitutions or {})}
    shared_env = list(build.get("options", {}).get("env", []))
    found = {}
    for step in build["steps"]:
        args = [_substitute(a, values) for a in step.get("args", [])]
        if step.get("entrypoint", "").startswith("python") and args[:1] == ["-m"]:
            commands = [("python", *args)]
        else:
            script = "\n".join(args)
            commands = [
                ("python", "-m", m[1], *shlex.split(m[2].split("#")[0]))
                for m in PYTHON_STEP.finditer(script)
            ]
        if not commands:
            continue
        if len(commands) > 1:
            raise ValueError(f"step {step['id']} runs {len(commands)} Python commands: split it")
        env = dict(item.split("=", 1) for item in shared_env + list(step.get("env", [])))
        found[step["id"]] = CloudProcess(name=f"step {step['id']}", command=commands[0], env=env)
    return found


def processes(env: str, substitutions: Mapping[str, str] | None = None) -> list[CloudProcess]:
    """Everything environment `env` runs: functions, jobs and the pipeline's Python steps."""
    module = system(env)
    return [*functions(module).values(), *jobs(module).values(), *steps(substitutions).values()]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.cloudenv", description=__doc__)
    parser.add_argument("--env", default="dev")
    args = parser.parse_args(argv)
    for process in processes(args.env, {"_ENV": args.env}):
        print(json.dumps(asdict(process), ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
