# The two commands (see README): `make run` and `make test`.
.PHONY: run test setup lint schemas bench clean

VENV := .venv
PY := $(VENV)/bin/python

setup:
	@bash scripts/setup

run: setup
	@$(VENV)/bin/serah run

test: setup
	@bash scripts/test

lint: setup
	@$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check . && $(VENV)/bin/mypy

schemas: setup
	@$(VENV)/bin/serah schemas write

bench: setup
	@$(VENV)/bin/serah bench

clean:
	rm -rf .serah .pytest_cache
