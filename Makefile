# Two commands matter: `make run` and `make test` (see README.md).
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
RASA := $(VENV)/bin/rasa
export RASA_TELEMETRY_ENABLED := false
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
export TF_CPP_MIN_LOG_LEVEL := 2

.PHONY: help setup run test unit train lint fmt typecheck pytest rasa-validate \
        rasa-test-stories browser haproxy cluster frontend seed bench lock clean api-fuzz

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | \
	  awk -F':.*## ' '{printf "make %-18s %s\n", $$1, $$2}'

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

setup: $(VENV)/.installed frontend ## the virtual environment, pinned packages, spaCy model, front-end

# Front-end packages (GOV.UK Frontend, socket.io client, axe-core) come from npm
# and are copied into the app's static folder: nothing is loaded from a CDN.
bot/web/static/vendor/.built: frontend/package.json frontend/package-lock.json frontend/build.sh
	cd frontend && npm ci --no-audit --no-fund --loglevel=error
	frontend/build.sh
	@touch $@

frontend: bot/web/static/vendor/.built ## the npm packages copied into the web app

# Debian's Chromium for the browser tests (root installs it; others are told how).
browser: ## Debian's Chromium for the browser tests
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else echo "Browser tests need Chromium: sudo apt-get install chromium"; exit 1; fi; }

# Debian's HAProxy for the local cluster and its tests (as `browser` does for Chromium).
haproxy: ## Debian's HAProxy for `make cluster` and the cluster tests
	@command -v haproxy >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq haproxy >/dev/null; \
	  else echo "The cluster needs HAProxy: sudo apt-get install haproxy"; exit 1; fi; }

train: $(VENV)/.installed ## train the model if its inputs changed (about a minute)
	@scripts/train.sh >/dev/null

seed: setup ## migrate and seed the database
	$(PY) -m bot seed

# --- run ------------------------------------------------------------------
run: train seed ## set up, train if needed, start the whole stack (SQLite)
	$(PY) -m bot.stack

# HAProxy in front of two web processes and two Rasa instances, sharing PostgreSQL and
# Redis (local defaults below; the database is created if missing). Ctrl-C stops it.
CLUSTER_DATABASE_URL ?= postgresql://postgres@localhost:5432/hotline_cluster
CLUSTER_REDIS_URL ?= redis://localhost:6379/0
cluster: train frontend haproxy ## the local cluster: HAProxy, two web apps, two Rasa (PostgreSQL, Redis)
	DATABASE_URL=$${DATABASE_URL:-$(CLUSTER_DATABASE_URL)} \
	RASA_TRACKER_STORE_URL=$${RASA_TRACKER_STORE_URL:-$${DATABASE_URL:-$(CLUSTER_DATABASE_URL)}} \
	RASA_LOCK_STORE_URL=$${RASA_LOCK_STORE_URL:-$(CLUSTER_REDIS_URL)} \
	HOTLINE_PUBSUB_URL=$${HOTLINE_PUBSUB_URL:-$(CLUSTER_REDIS_URL)} \
	$(PY) -m bot.cluster

# --- tests ----------------------------------------------------------------
PY_TREES := bot actions tests benchmarks scripts

lint: $(VENV)/.installed ## ruff (lint, format check) and the import layers (import-linter)
	$(PY) -m ruff check $(PY_TREES)
	$(PY) -m ruff format --check $(PY_TREES)
	$(VENV)/bin/lint-imports --no-cache

fmt: $(VENV)/.installed ## format and autofix the code
	$(PY) -m ruff format $(PY_TREES)
	$(PY) -m ruff check --fix $(PY_TREES)

typecheck: $(VENV)/.installed ## mypy
	$(PY) -m mypy

# Unit tests: no trained model, no browser, no npm (about 4 minutes on 2 cores, against
# about 10 for the whole of `make test` once set up).
unit: $(VENV)/.installed ## the fast tests (no model, no browser, no npm)
	$(PY) -m pytest -m "not model and not browser" -q

rasa-validate: $(VENV)/.installed ## rasa data validate --fail-on-warnings
	$(RASA) data validate --fail-on-warnings --quiet

# --e2e: each story's user text goes through the NLU (intent and entities checked),
# not only its labels through the dialogue policies. Rasa's test replays the stories'
# action events rather than running the actions; tests/test_callers.py (simulated
# callers and the button crawl) talks to the whole stack with the actions running.
rasa-test-stories: train ## the conversation tests (tests/test_stories.yml), NLU included
	$(RASA) test core --e2e --model models/current.tar.gz --stories tests/test_stories.yml \
	  --fail-on-prediction-errors --out reports/stories --quiet

pytest: train browser haproxy frontend ## every pytest test, the sealed held-out gate included
	$(PY) -m pytest

# schemathesis gets its own environment from the default python3: every release
# conflicts with Rasa's pins (pytest, jsonschema, anyio), so it cannot join .venv.
API_VENV := .venv-api
API_PYTHON ?= python3
$(API_VENV)/.installed: constraints-api.txt
	rm -rf $(API_VENV) && $(API_PYTHON) -m venv $(API_VENV)
	$(API_VENV)/bin/python -m pip install --quiet --disable-pip-version-check \
	  -c constraints-api.txt schemathesis
	$(API_VENV)/bin/python -m pip check
	@touch $@

api-fuzz: $(VENV)/.installed $(API_VENV)/.installed ## schemathesis against the staff and internal APIs' OpenAPI description
	$(PY) scripts/api_fuzz.py --schemathesis $(API_VENV)/bin/schemathesis

test: lint typecheck rasa-validate rasa-test-stories pytest api-fuzz ## set up, then every test and quality gate

# --- benchmarks -------------------------------------------------------------
bench: train seed ## the benchmarks (docs/benchmarks.md)
	$(PY) -m benchmarks.nlu_compare
	$(PY) -m benchmarks.stack_latency
	$(PY) -m benchmarks.handoff_latency

# --- maintenance ------------------------------------------------------------
lock: $(VENV)/.installed ## regenerate constraints.txt after changing pyproject.toml
	{ head -2 constraints.txt; $(PY) -m pip freeze --exclude-editable \
	  | grep -v -E '^(en[-_]core[-_]web[-_]md|mutuals-hotline)'; } > constraints.txt.new
	mv constraints.txt.new constraints.txt

clean: ## remove models, reports and caches
	rm -rf models reports .pytest_cache .mypy_cache .ruff_cache
