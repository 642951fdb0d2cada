# One command for each chore. Every target installs what it needs first.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
CONFIG ?= config.yaml

.PHONY: install run test test-slow lint check bench soak clean

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

# Every benchmark, then the soak (over an hour in all; each prints its figures and ratios).
BENCHES   ?= extraction matching delivery polling throughput
SOAK_ARGS ?=

bench: install  ## all benchmarks, the soak last (SOAK_ARGS="--minutes 3" shortens it)
	@set -e; for b in $(BENCHES); do echo "== python -m bench.$$b"; $(BIN)/python -m bench.$$b; done
	@echo "== python -m bench.soak $(SOAK_ARGS)"
	$(BIN)/python -m bench.soak $(SOAK_ARGS)

soak: install  ## the hour-long soak: the daemon against 1,000 live feeds (SOAK_ARGS="--minutes 3" for a quick check)
	$(BIN)/python -m bench.soak $(SOAK_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
