"""Build one deployable zip per Cloud Run function.

    python -m infra.bundles [--out build/bundles] [names...]

A bundle holds, at the zip root:

* ``main.py`` of ``functions/<name>/`` (the runtime imports it as ``main``);
* the modules of the local ``shared`` package that ``main.py`` imports,
  transitively, found by walking the AST (no import side effects, so a bundle
  of ``movies`` never drags in the sentiment runtime unless it is imported);
* ``requirements.txt``: the names from ``functions/<name>/requirements.txt``
  pinned to the versions installed in this environment (the one the tests ran
  in), so the cloud build installs what was tested. Their own dependencies are
  left to pip's resolver.

Zips are deterministic (sorted entries, fixed timestamps and permissions), so
the content hash Terraform names the uploaded object by only changes when the
code or the pins change.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import importlib.metadata
import io
import re
import sys
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED_PACKAGE = "shared"

# Every function Terraform deploys a bundle for (reviews-uploads reuses reviews).
FUNCTIONS: tuple[str, ...] = ("movies", "reviews", "ratings", "web")

# Modules a bundle carries beyond what its main.py imports. The reviews bundle is also the
# source of the Cloud Run job image (infra/job_image.py, terraform jobs.tf), whose tasks run
# these modules with the same files and pins the reviews functions deploy: the two jobs'
# modules, and shared.uploads.job (one object outside the event path, docs/uploads.md).
EXTRA_MODULES: dict[str, tuple[str, ...]] = {
    "reviews": ("shared.rescore.__main__", "shared.uploads.shard_task", "shared.uploads.job"),
}

# Dependencies a bundle must never carry: movies and ratings stay small and
# fast to cold-start without the ONNX runtime (DESIGN.md, "Layout").
FORBIDDEN_REQUIREMENTS: dict[str, frozenset[str]] = {
    "movies": frozenset({"onnxruntime", "tokenizers"}),
    # ratings only reads: it verifies no identity, so it never ships firebase-admin
    "ratings": frozenset({"onnxruntime", "tokenizers", "firebase-admin"}),
    # the console reaches data only through the public APIs: no model, no database driver
    "web": frozenset(
        {"onnxruntime", "tokenizers", "sqlalchemy", "pg8000", "cloud-sql-python-connector"}
    ),
}

# 1980-01-01 is the earliest timestamp a zip entry can hold.
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
_SKIP_SUFFIXES = frozenset({".pyc", ".pyo"})
_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*(.*)$")


class BundleError(Exception):
    """A bundle cannot be built as asked (missing function, unpinnable dependency...)."""


@dataclass(frozen=True)
class Bundle:
    """What was built: where, its size and content hash, and what it holds."""

    name: str
    path: Path
    size: int
    sha256: str
    entries: tuple[str, ...]


# --- shared-module discovery -------------------------------------------------


def _module_file(module: str, root: Path) -> Path | None:
    """File defining dotted ``module`` under ``root`` (a package's ``__init__.py``)."""
    base = root.joinpath(*module.split("."))
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    if base.with_suffix(".py").is_file():
        return base.with_suffix(".py")
    return None


def _is_local(module: str) -> bool:
    return module == SHARED_PACKAGE or module.startswith(SHARED_PACKAGE + ".")


def _imported_modules(source: Path, module: str | None, root: Path) -> set[str]:
    """Local ``shared`` modules imported anywhere in ``source`` (absolute or relative).

    ``module`` is the dotted name of ``source`` (None for a function's main.py),
    used to resolve relative imports. ``from shared import x`` counts ``x`` as a
    module when ``shared/x.py`` (or a subpackage) exists, else as a name.
    """
    tree = ast.parse(source.read_text(encoding="utf-8"), filename=str(source))
    is_package = source.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if _is_local(alias.name))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                if module is None:
                    continue  # relative import in main.py: not a package, nothing local
                parts = module.split(".")
                anchor = parts if is_package else parts[:-1]
                if node.level > 1:
                    anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            else:
                base = node.module or ""
            if not _is_local(base):
                continue
            found.add(base)
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                if alias.name != "*" and _module_file(candidate, root) is not None:
                    found.add(candidate)
    return found


def _with_parents(module: str) -> list[str]:
    """``a.b.c`` -> ``["a", "a.b", "a.b.c"]``: importing a module runs its packages too."""
    parts = module.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


def shared_modules(main_py: Path, root: Path = REPO, extra: Iterable[str] = ()) -> dict[str, Path]:
    """Every ``shared`` module ``main_py`` (and the ``extra`` modules) need, by dotted name."""
    resolved: dict[str, Path] = {}
    pending = sorted(_imported_modules(main_py, None, root) | set(extra))
    while pending:
        for name in _with_parents(pending.pop()):
            if name in resolved:
                continue
            path = _module_file(name, root)
            if path is None:
                raise BundleError(f"{main_py}: imports {name!r}, which is not in {root}")
            resolved[name] = path
            pending.extend(sorted(_imported_modules(path, name, root) - resolved.keys()))
    return dict(sorted(resolved.items()))


def _package_data(package_dir: Path) -> list[Path]:
    """Files shipped with an included package: its non-Python files (py.typed, SQL), and
    everything in its data folders (folders without __init__.py: templates, static assets).
    Subpackages bring their own data when they are imported."""
    files = [
        p
        for p in package_dir.iterdir()
        if p.is_file() and p.suffix not in _SKIP_SUFFIXES and p.suffix != ".py"
    ]
    for folder in package_dir.iterdir():
        if folder.is_dir() and folder.name != "__pycache__" and not _is_package(folder):
            files.extend(
                p
                for p in folder.rglob("*")
                if p.is_file() and p.suffix not in _SKIP_SUFFIXES and "__pycache__" not in p.parts
            )
    return sorted(files)


def _is_package(folder: Path) -> bool:
    return (folder / "__init__.py").is_file()


# --- requirements ----------------------------------------------------------


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pinned_requirements(requirements_txt: Path) -> list[str]:
    """The names in ``requirements_txt`` pinned to the installed versions.

    Extras and environment markers are kept; any version specifier written in
    the file is replaced by ``==<installed>`` (the file names what a function
    needs, the environment decides which tested version ships).
    """
    pins: list[tuple[str, str]] = []
    for raw in requirements_txt.read_text(encoding="utf-8").splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("-"):
            raise BundleError(f"{requirements_txt}: options are not supported: {line!r}")
        match = _REQUIREMENT.match(line)
        if match is None:
            raise BundleError(f"{requirements_txt}: cannot parse {line!r}")
        name, extras, rest = match.group(1), match.group(2) or "", match.group(3)
        marker = rest.split(";", 1)[1].strip() if ";" in rest else ""
        try:
            version = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError as exc:
            raise BundleError(
                f"{requirements_txt}: {name} is not installed here, so it cannot be pinned "
                "to a tested version (install the project's dependencies first)"
            ) from exc
        pin = f"{name}{extras}=={version}" + (f"; {marker}" if marker else "")
        pins.append((_normalise(name), pin))
    return [pin for _, pin in sorted(pins)]


def requirement_names(requirements: Iterable[str]) -> set[str]:
    """Normalised project names of requirement lines."""
    names: set[str] = set()
    for line in requirements:
        match = _REQUIREMENT.match(line)
        if match is not None and not line.lstrip().startswith("#"):
            names.add(_normalise(match.group(1)))
    return names


# --- zip ---------------------------------------------------------------------


def _zip_entry(zf: zipfile.ZipFile, arcname: str, data: bytes) -> None:
    info = zipfile.ZipInfo(arcname, date_time=ZIP_EPOCH)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = 3  # Unix, whatever the build host
    info.external_attr = (0o100644 & 0xFFFF) << 16  # regular file, rw-r--r--
    zf.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)


def bundle_contents(name: str, root: Path = REPO) -> dict[str, bytes]:
    """Archive name -> bytes of everything in function ``name``'s bundle."""
    function_dir = root / "functions" / name
    main_py = function_dir / "main.py"
    if not main_py.is_file():
        raise BundleError(f"{main_py} does not exist")
    requirements_txt = function_dir / "requirements.txt"
    if not requirements_txt.is_file():
        raise BundleError(f"{requirements_txt} does not exist")

    requirements = pinned_requirements(requirements_txt)
    forbidden = requirement_names(requirements) & FORBIDDEN_REQUIREMENTS.get(name, frozenset())
    if forbidden:
        raise BundleError(f"{name} must not depend on {', '.join(sorted(forbidden))}")

    contents: dict[str, bytes] = {
        "main.py": main_py.read_bytes(),
        "requirements.txt": ("\n".join(requirements) + "\n").encode(),
    }
    for path in shared_modules(main_py, root, EXTRA_MODULES.get(name, ())).values():
        contents[path.relative_to(root).as_posix()] = path.read_bytes()
        if path.name == "__init__.py":
            for data in _package_data(path.parent):
                contents[data.relative_to(root).as_posix()] = data.read_bytes()
    return dict(sorted(contents.items()))


def build_bundle(name: str, out_dir: Path, root: Path = REPO) -> Bundle:
    """Write ``<out_dir>/<name>.zip``; byte-identical for identical inputs."""
    contents = bundle_contents(name, root)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for arcname, data in contents.items():
            _zip_entry(zf, arcname, data)
    payload = buffer.getvalue()

    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{name}.zip"
    tmp = target.with_suffix(".zip.tmp")
    tmp.write_bytes(payload)
    tmp.replace(target)
    return Bundle(
        name=name,
        path=target,
        size=len(payload),
        sha256=hashlib.sha256(payload).hexdigest(),
        entries=tuple(contents),
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m infra.bundles",
        description="Build one deterministic deployable zip per Cloud Run function.",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=REPO / "build" / "bundles",
        help="output directory (default: build/bundles)",
    )
    parser.add_argument(
        "names", nargs="*", help=f"functions to package (default: {' '.join(FUNCTIONS)})"
    )
    args = parser.parse_args(argv)

    names: list[str] = args.names or list(FUNCTIONS)
    unknown = sorted(set(names) - set(FUNCTIONS))
    if unknown:
        parser.error(f"unknown function(s): {', '.join(unknown)}; known: {', '.join(FUNCTIONS)}")
    try:
        for name in names:
            bundle = build_bundle(name, args.out)
            print(
                f"{bundle.name}: {bundle.path} {bundle.size / 1024:.1f} KiB "
                f"sha256={bundle.sha256} ({len(bundle.entries)} files)"
            )
    except BundleError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
