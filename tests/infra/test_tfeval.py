"""infra.tfeval: Terraform expressions evaluated as Terraform would, or refused by name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from infra.tfeval import Computed, Module, Scope, Unsupported, evaluate_text, expand_blocks

SCOPE = Scope({"var": {"name": "kmr", "n": 3, "on": True, "items": ["a", "b"]}})


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ('"${var.name}-pg"', "kmr-pg"),
        ('"${var.n}"', 3),  # a lone interpolation keeps its type
        ('"n=${var.n} ${var.on}"', "n=3 true"),
        ('"$${literal}"', "${literal}"),
        ("var.n * 2 + 1 == 7 && !false", True),
        ('var.on ? "yes" : "no"', "yes"),
        ("{A = 1, (var.name) = 2}", {"A": 1, "kmr": 2}),
        ('{for i, x in var.items : x => i if x != "b"}', {"a": 0}),
        ("[for x in var.items : upper(x)]", ["A", "B"]),
        ('merge({a = 1}, var.on ? {b = "2"} : {})', {"a": 1, "b": "2"}),
        ('join(",", [tostring(var.n), "x"])', "3,x"),
        ('trimsuffix("sa@p.iam.gserviceaccount.com", ".gserviceaccount.com")', "sa@p.iam"),
        ('can(regex("^[a-z]+$", "ABC"))', False),
        ("var.items[1]", "b"),
    ],
)
def test_expressions(expression: str, value: Any) -> None:
    assert evaluate_text(expression, SCOPE) == value


@pytest.mark.parametrize(
    ("expression", "refused"),
    [
        ('templatefile("x", {})', "function templatefile"),
        ("var.missing", "no attribute missing"),
        ('"%{if var.on}x%{endif}"', "template directive"),
    ],
)
def test_what_it_cannot_evaluate_is_refused_by_name(expression: str, refused: str) -> None:
    with pytest.raises(Unsupported, match=refused):
        evaluate_text(expression, SCOPE)


MODULE = """
variable "project" { default = "p" }
locals {
  specs = { movies = { suffix = "fn-movies" }, web = { suffix = "fn-web" } }
  users = {
    for k, sa in google_service_account.fn : k => trimsuffix(sa.email, ".gserviceaccount.com")
  }
}
resource "google_service_account" "fn" {
  for_each   = local.specs
  project    = var.project
  account_id = "kmr-${each.value.suffix}"
}
resource "google_cloud_run_v2_job" "job" {
  project  = var.project
  location = "asia-northeast3"
  name     = "kmr-job"
  template {
    template {
      containers {
        dynamic "env" {
          for_each = { DB_IAM_USER = local.users["movies"], FIREBASE_PROJECT = var.project }
          content {
            name  = env.key
            value = env.value
          }
        }
        env {
          name = "CURSOR_SECRET"
          value_source {
            secret_key_ref {
              secret  = "kmr-cursor-key"
              version = "2"
            }
          }
        }
      }
    }
  }
}
"""


@pytest.fixture
def module(tmp_path: Path) -> Module:
    (tmp_path / "main.tf").write_text(MODULE)
    return Module(tmp_path, {}, Computed(), tmp_path)


def test_for_each_instances_and_values_known_after_apply(module: Module) -> None:
    assert module.local("users") == {"movies": "kmr-fn-movies@p.iam", "web": "kmr-fn-web@p.iam"}
    job = module.resource("google_cloud_run_v2_job", "job")
    assert job.attr("id") == "projects/p/locations/asia-northeast3/jobs/kmr-job"
    with pytest.raises(Unsupported, match="known only after apply"):
        job.attr("uid")


def test_dynamic_and_static_blocks_expand_with_their_iterator(module: Module) -> None:
    job = module.resource("google_cloud_run_v2_job", "job")
    container = expand_blocks(
        expand_blocks(expand_blocks(job, "template")[0], "template")[0], "containers"
    )[0]
    env = expand_blocks(container, "env")
    assert [(e.attr("name"), e.attr("value") if e.has("value") else None) for e in env] == [
        ("CURSOR_SECRET", None),
        ("DB_IAM_USER", "kmr-fn-movies@p.iam"),
        ("FIREBASE_PROJECT", "p"),
    ]


def test_a_computed_value_can_be_replaced(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(MODULE)
    local = Computed().replacing({("google_service_account", "email"): lambda r: "local@x"})
    assert Module(tmp_path, {}, local, tmp_path).local("users")["web"] == "local@x"


OPTIONAL = """
variable "identity" {
  type = object({
    domains = optional(list(string), [])
    limit   = optional(string, "60/minute")
    client  = optional(string)
    name    = string
  })
  nullable = false
  default  = { name = "x" }
}
"""


@pytest.mark.parametrize(
    ("given", "value"),
    [
        ({}, {"name": "x", "domains": [], "limit": "60/minute", "client": None}),
        ({"identity": None}, {"name": "x", "domains": [], "limit": "60/minute", "client": None}),
        (
            {"identity": {"name": "y", "limit": "5/second"}},
            {"name": "y", "domains": [], "limit": "5/second", "client": None},
        ),
    ],
)
def test_optional_attributes_get_their_defaults(
    tmp_path: Path, given: dict[str, Any], value: dict[str, Any]
) -> None:
    """As Terraform converts a value to an object type: optional(type, default) fills in."""
    (tmp_path / "variables.tf").write_text(OPTIONAL)
    assert Module(tmp_path, given, Computed(), tmp_path).variable("identity") == value
