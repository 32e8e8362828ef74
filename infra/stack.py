"""`make run`: the whole system on a laptop, on embedded stand-ins for the cloud services.

Embedded PostgreSQL (data kept in .local/pg), the GCS stand-in (.local/gcs), migrations,
the committed model published to the emulated models bucket, each function under
functions-framework on its own port, the Eventarc stand-in for uploads, and a router on
one base URL. Ctrl-C stops everything.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import psutil
import requests

from infra import migrate
from infra.authemu import AuthEmulator, SeedAccount
from infra.localpg import EmbeddedPostgres
from infra.processes import die_with_parent
from infra.router import serve
from shared import storage
from shared.db import build_engine
from shared.settings import Settings

REPO = Path(__file__).resolve().parents[1]
LOCAL = REPO / ".local"
PG_PORT = int(os.environ.get("PG_PORT", "54329"))
GCS_PORT = int(os.environ.get("GCS_PORT", "9023"))
ROUTER_PORT = int(os.environ.get("PORT", "8080"))
AUTH_PORT = int(os.environ.get("AUTH_EMULATOR_PORT", "9099"))
AUTH_PROJECT = "demo-movie-reviews"  # demo-: an emulator-only project (Need.IDENTITY)
LOCAL_WEB_API_KEY = "local-web-api-key"  # the emulator takes any key
BUCKETS = ("models", "uploads")
LOCAL_FANOUT = {
    "UPLOAD_JOB": "uploads",
    "UPLOAD_FANOUT_THRESHOLD_BYTES": str(16 << 20),
    "UPLOAD_FANOUT_BYTES_PER_TASK": str(32 << 20),
    "UPLOAD_FANOUT_MAX_TASKS": "4",
}

# What each local function serves at once (THREADS, unless the environment sets it), with a
# pooled connection for each (times what one request holds): five servers, PostgreSQL and
# the clients share the machine's cores. 4 by default (functions-framework's own, 4 per core,
# measured ~8% fewer requests/s under the 50-client mixed load); reviews 8: its POSTs spend
# most of their time waiting on PostgreSQL (four round trips, a durable commit), and with 4
# threads they queued at ~100/s under the mixed load (8: POST p50 219 -> ~80 ms, the load's
# p99 373-380 -> 225-253 ms). The cloud sets THREADS per function from its concurrency
# (terraform/modules/system/functions.tf) and adds instances. The model may use the
# machine's cores, as Terraform gives it the function's vCPUs.
LOCAL_THREADS = 4
LOCAL_MODEL_THREADS = str(os.cpu_count() or 1)


@dataclass(frozen=True)
class Function:
    name: str  # the folder under functions/
    target: str
    port: int
    signature: str = "http"
    prefixes: tuple[str, ...] = ()
    default: bool = False  # gets every path no prefix matches (the load balancer's default)
    # pooled connections one request may hold at once: an upload delivery holds its lease's
    # while its commit thread and the ledger each run a transaction (shared/uploads/ledger.py)
    connections: int = 1
    threads: int = LOCAL_THREADS


FUNCTIONS = (
    Function("movies", "movies", 8081, prefixes=("/movies",)),
    Function("reviews", "reviews", 8082, prefixes=("/reviews", "/sentiment"), threads=8),
    Function("ratings", "ratings", 8083, prefixes=("/ratings",)),
    Function("reviews", "on_upload", 8084, signature="cloudevent", connections=3),
    Function("web", "web", 8085, default=True),
)


def function_command(fn: Function) -> list[str]:
    """functions-framework serving `fn` on 127.0.0.1, as the cloud serves it: the same CLI,
    so the same gunicorn and settings (functions-framework reads no setting for gunicorn's
    request limits, locally or in the cloud: see the README)."""
    source = REPO / "functions" / fn.name / "main.py"
    return [
        sys.executable,
        "-m",
        "functions_framework",
        "--target",
        fn.target,
        "--source",
        str(source),
        "--signature-type",
        fn.signature,
        "--host",
        "127.0.0.1",
        "--port",
        str(fn.port),
    ]


class Stack:
    def __init__(self) -> None:
        self.children: list[subprocess.Popen[bytes]] = []
        self.postgres = EmbeddedPostgres(LOCAL / "pg", PG_PORT)
        self.env = dict(os.environ)

    def spawn(
        self, *args: str, cwd: Path = REPO, env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        environment = self.env if env is None else env
        child = subprocess.Popen(args, cwd=cwd, env=environment, preexec_fn=die_with_parent)  # noqa: PLW1509
        self.children.append(child)
        return child

    def start_database(self) -> str:
        print(f"postgres   127.0.0.1:{PG_PORT} (data in .local/pg)", flush=True)
        self.postgres.start()
        return self.postgres.create_database("app")

    def start_storage(self) -> str:
        (LOCAL / "gcs").mkdir(parents=True, exist_ok=True)
        self.spawn(
            sys.executable,
            "-m",
            "infra.storage_emulator",
            "--port",
            str(GCS_PORT),
            "--data-dir",
            str(LOCAL / "gcs"),
        )
        host = f"http://127.0.0.1:{GCS_PORT}"
        _wait_http(f"{host}/storage/v1/b", "storage emulator")
        print(f"storage    {host} (buckets: {', '.join(BUCKETS)}; data in .local/gcs)", flush=True)
        return host

    def ensure_buckets(self) -> None:
        """The buckets, versioned as terraform declares them (reads by generation need it)."""
        client = storage.get_client()
        for name in BUCKETS:
            bucket = client.lookup_bucket(name)
            if bucket is None:
                bucket = client.bucket(name)
                bucket.versioning_enabled = True
                client.create_bucket(bucket)
            elif not bucket.versioning_enabled:  # made by an earlier `make run`
                bucket.versioning_enabled = True
                bucket.patch()

    def start_functions(self) -> dict[str, str]:
        routes: dict[str, str] = {}
        for fn in FUNCTIONS:
            threads = int(self.env.get("THREADS") or fn.threads)
            per_request = int(self.env.get("DB_POOL_SIZE") or threads)
            pool = per_request * fn.connections  # no request waits for another's connection
            env = {**self.env, "THREADS": str(threads), "DB_POOL_SIZE": str(pool)}
            self.spawn(*function_command(fn), env=env)
            for prefix in fn.prefixes:
                routes[prefix] = f"http://127.0.0.1:{fn.port}"
            if fn.default:
                routes["/"] = f"http://127.0.0.1:{fn.port}"
        for fn in FUNCTIONS:
            if fn.signature == "http":
                _wait_http(f"http://127.0.0.1:{fn.port}/healthz", fn.target)
        return routes

    def start_eventarc(self) -> None:
        self.spawn(
            sys.executable,
            "-m",
            "infra.eventarc",
            "--bucket",
            "uploads",
            "--target",
            "http://127.0.0.1:8084/",
        )

    def stop(self) -> None:
        """SIGINT everything (gunicorn's quick shutdown), then SIGKILL whatever lingers."""
        tree = [psutil.Process(c.pid) for c in self.children if c.poll() is None]
        tree += [grandchild for proc in list(tree) for grandchild in _descendants(proc)]
        for proc in tree:
            with contextlib.suppress(psutil.Error):
                proc.send_signal(signal.SIGINT)
        _, alive = psutil.wait_procs(tree, timeout=8)
        for proc in alive:
            with contextlib.suppress(psutil.Error):
                proc.kill()
        self.postgres.stop()


def _descendants(proc: psutil.Process) -> list[psutil.Process]:
    try:
        return list(proc.children(recursive=True))
    except psutil.Error:
        return []


def _wait_http(url: str, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=2).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{what} did not come up at {url}")


def _api_key() -> str:
    path = LOCAL / "api-key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(24))
    return path.read_text().strip()


def _publish_model() -> str:
    """Publish the committed artifact to the emulated models bucket; return its gs:// URI."""
    from model.publish import publish

    artifact = REPO / str(Settings.model_fields["model_uri"].default)
    version = json.loads((artifact / "manifest.json").read_text())["version"]
    published = storage.get_client().bucket("models").blob(f"sentiment/{version}/manifest.json")
    if published.exists():  # versions are immutable: already there means already right
        return f"gs://models/sentiment/{version}/"
    return publish(artifact, "gs://models/sentiment/")


def _database_url(stack: Stack) -> str:
    """DATABASE_URL or INSTANCE_CONNECTION_NAME from the environment win over the embedded one."""
    if os.environ.get("DATABASE_URL") or os.environ.get("INSTANCE_CONNECTION_NAME"):
        print("postgres   using the database from the environment", flush=True)
        settings = Settings()
    else:
        settings = Settings(database_url=stack.start_database())
    engine = build_engine(settings)
    migrate.upgrade(engine)
    engine.dispose()
    return settings.database_url or ""


def _storage_host(stack: Stack) -> str:
    existing = os.environ.get("STORAGE_EMULATOR_HOST")
    if existing:
        print(f"storage    {existing} (from the environment)", flush=True)
        return existing
    return stack.start_storage()


def local_accounts(local: Path = LOCAL) -> tuple[SeedAccount, SeedAccount]:
    """The seeded admin and member; their passwords are made once per checkout (in .local)."""
    path = local / "auth-accounts.json"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        passwords = {role: secrets.token_urlsafe(12) for role in ("admin", "member")}
        path.write_text(json.dumps(passwords))
    passwords = json.loads(path.read_text())
    admin = SeedAccount("admin@example.com", passwords["admin"], "관리자", role="admin")
    member = SeedAccount("member@example.com", passwords["member"], "관객")
    # fixed uids: reviews written as them stay theirs across restarts
    return replace(admin, uid="local-admin"), replace(member, uid="local-member")


def start_identity(
    stack: Stack, local: Path = LOCAL, port: int = AUTH_PORT
) -> tuple[str, tuple[SeedAccount, SeedAccount]]:
    """The Auth emulator (accounts kept in .local/auth-users across restarts) with the seeded
    accounts; the functions verify and sign in against it."""
    emulator = AuthEmulator(
        AUTH_PROJECT, port=port, data_dir=local / "auth-users", workdir=local / "auth-emulator"
    ).start()
    if emulator.process is not None:
        stack.children.append(emulator.process)  # stopped (and exported) with the rest
    accounts = local_accounts(local)
    for account in accounts:
        emulator.seed(account)
    stack.env.update(
        FIREBASE_AUTH_EMULATOR_HOST=emulator.host,
        FIREBASE_PROJECT_ID=AUTH_PROJECT,
        FIREBASE_WEB_API_KEY=os.environ.get("FIREBASE_WEB_API_KEY", LOCAL_WEB_API_KEY),
    )
    print(f"auth       {emulator.url} (project {AUTH_PROJECT}; accounts in .local/auth-users)")
    return emulator.url, accounts


def print_accounts(url: str, accounts: tuple[SeedAccount, SeedAccount]) -> None:
    admin, member = accounts
    print(f"Auth emulator: {url}")
    print(f"Admin: {admin.email} {admin.password}")
    print(f"Member: {member.email} {member.password}")


def main() -> None:
    stack = Stack()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started with it ignored
    try:
        url = _database_url(stack)
        host = _storage_host(stack)
        api_key = os.environ.get("API_KEYS") or _api_key()
        stack.env.update(
            STORAGE_EMULATOR_HOST=host,
            API_KEYS=api_key,
            PYTHONPATH=str(REPO),
            GOOGLE_CLOUD_PROJECT="local",
            CORS_ORIGINS=os.environ.get("CORS_ORIGINS", "http://localhost:3000"),
            TOKENIZERS_PARALLELISM="false",
            API_BASE_URL=f"http://127.0.0.1:{ROUTER_PORT}",  # the console calls the APIs here
            JOB_RUNNER="local",  # Cloud Run Jobs run as local processes (infra/jobs.py)
        )
        # large uploads fan out to the local "uploads" job; smaller sizes than in the cloud,
        # so a file of a few hundred thousand lines shows it (the environment's values win)
        for name, value in (LOCAL_FANOUT | {"MODEL_THREADS": LOCAL_MODEL_THREADS}).items():
            stack.env[name] = os.environ.get(name, value)
        if url:
            stack.env["DATABASE_URL"] = url
        auth_url, accounts = start_identity(stack)
        os.environ.update(stack.env)
        stack.ensure_buckets()
        stack.env["MODEL_URI"] = os.environ.get("MODEL_URI") or _publish_model()
        print(f"model      {stack.env['MODEL_URI']}", flush=True)
        routes = stack.start_functions()
        stack.start_eventarc()
        default = routes.pop("/", None)
        print(f"\nBase URL:  http://127.0.0.1:{ROUTER_PORT}  ({', '.join(sorted(routes))})")
        if default:
            print(f"Console:   http://127.0.0.1:{ROUTER_PORT}/   (API docs: /docs)")
        print(f"API key:   {api_key.split(',')[0]}   (send as X-API-Key on writes)")
        print_accounts(auth_url, accounts)
        print("Uploads:   python -m infra.upload FILE   (or: make upload FILE=...)")
        print("Ctrl-C stops everything.\n", flush=True)
        serve(ROUTER_PORT, routes, default)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut cleanup short
        print("\nstopping...", flush=True)
        stack.stop()


if __name__ == "__main__":
    main()
