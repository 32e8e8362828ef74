#!/usr/bin/env bash
# Offline checks of the infrastructure code: terraform/ against the google
# provider's own schema (infra/tfschema.py), checkov on terraform/, the Cloud
# Build schema on cloudbuild.yaml, and `terraform fmt` when terraform exists.
#
#   bash infra/check_iac.sh            (from anywhere; idempotent)
#
# checkov lives in its own virtualenv (.venv-checkov): it installs a fork of
# python-hcl2 (bc-python-hcl2) that would shadow the python-hcl2 the tests use.
#
# Environment:
#   PYTHON          interpreter with check-jsonschema (default: .venv/bin/python)
#   CHECKOV_PYTHON  interpreter to create .venv-checkov with (default: python3)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

CHECKOV_VERSION="3.3.30"
CHECKOV_VENV=".venv-checkov"
STAMP="${CHECKOV_VENV}/.checkov-${CHECKOV_VERSION}"

# --- checkov -------------------------------------------------------------------
if [[ ! -f "${STAMP}" ]]; then
  echo "iac: installing checkov ${CHECKOV_VERSION} into ${CHECKOV_VENV}"
  if [[ ! -x "${CHECKOV_VENV}/bin/python" ]]; then
    "${CHECKOV_PYTHON:-python3}" -m venv "${CHECKOV_VENV}"
  fi
  log="$(mktemp)"
  if ! "${CHECKOV_VENV}/bin/python" -m pip install --disable-pip-version-check -q \
      "checkov==${CHECKOV_VERSION}" >"${log}" 2>&1; then
    cat "${log}" >&2
    rm -f "${log}"
    exit 1
  fi
  rm -f "${log}"
  rm -f "${CHECKOV_VENV}"/.checkov-*
  touch "${STAMP}"
fi

# --skip-download: no calls to the vendor's platform (offline, no API key).
checkov_args=(--framework terraform --compact --quiet --skip-download)

# One configuration (terraform/*.tf + modules/), once per environment with that
# environment's settings, as the pipeline plans it.
for settings in terraform/environments/*/settings.tfvars; do
  echo "iac: checkov terraform/ with ${settings#terraform/}"
  "${CHECKOV_VENV}/bin/checkov" -d terraform "${checkov_args[@]}" --var-file "${settings}"
done

# The load balancer is off in both environments, so the passes above do not see
# its resources; check the module once more with it switched on.
echo "iac: checkov terraform/modules/system with enable_load_balancer = true"
"${CHECKOV_VENV}/bin/checkov" -d terraform/modules/system "${checkov_args[@]}" \
  --var-file tests/terraform/checkov-lb.tfvars

# --- provider schema -------------------------------------------------------------
# Every resource, argument and block against the pinned provider versions' schemas
# (from the cdktn-provider-* wheels, fetched once into ~/.cache/kmr).
echo "iac: terraform/ against the provider schemas"
"${PYTHON:-.venv/bin/python}" -m infra.tfschema terraform

# --- Cloud Build config schema ---------------------------------------------------
python_bin="${PYTHON:-.venv/bin/python}"
if ! "${python_bin}" -c "import check_jsonschema" 2>/dev/null; then
  echo "iac: ${python_bin} has no check-jsonschema (pip install check-jsonschema)" >&2
  exit 1
fi
echo "iac: check-jsonschema cloudbuild.yaml"
"${python_bin}" -m check_jsonschema --builtin-schema vendor.cloudbuild cloudbuild.yaml

# --- terraform fmt ---------------------------------------------------------------
if command -v terraform >/dev/null 2>&1; then
  echo "iac: terraform fmt -check -recursive terraform"
  # fmt needs no CLI config; a TF_CLI_CONFIG_FILE naming a missing file only warns.
  if [[ -z "${TF_CLI_CONFIG_FILE:-}" || ! -e "${TF_CLI_CONFIG_FILE}" ]]; then
    export TF_CLI_CONFIG_FILE=/dev/null
  fi
  terraform fmt -check -recursive terraform
else
  echo "iac: terraform fmt skipped (no terraform binary on PATH)"
fi

echo "iac: ok"
