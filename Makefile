# Two commands matter: `make run` and `make test`. Everything else is a helper of theirs.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-sqlite test-postgres install postgres chromium tesseract bench content-check chat clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

## Run the service on embedded defaults: SQLite file, demo content, no tokens needed.
## The demo mentor roster is (re-)imported so cases have someone to go to; re-importing never duplicates.
run: $(STAMP)
	$(BIN)/umkm-bot mentors import content/handoff/demo_mentors.csv
	$(BIN)/umkm-bot run

## Run every test, on SQLite and on a real local PostgreSQL server (installed and started if missing).
## Two pytest-xdist workers (one per core of the CI machine), each test file on one worker;
## `make test PYTEST_WORKERS=0` runs them all in one process.
PYTEST_WORKERS ?= 2
test: $(STAMP) postgres chromium tesseract
	$(BIN)/umkm-bot content check
	TEST_POSTGRES_URL=$$(scripts/postgres-test-server url) $(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

postgres:
	scripts/postgres-test-server start

chromium:
	scripts/install-chromium

tesseract:
	scripts/install-tesseract

content-check: $(STAMP)
	$(BIN)/umkm-bot content check

bench: $(STAMP) postgres
	TEST_POSTGRES_URL=$$(scripts/postgres-test-server url) $(BIN)/python bench/run_all.py

chat: $(STAMP)
	$(BIN)/umkm-bot chat --user demo

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
