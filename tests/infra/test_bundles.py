"""infra.bundles: bundle contents, determinism, pins, and a clean-room install of each bundle."""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import subprocess
import sys
import time
import venv
import zipfile
from pathlib import Path

import pytest

from infra import bundles
from tests.support import REPO

# Entry points each bundle must expose (reviews carries the upload handler too).
ENTRY_POINTS = {
    "movies": ("movies",),
    "reviews": ("reviews", "on_upload"),
    "ratings": ("ratings",),
    "web": ("web",),
}
HEAVY = {"onnxruntime", "tokenizers"}


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def fake_repo(tmp_path: Path) -> Path:
    """A minimal repo: movies imports two of four shared modules, one relatively."""
    root = tmp_path / "repo"
    _write(root / "shared" / "__init__.py", '"""pkg"""\n')
    _write(root / "shared" / "py.typed", "")
    _write(root / "shared" / "errors.py", "class ApiError(Exception): ...\n")
    _write(root / "shared" / "db.py", "from .errors import ApiError\n")
    _write(root / "shared" / "sentiment" / "__init__.py", "import onnxruntime\n")
    _write(root / "shared" / "schemas" / "__init__.py", "")
    _write(root / "shared" / "schemas" / "movies.py", "from .. import errors\n")
    _write(root / "shared" / "schemas" / "reviews.py", "")
    _write(
        root / "functions" / "movies" / "main.py",
        "import json\n"
        "import functions_framework\n"
        "from shared import db\n"
        "from shared.schemas.movies import X\n"
        "def movies(request):\n"
        "    return 'ok'\n",
    )
    _write(
        root / "functions" / "movies" / "requirements.txt",
        "# runtime\nfunctions-framework>=3\n\npydantic  # models\n",
    )
    return root


def _installed(name: str) -> str:
    return importlib.metadata.version(name)


# --- unit: discovery, pins, determinism ---------------------------------------


def test_walks_shared_imports_transitively(fake_repo: Path) -> None:
    found = bundles.shared_modules(fake_repo / "functions" / "movies" / "main.py", fake_repo)
    assert sorted(found) == [
        "shared",
        "shared.db",
        "shared.errors",
        "shared.schemas",
        "shared.schemas.movies",
    ]
    # unused modules (the ONNX runtime, other schemas) stay out
    assert "shared.sentiment" not in found
    assert "shared.schemas.reviews" not in found


def test_requirements_pinned_to_installed_versions(fake_repo: Path) -> None:
    pins = bundles.pinned_requirements(fake_repo / "functions" / "movies" / "requirements.txt")
    assert pins == [
        f"functions-framework=={_installed('functions-framework')}",
        f"pydantic=={_installed('pydantic')}",
    ]


def test_keeps_extras_and_markers(tmp_path: Path) -> None:
    req = _write(tmp_path / "requirements.txt", 'SQLAlchemy[asyncio]>=2; python_version >= "3"\n')
    assert bundles.pinned_requirements(req) == [
        f'SQLAlchemy[asyncio]=={_installed("sqlalchemy")}; python_version >= "3"'
    ]


def test_unpinnable_requirement_is_an_error(tmp_path: Path) -> None:
    req = _write(tmp_path / "requirements.txt", "surely-not-installed-pkg-xyz\n")
    with pytest.raises(bundles.BundleError, match="not installed"):
        bundles.pinned_requirements(req)


def test_movies_may_not_depend_on_onnxruntime(fake_repo: Path, tmp_path: Path) -> None:
    _write(fake_repo / "functions" / "movies" / "requirements.txt", "onnxruntime\n")
    with pytest.raises(bundles.BundleError, match="must not depend on onnxruntime"):
        bundles.build_bundle("movies", tmp_path / "out", fake_repo)


def test_bundle_is_deterministic(fake_repo: Path, tmp_path: Path) -> None:
    first = bundles.build_bundle("movies", tmp_path / "a", fake_repo)
    # touching files (new mtimes) must not change the archive
    time.sleep(0.01)
    for path in fake_repo.rglob("*.py"):
        path.touch()
    second = bundles.build_bundle("movies", tmp_path / "b", fake_repo)
    assert first.sha256 == second.sha256
    assert first.path.read_bytes() == second.path.read_bytes()
    assert hashlib.sha256(first.path.read_bytes()).hexdigest() == first.sha256
    with zipfile.ZipFile(first.path) as zf:
        names = zf.namelist()
        assert names == sorted(names)
        assert {info.date_time for info in zf.infolist()} == {bundles.ZIP_EPOCH}
        assert "shared/py.typed" in names
        assert not any(name.endswith(".pyc") for name in names)


def test_cli_rejects_unknown_function(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "infra.bundles", "--out", str(tmp_path), "nope"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "unknown function" in result.stderr


# --- the real functions ------------------------------------------------------


def _require_function(name: str) -> None:
    # `python -m infra.bundles` (the deploy pipeline) still fails on a missing file.
    for required in ("main.py", "requirements.txt"):
        if not (REPO / "functions" / name / required).is_file():
            pytest.skip(f"functions/{name}/{required} does not exist yet; nothing to package")


class BuiltBundles:
    """Each function's bundle, built on first use through the real CLI (then reused)."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.built: dict[str, Path] = {}

    def __getitem__(self, name: str) -> Path:
        if name not in self.built:
            subprocess.run(
                [sys.executable, "-m", "infra.bundles", "--out", str(self.out), name],
                cwd=REPO,
                check=True,
            )
            self.built[name] = self.out / f"{name}.zip"
        return self.built[name]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> BuiltBundles:
    return BuiltBundles(tmp_path_factory.mktemp("bundles"))


@pytest.mark.parametrize("name", bundles.FUNCTIONS)
def test_bundle_contents(name: str, built: BuiltBundles) -> None:
    _require_function(name)
    with zipfile.ZipFile(built[name]) as zf:
        entries = set(zf.namelist())
        requirements = zf.read("requirements.txt").decode().splitlines()

    assert "main.py" in entries
    assert "shared/__init__.py" in entries
    needed = bundles.shared_modules(REPO / "functions" / name / "main.py")
    for path in needed.values():
        assert path.relative_to(REPO).as_posix() in entries
    # nothing but main.py, requirements.txt and the shared package
    assert {e.split("/", 1)[0] for e in entries} <= {"main.py", "requirements.txt", "shared"}
    # the model is loaded from GCS at run time, never shipped in a bundle
    assert not any(e.endswith((".onnx", "tokenizer.json")) for e in entries)

    assert requirements, "empty requirements.txt"
    assert all("==" in line for line in requirements), requirements
    names = bundles.requirement_names(requirements)
    if name in ("movies", "ratings", "web"):
        assert not names & HEAVY, f"{name} must not ship {names & HEAVY}"
    if name == "web":  # templates and vendored assets travel with the console
        assert "shared/web/templates/movies/detail.html" in entries
        assert "shared/web/static/vendor/htmx/htmx.min.js" in entries
        assert not names & {"sqlalchemy", "pg8000"}, "the console never touches the database"


@pytest.mark.timeout(900)  # a cold pip cache downloads onnxruntime for reviews
@pytest.mark.parametrize("name", bundles.FUNCTIONS)
def test_bundle_installs_and_imports_in_clean_venv(
    name: str, built: BuiltBundles, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """What Cloud Build does: pip install requirements.txt, then import main's entry points."""
    _require_function(name)
    src = tmp_path / "src"
    with zipfile.ZipFile(built[name]) as zf:
        zf.extractall(src)

    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True, clear=True).create(env_dir)
    python = env_dir / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "-q",
            "-r",
            str(src / "requirements.txt"),
        ],
        env=env,
        check=True,
        timeout=900,
    )
    env["DATABASE_URL"] = "postgresql://x@127.0.0.1/x"
    # what the entry points need to be loaded at all (Need.IDENTITY, Need.SIGN_IN: settings)
    env |= {"FIREBASE_PROJECT_ID": "demo-bundle", "FIREBASE_WEB_API_KEY": "bundle-web-key"}
    # -I would drop the bundle dir from sys.path; -s/-E keep the project venv out instead.
    code = "import main\n" + "".join(f"main.{entry}\n" for entry in ENTRY_POINTS[name])
    result = subprocess.run(
        [str(python), "-s", "-E", "-c", code],
        cwd=src,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-4000:]

    site = next((env_dir / "lib").glob("python3*/site-packages"))
    tooling = ("pip", "setuptools", "_distutils_hack")  # venv's own, not the bundle's
    installed = sum(
        p.stat().st_size
        for p in site.rglob("*")
        if p.is_file() and not p.relative_to(site).parts[0].startswith(tooling)
    )
    zipped = built[name].stat().st_size
    report = (
        f"bundle {name}: zip {zipped / 1024:.1f} KiB, "
        f"installed dependencies {installed / 2**20:.1f} MiB"
    )
    with capsys.disabled():  # shown in `make test` output, not only on failure
        print(f"\n{report}")
    if name in ("movies", "ratings"):
        assert not any(site.glob("onnxruntime*")), f"{name} pulled in onnxruntime"
