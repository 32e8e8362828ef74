# Two commands matter: `make run` (the whole stack locally) and `make test` (everything CI runs).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check

.PHONY: run test lint typecheck iac pytest browser screenshots venv venv-test auth-emulator upload rescore bench clean

venv: $(VENV)/.run-deps
venv-test: $(VENV)/.test-deps

$(VENV)/.run-deps: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e '.[dev]'
	touch $@

# torch comes first and pinned: it installs from the local CPU wheel, and nothing after it
# may pull a different (CUDA) build. It is for model/ training and its tests only.
$(VENV)/.test-deps: $(VENV)/.run-deps model/requirements.txt
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -r model/requirements.txt
	touch $@

# The Firebase Auth emulator (npm firebase-tools, pinned by the committed lockfile) in a
# git-ignored node_modules; reinstalled only when the lockfile changes. Install scripts are
# skipped: the auth emulator is plain JavaScript, and some optional native helpers' scripts
# would try to download prebuilt binaries from outside the registry.
AUTH_EMULATOR := infra/auth-emulator
auth-emulator: $(AUTH_EMULATOR)/node_modules/.installed

$(AUTH_EMULATOR)/node_modules/.installed: $(AUTH_EMULATOR)/package.json $(AUTH_EMULATOR)/package-lock.json
	cd $(AUTH_EMULATOR) && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@

run: venv auth-emulator
	$(PY) -m infra.stack

test: venv-test browser auth-emulator lint typecheck iac pytest

# Debian's Chromium + a Korean font for the console's browser tests (installed when missing)
browser:
	bash infra/install_browser.sh

lint:
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# each function's main.py is a top-level module named "main": type-check them one by one
typecheck:
	$(VENV)/bin/mypy shared infra model bench tests
	for f in functions/*/main.py; do $(VENV)/bin/mypy "$$f" || exit 1; done

iac:
	bash infra/check_iac.sh

pytest:
	$(PY) -m pytest -p no:cacheprovider

# the README's pictures of the console, from the browser tests' own pages
screenshots: venv browser
	UPDATE_SCREENSHOTS=1 $(PY) -m pytest -p no:cacheprovider -q tests/functions/test_web_browser.py -k screenshots

upload: venv
	$(PY) -m infra.upload "$(FILE)"

# rescore every review with another model version, as TASKS local job tasks (needs `make run`)
TASKS ?= 2
rescore: venv
	$(PY) -m infra.jobs rescore --model-uri "$(MODEL_URI)" --tasks "$(TASKS)"

bench: venv-test auth-emulator
	$(PY) bench/bench_model.py
	$(PY) bench/bench_ratings.py
	$(PY) bench/bench_upload.py
	$(PY) bench/bench_identity.py

clean:
	rm -rf $(VENV) .venv-checkov .local build .mypy_cache .ruff_cache .pytest_cache $(AUTH_EMULATOR)/node_modules
