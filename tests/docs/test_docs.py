"""The documentation's snippets work: Python compiles, shell parses, names exist.

Every fenced block of README.md and docs/*.md is checked: ```python compiles (with this
interpreter, the oldest the project supports), ```bash/```sh passes `bash -n`, and so does
every `python3 -c '...'` inside a shell block. The deployment guide's Terraform variables
(TF_VAR_*, -var, the settings example), -target addresses, `terraform output` names,
Cloud Build substitutions and `python -m` modules must exist where the guide says.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
from pathlib import Path

import hcl2
import pytest
import yaml

from tests.support import REPO
from tests.terraform.test_terraform import MODULE, OPTIONS, TERRAFORM, git_ignored, load

DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
GUIDE = REPO / "docs" / "deploy.md"
FENCE = re.compile(r"^```([\w+-]*)[^\n]*\n(.*?)^```", re.M | re.S)
SHELLS = {"bash", "sh", "shell"}
INLINE_PYTHON = re.compile(r"python3? -c '([^']*)'")


def snippets(languages: set[str]) -> list[tuple[str, str]]:
    """(where, code) of every fenced block in one of `languages`."""
    found = []
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for match in FENCE.finditer(text):
            if match.group(1) in languages:
                line = text[: match.start()].count("\n") + 1
                found.append((f"{path.relative_to(REPO)}:{line}", match.group(2)))
    return found


def guide_shell() -> str:
    return "\n".join(code for where, code in snippets(SHELLS) if where.startswith("docs/deploy"))


def test_there_are_snippets_to_check() -> None:
    assert len(snippets(SHELLS)) >= 10
    assert snippets({"hcl"})


@pytest.mark.parametrize(("where", "code"), snippets({"python", "py"}))
def test_python_snippets_compile(where: str, code: str) -> None:
    compile(code, where, "exec")


@pytest.mark.parametrize(("where", "code"), snippets(SHELLS))
def test_shell_snippets_parse(where: str, code: str) -> None:
    bash = shutil.which("bash")
    assert bash, "bash is needed to check the shell snippets"
    result = subprocess.run([bash, "-n"], input=code, text=True, capture_output=True, check=False)
    assert result.returncode == 0, f"{where}: {result.stderr}"
    for inline in INLINE_PYTHON.findall(code):
        compile(inline, f"{where} (python3 -c)", "exec")


def test_inline_python_is_found() -> None:
    """The check above really looks inside `python3 -c '...'` (the f-string trap of 3.11)."""
    broken = 'python3 -c \'print(f"{"a".replace("-","_")}")\''
    assert INLINE_PYTHON.findall(broken)
    with pytest.raises(SyntaxError):
        compile('print(f"{"a".replace(\\"-\\",\\"_\\")}")', "x", "exec")


@pytest.fixture(scope="module")
def env_variables() -> set[str]:
    """The settings an environment may give: the root configuration's variables."""
    return set(load(TERRAFORM).variables)


def test_terraform_variables_the_guide_uses_exist(env_variables: set[str]) -> None:
    text = GUIDE.read_text(encoding="utf-8")
    used = set(re.findall(r"TF_VAR_(\w+)", text))
    used |= set(re.findall(r"-var[ =](\w+)=", text))
    for _, code in snippets({"hcl"}):
        used |= set(hcl2.loads(code, serialization_options=OPTIONS))
    assert {"deletion_protection", "force_destroy_buckets", "project_id"} <= used
    assert used <= env_variables, used - env_variables


def test_targets_and_outputs_the_guide_uses_exist() -> None:
    text = GUIDE.read_text(encoding="utf-8")
    module = load(MODULE)
    for rtype, name in re.findall(r"-target=module\.system\.(\w+)\.(\w+)", text):
        assert (rtype, name) in module.resources, f"{rtype}.{name}"
    outputs = set(load(TERRAFORM).outputs)
    used = set(re.findall(r"output (?:-raw |-json )?(\w+)", text))
    assert {"sql_connection_name", "model_version", "function_urls"} <= used
    assert used <= outputs, used - outputs


def test_build_substitutions_the_guide_uses_exist() -> None:
    build = yaml.safe_load((REPO / "cloudbuild.yaml").read_text(encoding="utf-8"))
    given = re.findall(r'--substitutions\s+"([^"]+)"', guide_shell())
    used = {pair.split("=", 1)[0] for text in given for pair in text.split(",")}
    assert {"_ENV", "_APPLY"} <= used
    assert used <= set(build["substitutions"]), used


def test_python_modules_the_docs_run_exist() -> None:
    modules = {m for path in DOCS for m in re.findall(r"python -m ([\w.]+)", path.read_text())}
    assert {"infra.bundles", "infra.migrate", "model.publish"} <= modules
    for name in modules:
        assert importlib.util.find_spec(name) is not None, name


def test_guide_has_the_sections_a_new_user_needs() -> None:
    headings = re.findall(r"^## (?:\d+\. )?(.+)$", GUIDE.read_text(encoding="utf-8"), re.M)
    for wanted in (
        "Prerequisites",
        "Bootstrap (once per project)",
        "First deployment",
        "Smoke tests",
        "Continuous deployment (Cloud Build)",
        "Alerts and runbook",
        "Tear-down (scratch environments only)",
    ):
        assert wanted in headings or any(h.startswith(wanted) for h in headings), wanted
    order = [
        next(i for i, h in enumerate(headings) if h.startswith(w))
        for w in ("Prerequisites", "Bootstrap", "Settings", "First deployment", "Smoke tests")
    ]
    assert order == sorted(order)


def test_terraform_directories_in_the_guide_exist() -> None:
    for rel in set(re.findall(r"terraform/environments/(\w+)/", GUIDE.read_text())):
        if rel not in {"ENV", "env"}:
            assert (TERRAFORM / "environments" / rel).is_dir(), rel
    assert Path(REPO / "infra" / "ci_gate.py").exists()


def guide_commands() -> list[str]:
    """Every command of the guide's shell blocks, continuation lines joined."""
    lines = guide_shell().replace("\\\n", " ").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]


def test_terraform_runs_pick_the_environment_from_env() -> None:
    """One configuration: every run names it, and the environment's own state and settings."""
    assert set(re.findall(r'TF="([^"]+)"', guide_shell())) == {"terraform -chdir=terraform"}
    run = re.compile(r"(?:\bterraform(?: (-chdir=\S+))?|\$TF)(?: -\S+)* (\w+)")
    seen = set()
    for command in guide_commands():
        for chdir, action in run.findall(command.split("TF=")[-1] if "TF=" in command else command):
            seen.add(action)
            assert chdir in {"", "-chdir=terraform"}, command
            assert chdir or "$TF" in command, command  # never a bare `terraform` elsewhere
            if action == "init":
                assert '-backend-config="environments/${ENV}/backend.hcl"' in command, command
            if action in {"plan", "apply", "destroy"}:
                saved = action == "apply" and command.endswith(" apply tfplan")
                given = '-var-file="environments/${ENV}/settings.tfvars"' in command
                assert saved or given or '"$SETTINGS"' in command, command
    assert {"init", "plan", "apply", "output", "destroy", "state"} <= seen, seen


def test_saved_plans_are_git_ignored() -> None:
    """A saved plan holds secrets: where the guide writes one under terraform/, git ignores it."""
    outs = {m for c in guide_commands() for m in re.findall(r"-out=(\S+)", c)}
    assert outs == {"tfplan"}
    paths = {TERRAFORM / name for name in outs} | {TERRAFORM / "tfplan.json"}
    assert git_ignored(*paths) == paths
    assert "git-ignored" in GUIDE.read_text(encoding="utf-8")


def test_builds_with_their_own_service_account_say_where_logs_go() -> None:
    """Cloud Build refuses a user-specified service account without a logs option."""
    build = yaml.safe_load((REPO / "cloudbuild.yaml").read_text(encoding="utf-8"))
    config_has_logging = build["options"]["logging"] in {"CLOUD_LOGGING_ONLY", "NONE"}
    builds = [c for c in guide_commands() if "gcloud builds " in c and "--service-account" in c]
    assert len(builds) >= 3
    for command in builds:
        uses_config = (
            "--config cloudbuild.yaml" in command or "--build-config cloudbuild.yaml" in command
        )
        own_logs = "--default-buckets-behavior=regional-user-owned-bucket" in command
        assert (uses_config and config_has_logging) or own_logs, command


def test_one_impersonation_of_the_deployer() -> None:
    """ADC impersonates the deployer; nothing impersonates it a second time on top."""
    shell = guide_shell()
    assert "gcloud auth application-default login --impersonate-service-account" in shell
    assert shell.count("--impersonate-service-account") == 1
    assert not re.search(
        r"GOOGLE_IMPERSONATE_SERVICE_ACCOUNT=|impersonate_service_account\s*=", shell
    )


def test_the_runbook_reruns_the_upload_job_with_its_object_and_task_count() -> None:
    from shared.uploads.fanout import OBJECT_ENV

    reruns = [c for c in guide_commands() if re.search(r"gcloud run jobs execute \S*uploads", c)]
    assert reruns
    for command in reruns:
        assert "--tasks " in command, command
        assert f'--update-env-vars "{OBJECT_ENV}=gs://' in command, command


def test_the_rollout_waits_on_the_environments_models_bucket() -> None:
    """--wait reads the summary from the bucket it is given, never from local defaults."""
    waits = [c for c in guide_commands() if "infra.rollout rescore" in c and "--wait" in c]
    assert waits
    for command in waits:
        assert '--models-bucket "$($TF output -raw models_bucket)"' in command, command


def test_the_guide_says_what_a_rollback_does_to_the_schema() -> None:
    guide = GUIDE.read_text(encoding="utf-8")
    section = guide[guide.index("**What a rollback does to the schema") :]
    section = section[: section.index("\n\n**")]
    # the log line an operator will see is the one infra.migrate writes
    assert "ahead of this tree" in (REPO / "infra" / "migrate.py").read_text(encoding="utf-8")
    for words in ("expand/contract", "ahead of this tree", "alembic_lineage", "downgrade"):
        assert words in section, words
