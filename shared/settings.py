"""Typed, fail-fast settings read once per instance from the environment."""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Literal

from pydantic import Field, SecretStr, StringConstraints, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# Signs list cursors on a laptop and in tests; the cloud must set its own (Secret Manager).
DEV_CURSOR_SECRET = "local-development-cursor-key"  # noqa: S105  (refused in the cloud)
RateLimit = Annotated[str, StringConstraints(pattern=r"^[1-9][0-9]{0,6}/(second|minute|hour|day)$")]


class Settings(BaseSettings):
    """Everything an instance needs to know; invalid values stop it at start-up."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", frozen=True)

    # Database: either a direct URL (local, tests) or a Cloud SQL instance (cloud).
    database_url: str | None = None
    instance_connection_name: str | None = None
    db_iam_user: str | None = None
    db_name: str = "app"
    db_pool_size: int = Field(default=5, ge=1, le=50)
    db_max_overflow: int = Field(default=2, ge=0, le=50)
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

    # Storage and model.
    models_bucket: str = "models"
    uploads_bucket: str = "uploads"
    model_uri: str = "model/artifacts/nsmc-bilstm-v4-20261205"  # the committed default artifact
    model_threads: int = Field(default=1, ge=1, le=64)
    model_batch_size: int = Field(default=64, ge=1, le=1024)
    sentiment_preview_concurrency: int = Field(default=2, ge=1, le=64)

    # Uploads (the CloudEvent handler).
    upload_max_bytes: int = Field(default=1 << 30, ge=1024)
    upload_max_line_bytes: int = Field(default=64 * 1024, ge=256)
    upload_max_lines: int = Field(default=5_000_000, ge=1)
    upload_batch_size: int = Field(default=512, ge=1, le=10_000)
    upload_event_max_age_seconds: int = Field(default=24 * 3600, ge=60)
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
    # ids per shard block (shared/rescore/shards.py); unset: 4 batches. Every task of an
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
    web_secret_key: SecretStr | None = None  # signs sessions and CSRF tokens (default: derived)
    # per client: every write through the console / sentiment previews while typing
    web_write_rate_limit: RateLimit = "30/minute"
    web_preview_rate_limit: RateLimit = "120/minute"
    web_upload_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    web_trusted_proxy_hops: int = Field(default=0, ge=0, le=5)  # X-Forwarded-For entries to trust

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
        own = {
            "movies": self.movies_api_url,
            "reviews": self.reviews_api_url,
            "ratings": self.ratings_api_url,
        }[function]
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
        if self.instance_connection_name and (
            self.cursor_secret.get_secret_value() == DEV_CURSOR_SECRET
        ):
            raise ValueError("a cloud instance needs its own CURSOR_SECRET")
        return self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The instance's settings, parsed on first use."""
    return Settings()
