# moonhook: the two commands of the README, and the benchmarks.
# Everything the project needs is installed here, into .venv, from a fresh clone.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench install clean screenshots

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# The dashboard's tests drive Debian's headless Chromium (tests/support/browser.py), installed
# here when missing (root, or sudo); the suite does not skip them without it. On a bare
# machine apt's package lists may be empty: they are fetched once, on the first failure.
BROWSER := /usr/bin/chromium /usr/bin/chromedriver
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)
APT_INSTALL := DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q chromium chromium-driver

$(BROWSER) &:
	$(APT_INSTALL) || { $(SUDO) apt-get update -q && $(APT_INSTALL); }

# A fresh clone has no moonhook.toml: `moonhook init` writes one with fresh secrets (never
# over an existing one), then the engine starts on the paper broker.
run: $(STAMP)
	@test -f moonhook.toml || $(BIN)/moonhook init .
	$(BIN)/moonhook run

# The import rules and the code lint first (pyproject.toml's [tool.importlinter] and [tool.ruff]):
# a crossed layer, an unused import or an undefined name fails at once.
test: $(STAMP) $(BROWSER)
	$(BIN)/lint-imports
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

# The README's pictures of the dashboard: docs/screenshots/<page>.png, taken by its walk.
screenshots: $(STAMP) $(BROWSER)
	MOONHOOK_SCREENSHOTS=1 $(BIN)/python -m pytest -q tests/e2e/test_walk_dashboard.py

# The webhook figures load the server with wrk (Debian's package); the plot needs matplotlib
# (the bench extra). Writes BENCHMARKS.md and benchmarks.png.
bench: $(STAMP)
	@command -v wrk >/dev/null || $(SUDO) apt-get install -y -q wrk >/dev/null || echo "make bench: could not install wrk"
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	$(BIN)/python -m bench --write

clean:
	rm -rf $(VENV) .pytest_cache
