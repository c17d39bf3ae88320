# Two commands a newcomer needs: `make demo` and `make test`. Both install what they need first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test unit lint up down status clean

$(STAMP): pyproject.toml
	@# Browser tests drive Debian's chromium; a fresh machine (CI) may not have it yet.
	command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: install  ## stack up, a 20-ligand CDK2 batch end to end, results, batch-done
	$(BIN)/omtx demo

test: install  ## unit + integration tests (starts its own stack on other ports)
	$(BIN)/pytest

unit: install
	$(BIN)/pytest tests/unit

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

up: install
	$(BIN)/omtx dev up

down: install
	$(BIN)/omtx dev down

status: install
	$(BIN)/omtx dev status

clean: down
	rm -rf .omtx .pytest_cache .mypy_cache .ruff_cache .import_linter_cache
