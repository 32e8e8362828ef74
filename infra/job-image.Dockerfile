# The Cloud Run job image (terraform/modules/system/jobs.tf): the reviews bundle, i.e. the
# very files and pinned requirements the reviews functions deploy, on the Python the
# functions run (python312). Built by Cloud Build (cloudbuild.yaml, job-image) from the
# context `python -m infra.job_image prepare` writes.
#
# A Dockerfile rather than buildpacks: each job runs its own module (`python -m <module>`,
# the job's args), which here is a plain ENTRYPOINT; a buildpack image needs a Procfile or
# GOOGLE_ENTRYPOINT per process type and runs through its launcher, whose environment a
# per-job command override would bypass. The base image is pinned like every build step.
FROM python:3.12.8-slim-bookworm

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .

USER nobody
ENTRYPOINT ["python", "-m"]
