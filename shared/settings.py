"""Typed, fail-fast settings read once per instance from the environment."""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Callable
from enum import StrEnum
from functools import lru_cache
from typing import Annotated, Any, Literal, TypeVar

from pydantic import Field, SecretStr, StringConstraints, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# Signs list cursors on a laptop and in tests; in the cloud the functions that sign cursors
# refuse it (Need.CURSOR_KEY) and read their own from Secret Manager.
DEV_CURSOR_SECRET = "local-development-cursor-key"  # noqa: S105  (refused in the cloud)
# firebase-admin's own switch to the Auth emulator; `demo-` projects exist only on emulators
AUTH_EMULATOR_VARIABLE = "FIREBASE_AUTH_EMULATOR_HOST"
DEMO_PROJECT_PREFIX = "demo-"
RateLimit = Annotated[str, StringConstraints(pattern=r"^[1-9][0-9]{0,6}/(second|minute|hour|day)$")]
EntryPoint = TypeVar("EntryPoint", bound=Callable[..., Any])


class Need(StrEnum):
    """Something only some processes need from their environment, checked at their start-up.

    The settings object itself validates only what every process shares (values, and one
    coherent database configuration); each entry point states what it needs on top
    (`Settings.require`, `needs`), so a process is never refused for what only another uses
    (issue 19: migrate and the jobs died for want of the functions' cursor key).
    """

    DATABASE = "database"  # DATABASE_URL, or INSTANCE_CONNECTION_NAME with DB_IAM_USER
    CURSOR_KEY = "cursor key"  # a CURSOR_SECRET of its own wherever it runs on Cloud SQL
    IDENTITY = "identity"  # FIREBASE_PROJECT_ID, and the Auth emulator only where it is safe
    SIGN_IN = "sign-in"  # FIREBASE_WEB_API_KEY: the console signs users up and in
    CONSOLE_KEY = "console key"  # on Cloud Run, one key for the console's sessions everywhere


class SettingsError(ValueError):
    """A process lacks a setting it needs; the message names the variables to set."""


class Settings(BaseSettings):
    """Everything an instance needs to know; invalid values stop it at start-up."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", frozen=True)

    # Database: either a direct URL (local, tests) or a Cloud SQL instance (cloud).
    database_url: str | None = None
    instance_connection_name: str | None = None
    db_iam_user: str | None = None
    db_name: str = "app"
    # overflow 0: an overflow connection is closed on return, so under load one per request
    db_pool_size: int = Field(default=5, ge=1, le=50)
    db_max_overflow: int = Field(default=0, ge=0, le=50)
    db_pool_timeout: float = Field(default=10.0, gt=0)
    db_statement_timeout_ms: int = Field(default=15_000, ge=100)

    # HTTP surface.
    api_keys: Annotated[tuple[SecretStr, ...], NoDecode] = ()
    cors_origins: Annotated[tuple[str, ...], NoDecode] = ()
    # the largest valid request (100 reviews of 2,000 characters, each sent \u-escaped as a
    # surrogate pair) is about 2.5 MB: every request the schemas accept fits
    max_body_bytes: int = Field(default=4 * 1_048_576, ge=1024)
    retry_after_seconds: int = Field(default=5, ge=1)
    cursor_secret: SecretStr = Field(default=SecretStr(DEV_CURSOR_SECRET), min_length=16)
    # writes per signed-in account (a count per second, minute, hour or day, per instance);
    # per API key none unless set: service clients import in bulk
    api_write_rate_limit: RateLimit = "60/minute"
    api_key_write_rate_limit: RateLimit | None = None

    # Storage and model.
    models_bucket: str = "models"
    uploads_bucket: str = "uploads"
    model_uri: str = "model/artifacts/nsmc-bilstm-v4-20261205"  # the committed default artifact
    # CPUs for the model: sub-batches side by side (sentiment/engine.py); match the vCPUs
    model_threads: int = Field(default=1, ge=1, le=64)
    # texts per ONNX run, after sorting by length: 32 cost ~7% less CPU per text than 64 on
    # upload batches (less padding; 16: more runs), and less memory (bench/profile_upload.py)
    model_batch_size: int = Field(default=32, ge=1, le=1024)
    sentiment_preview_concurrency: int = Field(default=2, ge=1, le=64)

    # Uploads (the CloudEvent handler).
    upload_max_bytes: int = Field(default=1 << 30, ge=1024)
    upload_max_line_bytes: int = Field(default=64 * 1024, ge=256)
    upload_max_lines: int = Field(default=5_000_000, ge=1)
    # lines per batch: 1,024 measured ~15% less CPU per line (handler and PostgreSQL) than 512
    # (per-batch costs: a commit, the aggregate trigger's per-movie updates); larger gained
    # nothing more (bench/profile_upload.py, docs/uploads.md)
    upload_batch_size: int = Field(default=1024, ge=1, le=10_000)
    upload_event_max_age_seconds: int = Field(default=24 * 3600, ge=60)
    # Bounds (docs/uploads.md): attempts in a row that commit nothing before the file fails;
    # rejected lines kept per object (a count, and bytes of raw text and reason), beyond
    # which they are only counted; the reject ratio that stops a file once it has read
    # UPLOAD_REJECT_RATIO_MIN_LINES lines (1.0: never).
    upload_max_attempts: int = Field(default=10, ge=1, le=1000)
    upload_max_rejects: int = Field(default=10_000, ge=0)
    upload_max_reject_bytes: int = Field(default=4 << 20, ge=0)
    upload_max_reject_ratio: float = Field(default=0.5, gt=0, le=1)
    upload_reject_ratio_min_lines: int = Field(default=10_000, ge=1)
    # Fan-out (shared/uploads/fanout.py): with UPLOAD_JOB set, a JSONL object over the threshold
    # is split into byte ranges processed by one execution of that Cloud Run job, one task per
    # range (about UPLOAD_FANOUT_BYTES_PER_TASK each, clamped to MIN..MAX tasks); at most
    # MAX_RUNNING fan-outs run at once, the others are processed by the function itself.
    upload_job: str | None = None
    upload_fanout_threshold_bytes: int = Field(default=64 << 20, ge=1)
    upload_fanout_bytes_per_task: int = Field(default=32 << 20, ge=1)
    upload_fanout_min_tasks: int = Field(default=2, ge=1, le=10_000)
    upload_fanout_max_tasks: int = Field(default=16, ge=1, le=10_000)
    upload_fanout_max_running: int = Field(default=1, ge=1, le=1000)

    # Cloud Run Jobs: "cloud" starts executions through the Admin API, "local" through the
    # local job runner (infra/jobs.py, set by `make run`).
    job_runner: Literal["cloud", "local"] = "cloud"
    # Rescoring job (shared/rescore): reviews read, scored and updated per transaction.
    rescore_batch_size: int = Field(default=512, ge=1, le=10_000)
    # ids per shard block (shared/rescore/partition.py); unset: 4 batches. Every task of an
    # execution must see the same value: it is set per execution (an override), or not at all.
    rescore_block_ids: int | None = Field(default=None, ge=1)

    # Web console (functions/web): where the public APIs are, and its own limits. One base URL
    # (the local router or the load balancer) or each function's own URL (run.app without a
    # load balancer); a per-function URL wins over the base URL.
    api_base_url: str | None = None
    movies_api_url: str | None = None
    reviews_api_url: str | None = None
    ratings_api_url: str | None = None
    api_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    console_token: SecretStr | None = None  # sent as X-Console-Token; Cloud Armor exempts it
    # With public_invoker = false only IAM invokers reach the functions: the console then sends
    # a Google-signed ID token for each function's own URL (shared/web/invoker.py).
    api_id_tokens: bool = False
    web_secret_key: SecretStr | None = None  # signs sessions and CSRF tokens (default: derived)
    # per signed-in user: every write through the console; per client: sentiment previews while
    # typing, sign-in and sign-up attempts (the console signs users in itself, so Identity
    # Platform sees every attempt come from Cloud Run's few egress addresses: its own
    # per-address quota must never be what trips)
    web_write_rate_limit: RateLimit = "30/minute"
    web_preview_rate_limit: RateLimit = "120/minute"
    web_sign_in_rate_limit: RateLimit = "10/minute"
    web_sign_up_rate_limit: RateLimit = "10/hour"
    web_upload_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    web_trusted_proxy_hops: int = Field(default=0, ge=0, le=5)  # X-Forwarded-For entries to trust

    # Identity Platform (Firebase Authentication), shared/identity. The project whose users
    # sign in (its own setting: GOOGLE_CLOUD_PROJECT is not set on Cloud Run, and locally it
    # names the storage emulator's project); the console's web API key for the Identity Toolkit
    # REST API (public by design, but kept in Secret Manager like any credential); the lifetime
    # of the console's session cookie (Firebase allows 5 minutes to 2 weeks); how long one call
    # to Identity Platform (a revocation check, a sign-in) may take before it is an outage.
    firebase_project_id: str | None = None
    firebase_web_api_key: SecretStr | None = None
    session_cookie_max_age_seconds: int = Field(default=5 * 24 * 3600, ge=300, le=14 * 24 * 3600)
    identity_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    # how long an instance trusts an account's looked-up standing (not disabled, sessions not
    # revoked) before asking Identity Platform again; 0: on every write
    identity_revocation_cache_seconds: float = Field(default=10.0, ge=0, le=300)
    # Google sign-in in the console (shared/web/google.py): the OAuth client Identity Platform's
    # google.com provider trusts (no client id: off); Google's endpoints, moved only by tests
    google_sign_in_client_id: str = ""
    google_sign_in_client_secret: SecretStr | None = None
    google_sign_in_authorize_url: str = "https://accounts.google.com/o/oauth2/v2/auth"
    google_sign_in_token_url: str = "https://oauth2.googleapis.com/token"  # noqa: S105
    # Set only locally and in tests: the Auth emulator's host:port. firebase-admin then skips
    # signature and expiry checks, so Need.IDENTITY refuses it anywhere but a `demo-` project
    # off Cloud Run. K_SERVICE / CLOUD_RUN_JOB are set by Cloud Run itself.
    firebase_auth_emulator_host: str | None = None
    k_service: str | None = None
    cloud_run_job: str | None = None

    # Traces (shared/tracing.py): where spans go (none: tracing off, OpenTelemetry never
    # imported; cloud: Cloud Trace; console: stdout; file: JSON lines appended to TRACE_FILE),
    # and the share of new traces sampled (a caller's "sampled" decision is always kept).
    trace_exporter: Literal["none", "cloud", "console", "file"] = "none"
    trace_file: str = ".local/traces.jsonl"
    trace_sample_ratio: float = Field(default=1.0, ge=0, le=1)
    function_target: str | None = None  # set by functions-framework and Cloud Run functions

    google_cloud_project: str | None = None
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("api_keys", "cors_origins", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    def api_url(self, function: Literal["movies", "reviews", "ratings"]) -> str:
        """Base URL of one function's public API, without a trailing slash."""
        own: str | None = getattr(self, f"{function}_api_url")
        url = own or self.api_base_url
        if not url:
            raise ValueError(f"set API_BASE_URL or {function.upper()}_API_URL")
        return url.rstrip("/")

    @model_validator(mode="after")
    def _one_database(self) -> Settings:
        # Neither is fine for the web console, which never touches the database; shared.db
        # refuses to build a pool without one.
        if self.database_url and self.instance_connection_name:
            raise ValueError("set only one of DATABASE_URL or INSTANCE_CONNECTION_NAME")
        if self.instance_connection_name and not self.db_iam_user:
            raise ValueError("INSTANCE_CONNECTION_NAME needs DB_IAM_USER")
        return self

    def missing(self, *needs: Need) -> list[str]:
        """What these settings lack for `needs`, one sentence each (empty: nothing)."""
        problems = []
        if Need.DATABASE in needs and not (self.database_url or self.instance_connection_name):
            problems.append("no database: set DATABASE_URL or INSTANCE_CONNECTION_NAME")
        development_key = self.cursor_secret.get_secret_value() == DEV_CURSOR_SECRET
        if Need.CURSOR_KEY in needs and self.instance_connection_name and development_key:
            problems.append("a cloud instance that signs cursors needs its own CURSOR_SECRET")
        if Need.IDENTITY in needs:
            problems += self._identity_problems()
        if Need.SIGN_IN in needs and self.firebase_web_api_key is None:
            problems.append("no web API key to sign users in with: set FIREBASE_WEB_API_KEY")
        google = self.google_sign_in_client_id and self.google_sign_in_client_secret is None
        if Need.SIGN_IN in needs and google:
            problems.append("Google sign-in needs GOOGLE_SIGN_IN_CLIENT_SECRET beside its id")
        if Need.CONSOLE_KEY in needs and self.k_service and self.console_key is None:
            problems.append(
                "the console on Cloud Run signs sessions and CSRF tokens with one key for every"
                " instance: set WEB_SECRET_KEY or its own CURSOR_SECRET"
            )
        return problems

    @property
    def console_key(self) -> bytes | None:
        """The key that signs the console's sessions and CSRF tokens: WEB_SECRET_KEY, else one
        derived from the instance's own CURSOR_SECRET (one secret fewer to manage, and never
        the cursor key itself), else None (the development key is no key)."""
        if self.web_secret_key is not None:
            return self.web_secret_key.get_secret_value().encode()
        cursor_key = self.cursor_secret.get_secret_value()
        if cursor_key == DEV_CURSOR_SECRET:
            return None
        return hmac.new(cursor_key.encode(), b"web-console-session-v2", hashlib.sha256).digest()

    @property
    def auth_emulator_host(self) -> str | None:
        """The Auth emulator's host:port when it is switched on, else None.

        firebase-admin reads its variable from the environment on every call, so the
        environment counts as much as these settings do.
        """
        return self.firebase_auth_emulator_host or os.environ.get(AUTH_EMULATOR_VARIABLE) or None

    def _identity_problems(self) -> list[str]:
        """With the emulator switch on, firebase-admin accepts unsigned, expired tokens: anyone
        could write one that says `role: admin`. So it is refused on Cloud Run (K_SERVICE, set
        for every service and function), in Cloud Run jobs (CLOUD_RUN_JOB), and for a project
        id without the `demo-` prefix, which no real sign-in can belong to."""
        project = self.firebase_project_id
        if not project:
            return ["no Identity Platform project to accept sign-ins of: set FIREBASE_PROJECT_ID"]
        if not self.auth_emulator_host:
            return []
        switch = f"{AUTH_EMULATOR_VARIABLE} is set"
        if self.k_service or self.cloud_run_job:
            where = f"service {self.k_service}" if self.k_service else "a Cloud Run job"
            return [f"{switch} in {where}: unsigned tokens would pass in the cloud"]
        if not project.startswith(DEMO_PROJECT_PREFIX):
            return [f"{switch} for project {project!r}: only {DEMO_PROJECT_PREFIX}* projects"]
        return []

    def require(self, *needs: Need, process: str) -> Settings:
        """These settings, or SettingsError naming everything `process` lacks for `needs`."""
        problems = self.missing(*needs)
        if problems:
            raise SettingsError(f"{process} cannot start: {'; '.join(problems)}")
        return self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The instance's settings, parsed on first use."""
    return Settings()


def needs(*required: Need) -> Callable[[EntryPoint], EntryPoint]:
    """Declare what a function entry point needs; checked when its module loads (start-up).

    functions-framework sets FUNCTION_TARGET before it imports the source, as the Cloud Run
    functions runtime does, so in a module with several entry points (reviews: the API and
    `on_upload`) only the one being served is checked; an import without a target (tests,
    tools) checks each of them.
    """

    def check(entry_point: EntryPoint) -> EntryPoint:
        target = os.environ.get("FUNCTION_TARGET")
        if target in (None, "", entry_point.__name__):
            get_settings().require(*required, process=f"function {entry_point.__name__}")
        return entry_point

    return check
