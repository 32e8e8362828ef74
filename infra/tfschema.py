"""Validate terraform/ against the providers' own schemas, offline.

    python -m infra.tfschema [DIR ...]        (default: terraform/; exit 1 on any problem)

Every resource and data source, every argument and nested block (static or `dynamic`) must
exist in the pinned provider's schema, required arguments and blocks must be present, blocks
must be written as blocks and arguments as arguments, and a literal value of an argument whose
schema lists its "Possible values" must be one of them.

The schemas are not written by hand: they come from the prebuilt CDK Terrain bindings on PyPI
(``cdktn-provider-<name>``), whose jsii assembly carries every resource's arguments, nested
blocks, required flags and documentation for one stated provider version. The wheel is fetched
once with pip (``pip download``, no install), reduced to a compact JSON schema and cached
outside the repository (``$KMR_CACHE_DIR``, default ``~/.cache/kmr/provider-schema``); later
runs read only that file. The check also fails when a provider's version constraint in
``required_providers`` does not admit the version the schema describes.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hcl2
from hcl2 import SerializationOptions

ROOT = Path(__file__).resolve().parents[1]
SCHEMA_FORMAT = 1  # bump when the compact format changes; old cache files are ignored
OPTIONS = SerializationOptions(
    with_comments=False, explicit_blocks=True, strip_string_quotes=True, preserve_heredocs=False
)
BLOCK = "__is_block__"
META_ARGUMENTS = {"count", "for_each", "depends_on", "provider", "lifecycle", "provisioner"}
BUILT_IN = {"terraform"}  # terraform_data, terraform_remote_state: part of Terraform itself


@dataclass(frozen=True)
class Provider:
    """A provider and the PyPI package whose jsii assembly describes one of its versions."""

    name: str
    package: str
    package_version: str
    provider_version: str

    @property
    def cache_file(self) -> Path:
        return cache_dir() / f"{self.package}-{self.package_version}-f{SCHEMA_FORMAT}.json"


# The bindings track the provider's releases; pick the package whose provider version the
# pins in required_providers admit (the check enforces it).
PROVIDERS = {
    p.name: p
    for p in (
        Provider("google", "cdktn-provider-google", "20.3.1", "7.46.1"),
        Provider("google-beta", "cdktn-provider-google-beta", "20.3.1", "7.46.1"),
        Provider("time", "cdktn-provider-time", "14.0.2", "0.14.2"),
    )
}


def cache_dir() -> Path:
    base = os.environ.get("KMR_CACHE_DIR") or Path.home() / ".cache" / "kmr"
    return Path(base) / "provider-schema"


# --- building the compact schema from the jsii assembly ---------------------------------


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def _terraform_name(prop: dict[str, Any]) -> str:
    """The argument's Terraform name: the anchor of its registry link, else snake_case."""
    remarks = prop.get("docs", {}).get("remarks", "")
    match = re.search(r"#([a-z0-9_]+) [A-Za-z0-9]+#\1\}", remarks)
    return match.group(1) if match else _snake(prop["name"])


def _enum(prop: dict[str, Any]) -> list[str] | None:
    docs = prop.get("docs", {})
    text = f"{docs.get('summary', '')} {docs.get('remarks', '')}"
    match = re.search(r"Possible values: \[([^\]]*)\]", text)
    return re.findall(r'"([^"]*)"', match.group(1)) if match else None


def _struct_of(type_ref: dict[str, Any], types: dict[str, Any]) -> tuple[str, bool] | None:
    """(struct fqn, is a list) when the property is a nested block, else None."""
    candidates = type_ref.get("union", {}).get("types", [type_ref])
    for ref in candidates:
        if "fqn" in ref and types.get(ref["fqn"], {}).get("datatype"):
            return ref["fqn"], False
        collection = ref.get("collection", {})
        element = collection.get("elementtype", {})
        is_array = collection.get("kind") == "array" and "fqn" in element
        if is_array and types.get(element["fqn"], {}).get("datatype"):
            return element["fqn"], True
    return None


def _block_schema(fqn: str, types: dict[str, Any], seen: tuple[str, ...] = ()) -> dict[str, Any]:
    attributes: dict[str, Any] = {}
    blocks: dict[str, Any] = {}
    struct = types[fqn]
    props = list(struct.get("properties", []))
    for parent in struct.get("interfaces", []):
        if types.get(parent, {}).get("datatype") and parent in types:
            props.extend(types[parent].get("properties", []))
    for prop in props:
        name = _terraform_name(prop)
        required = not prop.get("optional", False)
        nested = _struct_of(prop["type"], types)
        if nested and nested[0] not in seen:
            schema = _block_schema(nested[0], types, (*seen, fqn))
            blocks[name] = {"required": required, "list": nested[1], "schema": schema}
        else:
            attributes[name] = {"required": required, "enum": _enum(prop)}
    return {"attributes": attributes, "blocks": blocks}


def build_schema(assembly: dict[str, Any]) -> dict[str, Any]:
    """{"resources": {type: block schema}, "data_sources": {...}, "provider_version": ...}."""
    types = assembly["types"]
    out: dict[str, Any] = {"resources": {}, "data_sources": {}, "provider_version": None}
    summary = re.compile(
        r"\{@link https://registry\.terraform\.io/providers/[^/]+/[^/]+/([^/]+)/docs/"
        r"(resources|data-sources)/\S+ (\S+)\}"
    )
    for cls in types.values():
        if cls.get("kind") != "class" or "initializer" not in cls:
            continue
        match = summary.search(cls["initializer"].get("docs", {}).get("summary", ""))
        params = cls["initializer"].get("parameters", [])
        if not match or len(params) < 3 or "fqn" not in params[2]["type"]:
            continue
        version, kind, tf_type = match.groups()
        out["provider_version"] = version
        key = "resources" if kind == "resources" else "data_sources"
        out[key][tf_type] = _block_schema(params[2]["type"]["fqn"], types)
    return out


def _read_assembly(wheel: Path) -> dict[str, Any]:
    with zipfile.ZipFile(wheel) as archive:
        member = next(n for n in archive.namelist() if n.endswith(".jsii.tgz"))
        with archive.open(member) as tgz, tarfile.open(fileobj=tgz, mode="r|gz") as tar:
            for entry in tar:
                if entry.name == "package/.jsii":
                    handle = tar.extractfile(entry)
                    assert handle is not None
                    data: dict[str, Any] = json.load(handle)
                    return data
    raise RuntimeError(f"{wheel} has no jsii assembly")


def ensure(provider: Provider) -> Path:
    """The cached compact schema of `provider`, downloading and building it once."""
    target = provider.cache_file
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        spec = f"{provider.package}=={provider.package_version}"
        print(f"tfschema: fetching {spec} (provider {provider.name} {provider.provider_version})")
        pip = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps"]
        subprocess.run(
            [*pip, "--only-binary=:all:", "--disable-pip-version-check", "--dest", tmp, spec],
            check=True,
        )
        wheel = next(Path(tmp).glob("*.whl"))
        schema = build_schema(_read_assembly(wheel))
        if schema["provider_version"] != provider.provider_version:
            raise RuntimeError(
                f"{spec} describes {provider.name} {schema['provider_version']}, "
                f"not {provider.provider_version}"
            )
        schema.update(package=spec, provider=provider.name)
        partial = Path(tmp) / "schema.json"
        partial.write_text(json.dumps(schema, separators=(",", ":")), encoding="utf-8")
        partial.replace(target)  # atomic: concurrent runs never read half a file
    return target


def load(provider: Provider) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(ensure(provider).read_text(encoding="utf-8"))
    return data


# --- checking a configuration -------------------------------------------------------------


@dataclass
class Context:
    where: str  # file: address
    problems: list[str]

    def report(self, path: str, message: str) -> None:
        self.problems.append(f"{self.where}{'.' + path if path else ''}: {message}")


def _is_blocks(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, dict) and v.get(BLOCK) for v in value)


def _suggest(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _literals(value: Any) -> list[str]:
    """String constants a value can take: itself, list items, quoted parts of an expression."""
    if isinstance(value, list):
        return [lit for item in value for lit in _literals(item)]
    if not isinstance(value, str):
        return []
    if "${" not in value:
        return [value]
    return re.findall(r'"([A-Z][A-Z0-9_]*)"', value)  # enum-like constants in expressions


def _check_enum(name: str, value: Any, enum: list[str], path: str, ctx: Context) -> None:
    whole_literal = isinstance(value, str) and "${" not in value
    for literal in _literals(value):
        if literal in enum:
            continue
        if whole_literal or (literal.isupper() and all(v.isupper() for v in enum if v)):
            ctx.report(path, f"{name} = {literal!r} is not one of {enum}")


def _check_dynamic(
    value: list[dict[str, Any]], blocks: dict[str, Any], path: str, ctx: Context
) -> set[str]:
    """`dynamic "name" { content { ... } }`: name must be a block; content is its body."""
    names = set()
    for dyn in value:
        for name, spec in dyn.items():
            if name == BLOCK:
                continue
            names.add(name)
            if name not in blocks:
                ctx.report(path, f"no block {name!r} to be dynamic{_suggest(name, blocks)}")
                continue
            at = f"{path}.{name}" if path else name
            for content in spec.get("content", []):
                check_body(content, blocks[name]["schema"], at, ctx)
    return names


def _check_key(key: str, value: Any, schema: dict[str, Any], path: str, ctx: Context) -> None:
    attributes, blocks = schema["attributes"], schema["blocks"]
    if key in attributes:
        if _is_blocks(value):
            ctx.report(path, f"{key} is an argument: write `{key} = ...`, not a block")
        elif attributes[key]["enum"]:
            _check_enum(key, value, attributes[key]["enum"], path, ctx)
    elif key in blocks:
        if not _is_blocks(value):
            ctx.report(path, f"{key} is a block: write `{key} {{ ... }}`")
            return
        for item in value:
            check_body(item, blocks[key]["schema"], f"{path}.{key}" if path else key, ctx)
    else:
        known = [*attributes, *blocks]
        ctx.report(path, f"unknown argument or block {key!r}{_suggest(key, known)}")


def check_body(body: dict[str, Any], schema: dict[str, Any], path: str, ctx: Context) -> None:
    """One (nested) block body against its schema, recursively."""
    present = set()
    for key, value in body.items():
        if key == BLOCK:
            continue
        if key == "dynamic":
            present |= _check_dynamic(value, schema["blocks"], path, ctx)
        else:
            present.add(key)
            _check_key(key, value, schema, path, ctx)
    for kind in ("attributes", "blocks"):
        for name, spec in schema[kind].items():
            if spec["required"] and name not in present:
                noun = "block" if kind == "blocks" else "argument"
                ctx.report(path, f"required {noun} {name!r} is missing")


def parse(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as fh:
        data: dict[str, Any] = hcl2.load(fh, serialization_options=OPTIONS)
    return data


def provider_of(rtype: str, body: dict[str, Any]) -> str:
    given = body.get("provider")
    if isinstance(given, str):
        return given.strip("${}").split(".", 1)[0]
    return rtype.split("_", 1)[0]


def _check_block(
    section: str, rtype: str, body: dict[str, Any], schemas: dict[str, Any], ctx: Context
) -> None:
    provider = provider_of(rtype, body)
    if provider in BUILT_IN:
        return
    if provider not in schemas:
        ctx.report("", f"no schema for provider {provider!r} (infra/tfschema.py)")
        return
    types = schemas[provider]["resources" if section == "resource" else "data_sources"]
    if rtype not in types:
        kind = "data source" if section == "data" else "resource type"
        version = schemas[provider]["provider_version"]
        ctx.report("", f"{provider} {version} has no {kind} {rtype!r}{_suggest(rtype, types)}")
        return
    arguments = {k: v for k, v in body.items() if k not in META_ARGUMENTS}
    check_body(arguments, types[rtype], "", ctx)


def check_file(path: Path, schemas: dict[str, dict[str, Any]], label: str) -> list[str]:
    """Problems of one .tf file (`schemas`: provider name -> compact schema)."""
    problems: list[str] = []
    doc = parse(path)
    for section in ("resource", "data"):
        for block in doc.get(section, []):
            for rtype, named in block.items():
                for name, body in named.items() if rtype != BLOCK else []:
                    if name == BLOCK:
                        continue
                    prefix = "data." if section == "data" else ""
                    ctx = Context(f"{label}: {prefix}{rtype}.{name}", problems)
                    _check_block(section, rtype, body, schemas, ctx)
    return problems


# --- version pins -------------------------------------------------------------------------


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def admits(constraint: str, version: str) -> bool:
    """Whether a Terraform version constraint ("~> 7.46.0, < 8") admits `version`."""
    have = _version(version)
    for clause in constraint.split(","):
        match = re.fullmatch(r"\s*(~>|>=|<=|!=|>|<|=)?\s*([0-9.]+)\s*", clause)
        if not match:
            raise ValueError(f"cannot read version constraint {constraint!r}")
        op, want_text = match.group(1) or "=", match.group(2)
        want = _version(want_text)
        padded = want + (0,) * (len(have) - len(want))
        if op == "~>":
            prefix = want[:-1] if len(want) > 1 else want
            ok = have >= padded and have[: len(prefix)] == prefix
        else:
            ok = {
                "=": have == padded,
                "!=": have != padded,
                ">": have > padded,
                ">=": have >= padded,
                "<": have < padded,
                "<=": have <= padded,
            }[op]
        if not ok:
            return False
    return True


def check_pins(path: Path, label: str) -> list[str]:
    problems = []
    for block in parse(path).get("terraform", []):
        for providers in block.get("required_providers", []):
            for name, spec in providers.items():
                # a configuration that only names a provider takes the pins of its modules
                if name == BLOCK or name not in PROVIDERS or "version" not in spec:
                    continue
                wanted = PROVIDERS[name].provider_version
                major, minor = _version(wanted)[:2]
                later = f"{major}.{minor + 1}.0"
                if not admits(spec["version"], wanted) or admits(spec["version"], later):
                    problems.append(
                        f"{label}: {name} {spec['version']!r} must admit {wanted} (the version "
                        f"whose schema this check uses) and no later minor such as {later}: "
                        "move the pin and the package together"
                    )
    return problems


def check_tree(directories: list[Path], root: Path = ROOT) -> list[str]:
    schemas = {name: load(provider) for name, provider in PROVIDERS.items()}
    problems: list[str] = []
    for directory in directories:
        for path in sorted(directory.rglob("*.tf")):
            if ".terraform" in path.parts:
                continue
            label = str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
            problems += check_file(path, schemas, label)
            problems += check_pins(path, label)
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("directories", nargs="*", type=Path, default=[ROOT / "terraform"])
    parser.add_argument("--fetch-only", action="store_true", help="only fill the cache")
    args = parser.parse_args(argv)
    if args.fetch_only:
        for provider in PROVIDERS.values():
            ensure(provider)
        return 0
    problems = check_tree([d.resolve() for d in args.directories])
    for problem in problems:
        print(problem)
    versions = ", ".join(f"{p.name} {p.provider_version}" for p in PROVIDERS.values())
    print(f"tfschema: {len(problems)} problem(s) against {versions}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
