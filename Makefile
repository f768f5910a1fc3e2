# Junta: the two commands a newcomer needs are `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Every Python dependency, exact versions and hashes: run.lock is what serving needs (with the
# media extra), dev.lock adds the test and lint tools. `make lock` rewrites both.
RUN_LOCK := requirements/run.lock
DEV_LOCK := requirements/dev.lock
RUN_STAMP  := $(VENV)/.installed-run
DEV_STAMP  := $(VENV)/.installed-dev
NODE_STAMP := node_modules/.installed
# The lock tool is only needed to update the locks, never to install from them.
UV_VERSION := 0.13.10
LOCK_FLAGS := --generate-hashes --universal --python-version 3.11 --quiet \
              --custom-compile-command "make lock"

.PHONY: setup setup-run run test test-stress lint unit bench lock clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(RUN_STAMP): $(RUN_LOCK) pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r $(RUN_LOCK)
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

$(DEV_STAMP): $(DEV_LOCK) $(RUN_STAMP)
	$(BIN)/pip install --quiet --require-hashes -r $(DEV_LOCK)
	touch $@

# The server serves the browser's socket.io client from node_modules.
$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

## What serving needs, and no test tools.
setup-run: $(RUN_STAMP) $(NODE_STAMP)

## Everything: serving, tests, lint.
setup: setup-run $(DEV_STAMP)

## Serve on http://127.0.0.1:8080 with embedded defaults (SQLite, in-process socket.io) and demo data.
run: setup-run
	$(BIN)/junta serve --demo

lint: setup
	$(BIN)/ruff check .
	$(BIN)/mypy signaling media web casebook

## The whole suite: lint, type check, unit, integration (PostgreSQL, Redis) and browser (Chromium) tests.
test: lint
	$(BIN)/pytest

## The same tests while busy loops keep every core busy (.ci/busy stops them however pytest ends).
test-stress: setup
	.ci/busy $(BIN)/pytest

## Benchmarks measure; they are not part of the suite.
bench: setup
	$(BIN)/python bench/join.py

## Re-resolve both locks from pyproject.toml, keeping locked versions that still fit
## (`make lock LOCK_ARGS=--upgrade` takes the newest; `--upgrade-package NAME` one package).
lock: | $(BIN)/python
	$(BIN)/pip install --quiet uv==$(UV_VERSION)
	$(BIN)/uv pip compile pyproject.toml --extra media $(LOCK_FLAGS) $(LOCK_ARGS) -o $(RUN_LOCK)
	$(BIN)/uv pip compile pyproject.toml --extra dev --constraint $(RUN_LOCK) $(LOCK_FLAGS) \
	    $(LOCK_ARGS) -o $(DEV_LOCK)

clean:
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache
