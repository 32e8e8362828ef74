"""terraform/modules/system/identity.tf: Identity Platform, Google sign-in, the console's web
API key, and what the runtime identities may do with accounts."""

from __future__ import annotations

import pytest

from infra import cloudenv
from tests.terraform.test_terraform import MODULE, Config, load, specs


@pytest.fixture(scope="module")
def module() -> Config:
    return load(MODULE)


def test_identity_platform_is_enabled_and_configured(module: Config) -> None:
    assert "identitytoolkit.googleapis.com" in str(module.locals["services"])
    config = module.resource("google_identity_platform_config", "this")
    email = config["sign_in"][0]["email"][0]
    assert email == {"enabled": True, "password_required": True}
    assert config["sign_in"][0]["allow_duplicate_emails"] is False
    # the site's domain is authorised; more only as the operator lists them
    assert "[var.domain]" in module.locals["authorized_domains"]
    assert config["authorized_domains"] == "${local.authorized_domains}"
    assert config["monitoring"][0]["request_logging"][0]["enabled"] is True
    permissions = config["client"][0]["permissions"][0]
    assert permissions == {"disabled_user_signup": False, "disabled_user_deletion": False}
    quota = config["dynamic"][0]["quota"]
    assert quota["for_each"] == "${var.identity.sign_up_quota > 0 ? [var.identity] : []}"
    assert "sign_up_quota_config" in quota["content"][0]
    # the first calls after enabling the API may be refused: the config waits
    assert "${time_sleep.identity_api_propagation}" in config["depends_on"]


def test_google_sign_in_is_off_unless_a_client_is_configured(module: Config) -> None:
    assert module.default("identity") == {}  # every attribute optional: Google sign-in off
    idp = module.resource("google_identity_platform_default_supported_idp_config", "google")
    assert idp["count"] == "${local.google_sign_in ? 1 : 0}"
    assert module.locals["google_sign_in"] == '${var.identity.google_client_id != ""}'
    assert idp["idp_id"] == "google.com"
    # the client secret comes from Secret Manager, never from a variable or a settings file
    secret = module.data[("google_secret_manager_secret_version", "google_sign_in")]
    assert idp["client_secret"] == (
        "${data.google_secret_manager_secret_version.google_sign_in[0].secret_data}"
    )
    assert secret["count"] == idp["count"]
    assert not any("secret" in name for name in module.variables["identity"]["type"])


def test_the_web_api_key_reaches_only_the_console(module: Config) -> None:
    secret = module.resource("google_secret_manager_secret", "web_api_key")
    assert secret["secret_id"] == "${local.prefix}-web-api-key"
    accessors = [
        body
        for _, body in module.of_type("google_secret_manager_secret_iam_member")
        if "web_api_key" in body["secret_id"]
    ]
    assert [a["member"] for a in accessors] == ["${google_service_account.web.member}"]


def test_functions_that_check_writes_may_read_accounts_and_nothing_more(module: Config) -> None:
    grant = module.resource("google_project_iam_member", "function_account_reader")
    assert grant["role"] == "roles/firebaseauth.viewer"  # revocation checks read accounts
    assert "v.checks_writes" in grant["for_each"]
    assert {k for k, v in specs(module).items() if v["checks_writes"]} == {"movies", "reviews"}
    function_roles = [
        body["role"]
        for _, body in module.of_type("google_project_iam_member")
        if "google_service_account.function[" in body.get("member", "")
    ]
    assert not [role for role in function_roles if role.startswith("roles/firebaseauth.admin")]


def test_the_functions_that_verify_users_know_their_project() -> None:
    """Evaluated from the Terraform itself, as the rehearsal starts each process."""
    functions = cloudenv.functions(cloudenv.system("prod"))
    for name in ("movies", "reviews"):
        env = functions[name].env
        assert env["FIREBASE_PROJECT_ID"] == "my-project-prod", name
        assert env["API_WRITE_RATE_LIMIT"] == "60/minute", name
    for name in ("ratings", "reviews-uploads"):  # verify no one
        assert "FIREBASE_PROJECT_ID" not in functions[name].env, name
