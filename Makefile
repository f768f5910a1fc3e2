# Junta: the two commands a newcomer needs are `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PY_STAMP   := $(VENV)/.installed
NODE_STAMP := node_modules/.installed

.PHONY: setup run test lint unit bench clean

$(PY_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

setup: $(PY_STAMP) $(NODE_STAMP)

## Serve on http://127.0.0.1:8080 with embedded defaults (SQLite, in-process socket.io) and demo data.
run: setup
	$(BIN)/junta serve --demo

lint: setup
	$(BIN)/ruff check .
	$(BIN)/mypy signaling media web casebook

## The whole suite: lint, type check, unit, integration (PostgreSQL, Redis) and browser (Chromium) tests.
test: lint
	$(BIN)/pytest

## Benchmarks measure; they are not part of the suite.
bench: setup
	$(BIN)/python bench/join.py

clean:
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache
