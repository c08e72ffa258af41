# Two commands on a fresh machine: `make run` (bot + Azurite + Agents Playground) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup run test lint bench gallery clean

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
	$(BIN)/python -m scripts.run_local

# The date-dependent suites run again in a timezone far from UTC: a naive datetime anywhere
# would be stored as the machine's local time and show up here.
TZ_SUITES := tests/app/test_signin.py tests/app/test_dialogue.py tests/app/test_after.py tests/app/test_rollup.py tests/app/test_exports.py

test: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m pytest
	TZ=Asia/Kolkata $(BIN)/python -m pytest -q -p no:cacheprovider $(TZ_SUITES)

# The load benchmark in full (about ten minutes on two cores); figures in README and the notes.
bench: setup
	$(BIN)/python -m benchmarks.load

# Every card the bot sends, for every role, in en/fr/es and Teams' light, dark and high-contrast
# themes, rendered in headless Chromium: PNGs and their heights under .artifacts/gallery/.
gallery: setup
	$(BIN)/python -m testing.gallery

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) node_modules .pytest_cache .ruff_cache
