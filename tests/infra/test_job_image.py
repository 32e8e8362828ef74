"""The job image's build context: the reviews bundle as the plan names it, plus the Dockerfile."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from infra import bundles, job_image
from infra.job_image import ImageError
from tests.support import REPO

# what the image runs: the jobs' args (jobs.tf), and one upload outside the event path
JOB_MODULES = ("shared.rescore.__main__", "shared.uploads.shard_task", "shared.uploads.job")


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> bundles.Bundle:
    return bundles.build_bundle("reviews", tmp_path_factory.mktemp("bundles"))


def plan_for(tmp_path: Path, image: str) -> Path:
    plan = tmp_path / "tfplan.json"
    plan.write_text(json.dumps({"planned_values": {"outputs": {"job_image": {"value": image}}}}))
    return plan


def test_the_context_is_the_reviews_bundle_and_runs_the_job_modules(
    tmp_path: Path, bundle: bundles.Bundle
) -> None:
    image = f"asia-northeast3-docker.pkg.dev/p/kmr-jobs/jobs:{bundle.sha256}"
    out = tmp_path / "context"
    assert job_image.prepare(plan_for(tmp_path, image), bundle.path, out) == image

    assert (out / "Dockerfile").read_bytes() == job_image.DOCKERFILE.read_bytes()
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == sorted(
        [*bundle.entries, "Dockerfile"]
    )
    requirements = (out / "requirements.txt").read_text()
    assert "google-cloud-run==" in requirements and "onnxruntime==" in requirements
    # every module a job task imports is in the bundle: import them from the context alone
    # (the repository is not on the path there)
    for module in JOB_MODULES:
        result = subprocess.run(
            [sys.executable, "-c", f"import {module}"],
            cwd=out,
            env={"PYTHONPATH": str(out), "DATABASE_URL": "postgresql://x@127.0.0.1:1/x"},
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stderr


def test_a_plan_made_from_another_bundle_is_refused(tmp_path: Path, bundle: bundles.Bundle) -> None:
    plan = plan_for(tmp_path, f"r-docker.pkg.dev/p/kmr-jobs/jobs:{'0' * 64}")
    with pytest.raises(ImageError, match="sha256"):
        job_image.prepare(plan, bundle.path, tmp_path / "context")
    plan.write_text("{}")
    with pytest.raises(ImageError, match="no planned output"):
        job_image.prepare(plan, bundle.path, tmp_path / "context")


def test_the_cli_writes_the_image_name_for_the_docker_step(
    tmp_path: Path, bundle: bundles.Bundle
) -> None:
    image = (
        f"r-docker.pkg.dev/p/kmr-jobs/jobs:{hashlib.sha256(bundle.path.read_bytes()).hexdigest()}"
    )
    plan_for(tmp_path, image)
    args = ["prepare", "--workspace", str(tmp_path), "--bundle", str(bundle.path)]
    assert job_image.main([*args, "--out", str(tmp_path / "ctx")]) == 0
    assert (tmp_path / "job-image").read_text().strip() == image


def test_the_dockerfile_pins_its_base_and_runs_python_modules() -> None:
    text = job_image.DOCKERFILE.read_text()
    base = re.search(r"^FROM (\S+)$", text, re.M)
    assert base and re.search(r":\d+\.\d+\.\d+", base.group(1))
    assert 'ENTRYPOINT ["python", "-m"]' in text
    assert "pip install --no-cache-dir -r requirements.txt" in text
    assert re.search(r"^USER (?!root)\S+$", text, re.M)
    assert (REPO / "infra" / "job-image.Dockerfile") == job_image.DOCKERFILE
