# One command for each chore. Every target installs what it needs first.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
CONFIG ?= config.yaml

.PHONY: install run test test-slow lint check bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

run: install  ## run the daemon on the bundled config.yaml
	$(BIN)/monitor run -c $(CONFIG)

test: install  ## the whole suite but the slow soak/load runs
	$(BIN)/pytest -m "not slow" -q

test-slow: install  ## the slow soak and load runs only
	$(BIN)/pytest -m slow -q

lint: install
	$(BIN)/ruff check monitor tests bench
	$(BIN)/ruff format --check monitor tests bench
	$(BIN)/mypy

check: lint test

bench: install
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
