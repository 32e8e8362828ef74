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
from tests.terraform.test_terraform import MODULE, OPTIONS, TERRAFORM, load

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
    names = [set(load(TERRAFORM / "environments" / env).variables) for env in ("dev", "prod")]
    assert names[0] == names[1]
    return names[0]


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
    outputs = set(load(TERRAFORM / "environments" / "dev").outputs)
    used = set(re.findall(r"output (?:-raw |-json )?(\w+)", text))
    assert {"sql_connection_name", "model_version", "function_urls"} <= used
    assert used <= outputs, used - outputs


def test_build_substitutions_the_guide_uses_exist() -> None:
    build = yaml.safe_load((REPO / "cloudbuild.yaml").read_text(encoding="utf-8"))
    given = re.findall(r'--substitutions\s+"([^"]+)"', guide_shell())
    used = {pair.split("=", 1)[0] for text in given for pair in text.split(",")}
    assert {"_ENV", "_STATE_BUCKET", "_APPLY"} <= used
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
