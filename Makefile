# Two commands on a fresh machine with Python 3.11 and make:  `make run`  and  `make test`.
# `make test-clients` also needs npm (any Node >= 20) and the npm registry.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# The origin of every link Gatehouse gives out: the URLs `make run` prints, the Connect snippets, the
# OAuth metadata, the 401's resource_metadata, invitation and reset mail. Unset, it follows HOST and
# PORT (0.0.0.0 and :: listen everywhere, so the link uses loopback); behind a proxy, set it.
PUBLIC_URL ?= http://$(if $(filter 0.0.0.0,$(HOST)),127.0.0.1,$(if $(filter ::,$(HOST)),[::1],$(if $(findstring :,$(HOST)),[$(HOST)],$(HOST)))):$(PORT)

.PHONY: run test test-clients lint format install install-dev install-clients migrate seed clean bench messages screenshots \
	reliability

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt $(VENV)/.installed
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

migrate: install
	$(BIN)/python manage.py migrate --noinput

seed: migrate
	$(BIN)/python manage.py seed_demo

seed run: export PUBLIC_URL := $(PUBLIC_URL)

## Serve Gatehouse on http://$(HOST):$(PORT) (127.0.0.1:8000 unless given; SQLite by default, demo data seeded).
run: seed
	$(BIN)/python -m uvicorn config.asgi:application --host $(HOST) --port $(PORT)

## Lint and type-check, then the whole test suite (SQLite unless DATABASE_URL says otherwise), browser
## journeys included; the real MCP clients have their own target, test-clients.
test: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -m "not clients" $(PYTEST_ARGS)

## Node 22 and the pinned MCP clients of tests/clients (npm registry; nothing global). A no-op when current.
install-clients:
	.ci/node.sh

## The MCP conformance suite, the MCP Inspector and the TypeScript SDK against real Gatehouse servers.
test-clients: install-dev install-clients
	$(BIN)/python -m pytest -m clients $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## Re-extract the English and Russian catalogs (locale/) after changing strings; needs GNU gettext
## (apt-get install gettext), unlike `make run`/`make test`, which compile the catalogs in pure Python.
messages: install
	$(BIN)/python manage.py makemessages -l en -l ru --add-location=file --no-obsolete \
		--ignore=.venv --ignore=bench --ignore=tests --ignore=staticfiles --ignore=docs
	$(BIN)/python -m config.catalogs

## The user guide's screenshots (docs/images/, English and Russian): its own server on a free loopback
## port and a fresh SQLite demo database, headless Chromium at 1280 px; the server is stopped after.
screenshots: install-dev
	$(BIN)/python -m tests.browser.guide_screenshots

## Gatehouse's MCP endpoint vs a bare mcp SDK server, with wrk (apt-get install wrk); BENCHMARKS.md.
## ~17 minutes with the defaults; e.g. BENCH_ARGS="--db sqlite --targets whoami --rounds 3".
bench: install
	$(BIN)/python -m bench.run $(BENCH_ARGS)

## Issue 11's reliability suite (tests/reliability/, not pytest): a private PostgreSQL cluster and Redis on free
## loopback ports (Debian's postgresql-15 and redis-server; never the shared ones), two Gatehouse processes,
## revocation, rate limits, MCP clients, faults under load and a soak; prints a table, fails if a row does.
## 5 to 9 minutes on 2 shared cores; RELIABILITY_ARGS="--quick" is a 3-minute smoke run.
reliability: install-dev
	$(BIN)/python -m tests.reliability $(RELIABILITY_ARGS)

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache .mypy_cache tests/clients/node_modules
