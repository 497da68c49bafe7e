# Two commands matter: `make run` and `make test` (see README.md).
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
RASA := $(VENV)/bin/rasa
export RASA_TELEMETRY_ENABLED := false
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
export TF_CPP_MIN_LOG_LEVEL := 2

.PHONY: help setup run test train lint typecheck pytest rasa-validate rasa-test-stories \
        browser frontend seed bench bench-nlu lock clean

help:
	@echo "make run    set up, train if needed, start the whole stack (SQLite)"
	@echo "make test   set up and run every test"
	@echo "make bench  run the benchmarks (figures printed, see README)"

# --- set-up ---------------------------------------------------------------
$(VENV)/.installed: pyproject.toml constraints.txt scripts/find_python.sh scripts/provision_spacy_model.sh
	@python=$$(scripts/find_python.sh) || exit 1; \
	if ! $(PY) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' 2>/dev/null; then \
	  echo "Creating $(VENV) with $$python"; rm -rf $(VENV); "$$python" -m venv $(VENV); \
	fi
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade "pip>=23.2"
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[dev]"
	scripts/provision_spacy_model.sh $(PY)
	$(PY) -m pip check
	@touch $@

setup: $(VENV)/.installed frontend

# Front-end packages (GOV.UK Frontend, socket.io client, axe-core) come from npm
# and are copied into the app's static folder: nothing is loaded from a CDN.
bot/web/static/vendor/.built: frontend/package.json frontend/package-lock.json frontend/build.sh
	cd frontend && npm ci --no-audit --no-fund --loglevel=error
	frontend/build.sh
	@touch $@

frontend: bot/web/static/vendor/.built

# Debian's Chromium for the browser tests (root installs it; others are told how).
browser:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else echo "Browser tests need Chromium: sudo apt-get install chromium"; exit 1; fi; }

train: setup
	@scripts/train.sh >/dev/null

seed: setup
	$(PY) -m bot seed

# --- run ------------------------------------------------------------------
run: train seed
	$(PY) -m bot.stack

# --- tests ----------------------------------------------------------------
lint: setup
	$(PY) -m ruff check bot actions tests benchmarks scripts

typecheck: setup
	$(PY) -m mypy

rasa-validate: setup
	$(RASA) data validate --fail-on-warnings --quiet

rasa-test-stories: train
	$(RASA) test core --model models/current.tar.gz --stories tests/test_stories.yml \
	  --fail-on-prediction-errors --out reports/stories --quiet

pytest: train browser
	$(PY) -m pytest

test: lint typecheck rasa-validate rasa-test-stories pytest

# --- benchmarks -------------------------------------------------------------
bench: train seed
	$(PY) -m benchmarks.nlu_compare
	$(PY) -m benchmarks.stack_latency
	$(PY) -m benchmarks.handoff_latency

# --- maintenance ------------------------------------------------------------
lock: $(VENV)/.installed
	{ head -2 constraints.txt; $(PY) -m pip freeze --exclude-editable \
	  | grep -v -E '^(en[-_]core[-_]web[-_]md|mutuals-hotline)'; } > constraints.txt.new
	mv constraints.txt.new constraints.txt

clean:
	rm -rf models reports .pytest_cache .mypy_cache .ruff_cache
