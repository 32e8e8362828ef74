"""Both Cloud Run jobs, each execution started through the (fake) Admin API as the cloud
starts it, every task run to its end from the job image with the job's environment; and the
operator's commands around a model rollout (docs/deploy.md, section 6)."""

from __future__ import annotations

import json

from shared import storage
from shared.jobs import launcher
from shared.rescore import summary
from shared.uploads.fanout import OBJECT_ENV
from tests.support.rehearsal import OPERATOR_DB_ENV, Cloud, Execution, Served, operator, resolved


def last_execution(cloud: Cloud, job: str) -> Execution:
    runs = [run for run in cloud.executions if run.job.endswith(f"/{job}")]
    assert runs, f"no execution of {job}"
    return runs[-1]


def test_upload_job_processes_a_fanned_out_object(
    cloud: Cloud, served: dict[str, Served], catalogue: list[int]
) -> None:
    outputs = cloud.outputs()
    bucket = storage.get_client().bucket(outputs["uploads_bucket"])
    lines = [
        json.dumps({"movie_id": catalogue[i % 3], "author": f"u{i}", "content": f"리뷰 {i} 최고"})
        for i in range(40)
    ]
    blob = bucket.blob("rehearsal/fanned-out.jsonl")
    blob.upload_from_string("\n".join(lines).encode())
    blob.reload()
    # what the upload handler's dispatch sends (shared/uploads/fanout.py), to the job it names
    job = served["reviews-uploads"].process.env["UPLOAD_JOB"]
    uri = f"gs://{bucket.name}/{blob.name}#{blob.generation}"
    request = launcher.run_request(job, 2, {OBJECT_ENV: uri})
    cloud.api.client().run_job(request=request)
    run = last_execution(cloud, cloud.jobs["uploads"].service)
    for task in run.tasks:
        task.check()
    report = json.loads(bucket.blob("reports/rehearsal/fanned-out.jsonl.json").download_as_bytes())
    assert (report["lines"], report["inserted"], report["rejected"]) == (40, 40, 0), report


def test_operator_rollout_runs_the_rescore_job_and_prints_its_summary(
    cloud: Cloud, served: dict[str, Served], catalogue: list[int]
) -> None:
    outputs = cloud.outputs()
    command = (
        "python",
        "-m",
        "infra.rollout",
        "rescore",
        "--job",
        outputs["jobs"]["rescore"],
        "--model-uri",
        outputs["model_uri"],
        "--tasks",
        "2",
        "--wait",
        "--models-bucket",
        outputs["models_bucket"],
    )  # fmt: skip  (docs/deploy.md, section 6)
    ran = cloud.run(operator("rollout", command, {}))
    run = last_execution(cloud, cloud.jobs["rescore"].service)
    for task in run.tasks:  # the job itself must have worked, whatever the CLI did after
        task.check()
    assert run.overrides == {"MODEL_URI": outputs["model_uri"]}
    written = storage.get_client().bucket(outputs["models_bucket"])
    assert written.blob(summary.object_name(run.name)).exists()
    assert '"rescored"' in ran.check().output  # the execution's summary, printed


def test_operator_aggregates_verify_finds_no_drift(
    cloud: Cloud, served: dict[str, Served], catalogue: list[int]
) -> None:
    command = ("python", "-m", "infra.aggregates", "verify")
    ran = cloud.run(operator("verify", command, resolved(cloud.outputs(), OPERATOR_DB_ENV)))
    assert json.loads(ran.check().output.splitlines()[-1])["summary"]["drift"] is False
