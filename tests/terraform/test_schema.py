"""terraform/ against the google provider's own schema (infra/tfschema.py), offline.

The schema comes from the cdktn-provider-* wheels on PyPI (fetched once, cached outside the
repository); see infra/tfschema.py for how and which provider versions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from infra import tfschema
from tests.support import REPO

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def schemas() -> dict[str, dict[str, Any]]:
    return {name: tfschema.load(p) for name, p in tfschema.PROVIDERS.items()}


def problems_of(tmp_path: Path, hcl: str, schemas: dict[str, dict[str, Any]]) -> list[str]:
    path = tmp_path / "main.tf"
    path.write_text(hcl, encoding="utf-8")
    return tfschema.check_file(path, schemas, "main.tf")


def test_schemas_describe_the_pinned_versions(schemas: dict[str, dict[str, Any]]) -> None:
    for name, provider in tfschema.PROVIDERS.items():
        assert schemas[name]["provider_version"] == provider.provider_version
        assert schemas[name]["package"] == f"{provider.package}=={provider.package_version}"
    assert len(schemas["google"]["resources"]) > 1000
    # the cache lives outside the repository
    assert not tfschema.cache_dir().resolve().is_relative_to(REPO)


def test_terraform_tree_matches_the_provider_schema() -> None:
    assert tfschema.check_tree([REPO / "terraform"]) == []


def test_planted_wrong_argument_is_found(schemas: dict[str, dict[str, Any]]) -> None:
    path = FIXTURES / "planted" / "main.tf"
    assert tfschema.check_file(path, schemas, "planted/main.tf") == [
        "planted/main.tf: google_sql_user.function: unknown argument or block "
        "'deletion_polcy' (did you mean 'deletion_policy'?)"
    ]
    assert tfschema.main([str(FIXTURES / "planted")]) == 1


@pytest.mark.parametrize(
    ("hcl", "expected"),
    [
        ('resource "google_sql_usr" "u" {\n}\n', "has no resource type 'google_sql_usr'"),
        ('data "google_projekt" "p" {\n}\n', "has no data source 'google_projekt'"),
        (
            'resource "google_sql_user" "u" {\n  instance = "i"\n}\n',
            "required argument 'name' is missing",
        ),
        (
            'resource "google_storage_bucket" "b" {\n  name = "b"\n  location = "EU"\n'
            "  versioning = { enabled = true }\n}\n",
            "versioning is a block: write `versioning { ... }`",
        ),
        (
            'resource "google_storage_bucket" "b" {\n  name = "b"\n  location = "EU"\n'
            "  labels {\n    a = 1\n  }\n}\n",
            "labels is an argument",
        ),
        (
            'resource "google_cloudfunctions2_function" "f" {\n  name = "f"\n'
            '  location = "r"\n  service_config {\n    ingress_settings = "PUBLIC"\n  }\n}\n',
            "ingress_settings = 'PUBLIC' is not one of",
        ),
        (
            'resource "google_cloudfunctions2_function" "f" {\n  name = "f"\n'
            '  location = "r"\n  service_config {\n'
            '    ingress_settings = var.lb ? "ALLOW_GCLB" : "ALLOW_ALL"\n  }\n}\n',
            "ingress_settings = 'ALLOW_GCLB' is not one of",
        ),
        (
            'resource "google_sql_database_instance" "i" {\n  database_version = "POSTGRES_16"\n'
            '  settings {\n    tier = "db-f1-micro"\n    dynamic "database_flag" {\n'
            "      for_each = []\n      content {\n        name = 1\n      }\n    }\n  }\n}\n",
            "no block 'database_flag' to be dynamic (did you mean 'database_flags'?)",
        ),
        (
            'resource "google_sql_database_instance" "i" {\n  database_version = "POSTGRES_16"\n'
            '  settings {\n    tier = "db-f1-micro"\n    dynamic "database_flags" {\n'
            "      for_each = []\n      content {\n        nam = 1\n      }\n    }\n  }\n}\n",
            "required argument 'name' is missing",
        ),
        (
            'resource "google_project_service_identity" "e" {\n  service = "x"\n}\n',
            "has no resource type 'google_project_service_identity'",  # beta only
        ),
        ('resource "foo_thing" "x" {\n}\n', "no schema for provider 'foo'"),
    ],
)
def test_each_kind_of_mistake_is_reported(
    tmp_path: Path, schemas: dict[str, dict[str, Any]], hcl: str, expected: str
) -> None:
    found = problems_of(tmp_path, hcl, schemas)
    assert any(expected in p for p in found), found


def test_valid_configuration_passes(tmp_path: Path, schemas: dict[str, dict[str, Any]]) -> None:
    hcl = (
        'resource "google_project_service_identity" "e" {\n  provider = google-beta\n'
        '  service = "eventarc.googleapis.com"\n}\n'
        'resource "time_sleep" "w" {\n  create_duration = "60s"\n}\n'
        'resource "terraform_data" "t" {\n  input = 1\n}\n'
    )
    assert problems_of(tmp_path, hcl, schemas) == []


@pytest.mark.parametrize(
    ("constraint", "version", "ok"),
    [
        ("~> 7.46.0", "7.46.1", True),
        ("~> 7.46.0", "7.47.0", False),
        ("~> 7.10", "7.46.1", True),
        ("~> 7.10", "8.0.0", False),
        (">= 7.0, < 8.0", "7.46.1", True),
        ("= 7.46.1", "7.46.1", True),
        ("7.46.0", "7.46.1", False),
    ],
)
def test_version_constraints(constraint: str, version: str, ok: bool) -> None:
    assert tfschema.admits(constraint, version) is ok


def test_loose_pins_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "versions.tf"
    path.write_text(
        'terraform {\n  required_providers {\n    google = {\n      source = "hashicorp/google"\n'
        '      version = "~> 7.10"\n    }\n  }\n}\n'
    )
    assert "must admit 7.46.1" in tfschema.check_pins(path, "versions.tf")[0]


def test_a_provider_named_without_a_version_takes_its_modules_pins(tmp_path: Path) -> None:
    path = tmp_path / "versions.tf"
    path.write_text(
        'terraform {\n  required_providers {\n    google = {\n      source = "hashicorp/google"\n'
        "    }\n  }\n}\n"
    )
    assert tfschema.check_pins(path, "versions.tf") == []
