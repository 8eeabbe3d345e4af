# loop — make targets. `make demo` and `make test` are the README's Quick start.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | cksum | cut -d' ' -f1)

# Sample period of the demo (override: make demo CUSTOMERS=5000 DAYS=28)
CUSTOMERS ?= 3000
DAYS      ?= 21

.PHONY: install browser demo test lint lock bench clean

install: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "loop needs Python 3.11 (set PYTHON=/path/to/python3.11)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==0.13.8
	$(BIN)/uv pip sync --quiet --python $(BIN)/python requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	rm -f $(VENV)/.installed-* && touch $@

## The browser the page tests drive: Debian's Chromium (Playwright's own browser download is unreachable here).
CHROMIUM ?= /usr/bin/chromium
browser:
	@test -x $(CHROMIUM) || { \
	  echo "installing Debian's chromium for the page tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

## Play the sample world day by day: each day's files react to the actions of the cycles before it, then the
## day's cycle runs through Airflow; prints the summary.
demo: $(STAMP)
	$(BIN)/loop demo --customers $(CUSTOMERS) --days $(DAYS)

## The whole test suite.
test: $(STAMP) browser
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check loop dags tests benchmarks
	$(BIN)/ruff format --check loop dags tests benchmarks
	$(BIN)/mypy
	$(BIN)/sqlfluff lint dbt_project/models

## Re-lock dependencies after changing pyproject.toml.
lock:
	$(BIN)/uv pip compile --python-version 3.11 --extra dev pyproject.toml -o requirements.lock --generate-hashes --no-header
	sed -i '1i # Locked dependencies of loop (Python 3.11). Regenerate with: make lock' requirements.lock

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_cycle.py

clean:
	rm -rf .loop
