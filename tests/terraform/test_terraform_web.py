"""terraform/modules/system/web.tf: the console's function, identity, settings and route."""

from __future__ import annotations

import re
from typing import Any

import pytest

from infra import bundles
from infra.stack import FUNCTIONS as LOCAL_FUNCTIONS
from shared.settings import Settings
from tests.terraform.test_terraform import MODULE, Config, load


@pytest.fixture(scope="module")
def module() -> Config:
    return load(MODULE)


def web_function(module: Config) -> dict[str, Any]:
    return module.resource("google_cloudfunctions2_function", "web")


def members_of(module: Config, member: str) -> list[tuple[str, str, dict[str, Any]]]:
    return [(t, n, b) for (t, n), b in module.resources.items() if b.get("member") == member]


def test_web_is_its_own_function_from_its_own_bundle(module: Config) -> None:
    fn = web_function(module)
    assert fn["build_config"][0]["entry_point"] == "web"
    assert "web" in bundles.FUNCTIONS
    assert "web" in {f.name for f in LOCAL_FUNCTIONS}
    source = fn["build_config"][0]["source"][0]["storage_source"][0]["object"]
    assert source == "${google_storage_bucket_object.web_bundle.name}"
    bundle = module.resource("google_storage_bucket_object", "web_bundle")
    assert re.search(r"\$\{filesha256\(.*web\.zip", bundle["name"])
    service = fn["service_config"][0]
    assert service["service_account_email"] == "${google_service_account.web.email}"
    assert service["ingress_settings"] == "${local.http_ingress}"


def test_web_identity_has_only_secret_access_upload_and_invoker_rights(module: Config) -> None:
    grants = members_of(module, "${google_service_account.web.member}")
    roles = {(t, b["role"]) for t, _, b in grants}
    assert roles == {
        ("google_project_iam_member", "roles/logging.logWriter"),
        ("google_project_iam_member", "roles/firebaseauth.admin"),  # sessions, revocation
        ("google_secret_manager_secret_iam_member", "roles/secretmanager.secretAccessor"),
        ("google_storage_bucket_iam_member", "roles/storage.objectCreator"),
        ("google_storage_bucket_iam_member", "roles/storage.objectViewer"),
        ("google_cloud_run_v2_service_iam_member", "roles/run.invoker"),
    }
    secrets = {b["secret_id"] for t, _, b in grants if t.startswith("google_secret_manager")}
    assert "api_keys" not in " ".join(secrets)  # the console holds no API key
    for _, name, body in grants:
        if body["role"].startswith("roles/storage."):
            assert body["bucket"] == "${google_storage_bucket.uploads.name}", name
        if body["role"] == "roles/storage.objectViewer":
            condition = body["condition"][0]["expression"]
            for prefix in ("reports", "rejects"):
                assert f"objects/{prefix}/console/" in condition
    assert not any("cloudsql" in b["role"] for _, _, b in grants)
    # not in function_specs: no database user, no SQL grant, no model access
    assert "web" not in module.locals["function_specs"]


def test_web_env_names_are_settings_and_its_secrets_come_from_secret_manager(
    module: Config,
) -> None:
    text = (MODULE / "web.tf").read_text(encoding="utf-8")
    locals_block = text[text.index("locals {") : text.index('resource "terraform_data"')]
    names = set(re.findall(r"\b([A-Z][A-Z0-9_]+)\s*=", locals_block))
    known = {name.upper() for name in Settings.model_fields}
    assert names - {"THREADS"} <= known, names - known
    assert {"API_BASE_URL", "MOVIES_API_URL", "REVIEWS_API_URL", "RATINGS_API_URL"} <= names
    assert "FIREBASE_PROJECT_ID" in names
    secrets = {
        block["key"]: block
        for block in web_function(module)["service_config"][0]["secret_environment_variables"]
    }
    assert "API_KEYS" not in secrets and "API_KEYS" not in names  # no key, in no form
    assert "api_keys" not in text
    cursor = secrets["CURSOR_SECRET"]  # the console's session key is derived from it
    assert cursor["secret"] == "${google_secret_manager_secret.cursor_key.secret_id}"
    assert cursor["version"] == "${var.cursor_key_version}"
    web_api_key = secrets["FIREBASE_WEB_API_KEY"]  # it signs people in (Need.SIGN_IN)
    assert web_api_key["secret"] == "${google_secret_manager_secret.web_api_key.secret_id}"
    assert web_api_key["version"] == "${google_secret_manager_secret_version.web_api_key.version}"
    assert set(secrets) <= known


def test_private_functions_admit_the_console_with_its_id_token(module: Config) -> None:
    """public_invoker = false: the console holds run.invoker on each HTTP function and is
    told to send its ID token (API_ID_TOKENS); public functions need neither."""
    binding = module.resource("google_cloud_run_v2_service_iam_member", "web_invokes_functions")
    assert binding["for_each"] == "${var.public_invoker ? {} : local.public_functions}"
    assert binding["name"] == "${google_cloudfunctions2_function.this[each.key].name}"
    assert binding["role"] == "roles/run.invoker"
    text = (MODULE / "web.tf").read_text(encoding="utf-8")
    private = text.index("var.public_invoker ? {} : {") + len("var.public_invoker ? {} : {")
    assert re.match(r'[^}]*API_ID_TOKENS\s*=\s*"true"', text[private:], re.S)


def test_web_is_the_load_balancers_default_route_behind_cloud_armor(module: Config) -> None:
    url_map = module.resource("google_compute_url_map", "https")
    assert url_map["default_service"] == "${google_compute_backend_service.web[0].id}"
    assert url_map["path_matcher"][0]["default_service"] == url_map["default_service"]
    backend = module.resource("google_compute_backend_service", "web")
    assert backend["security_policy"] == "${google_compute_security_policy.api[0].id}"
    armor = module.resource("google_compute_security_policy", "api")
    priorities = {rule["priority"]: rule for rule in armor["rule"]}
    console = priorities[1500]
    assert console["action"] == "allow"
    assert "x-console-token" in console["match"][0]["expr"][0]["expression"]
    assert priorities[2000]["action"] == "throttle"  # people still get the per-IP budget


def test_web_outputs_its_url_in_every_environment(module: Config) -> None:
    assert "web_url" in module.outputs
    outputs = load(MODULE.parents[1]).outputs  # terraform/: the root of every environment
    assert outputs["web_url"]["value"] == "${module.system.web_url}"
