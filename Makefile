# Two commands on a fresh machine: `make run` (bot + Azurite + Agents Playground) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup run test lint bench clean

setup: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

run: setup
	$(BIN)/python scripts/run_local.py

test: setup
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

# The load benchmark in full (about ten minutes on two cores); figures in README and the notes.
bench: setup
	$(BIN)/python -m benchmarks.load

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) node_modules .pytest_cache .ruff_cache
