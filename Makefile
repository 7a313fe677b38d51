# Two commands for a fresh machine (see README):
#   make demo   set everything up and open JupyterLab on the quickstart notebook (local backend)
#   make test   set everything up and run lint, type check, JS tests and pytest (incl. browser tests)
# and `make demo-marimo`: the same quickstart in marimo's editor (notebooks/06-marimo.py).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8888
MARIMO_PORT ?= 2718
# pip on these machines lists local mirrors that do not exist; their warnings are noise.
QUIET_PIP := 2>&1 | grep -v "^WARNING: Location" || true

.PHONY: demo demo-marimo test lint typecheck js-test pytest install js-install chromium clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip $(QUIET_PIP)

# `npm install` rather than `npm ci`: this npm records no entries for other platforms'
# optional binaries (esbuild, biome, rollup) in the lock file, and `npm ci` then
# refuses the lock as out of sync. `npm install` honours the lock and adds nothing.
js/node_modules/.package-lock.json: js/package.json js/package-lock.json
	cd js && npm install --no-audit --no-fund
	@touch $@

replicate_widgets/static/form.js: js/node_modules/.package-lock.json $(wildcard js/src/*.ts js/src/*/*.ts js/src/*.css js/src/*/*.css) js/build.mjs
	cd js && npm run build

$(VENV)/.installed: $(BIN)/python pyproject.toml replicate_widgets/static/form.js
	$(BIN)/python -m pip install -q -e ".[dev]" $(QUIET_PIP)
	$(BIN)/python -c "import replicate_widgets"
	@touch $@

install: $(VENV)/.installed

js-install: js/node_modules/.package-lock.json

# Debian's Chromium for the browser tests (Playwright cannot download its own browser here).
chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
	  echo "Installing Debian's chromium for the browser tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	fi

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python scripts/unasync.py --check
	cd js && npm run lint

typecheck: install
	$(BIN)/mypy
	cd js && npm run typecheck

js-test: js-install
	cd js && npm test

# The browser tests run in their own session: Playwright's sync API keeps an
# asyncio loop running on the main thread for as long as the browser is open,
# and every later asyncio.run() in the same process would then fail.
pytest: install chromium
	$(BIN)/python -m pytest --ignore=tests/e2e $(PYTEST_ARGS)
	$(BIN)/python -m pytest tests/e2e $(PYTEST_ARGS)

test: lint typecheck js-test pytest

demo: install
	$(BIN)/python -m replicate_widgets demo --port $(PORT)

# marimo's editor on 127.0.0.1 with a random token (it prints the URL). The kernel
# starts the local backend itself when no token is set (docs/processes.md, "Inside marimo").
demo-marimo: install
	cd notebooks && $(abspath $(BIN))/marimo edit 06-marimo.py --host 127.0.0.1 --port $(MARIMO_PORT) --token

clean:
	rm -rf $(VENV) js/node_modules replicate_widgets/static
