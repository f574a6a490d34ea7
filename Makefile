# The two commands (see README): `make run` and `make test`.
.PHONY: run test crash-points setup lint schemas bench clean

VENV := .venv
PY := $(VENV)/bin/python

setup:
	@bash scripts/setup

run: setup
	@$(VENV)/bin/serah run

test: setup
	@bash scripts/test

# Every worker and the gateway killed at every step of a scan's life (make test runs each step once).
crash-points: setup
	@SERAH_CRASH_POINTS=all bash scripts/test tests/e2e/test_crash_points.py

lint: setup
	@$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check . && $(VENV)/bin/mypy

schemas: setup
	@$(VENV)/bin/serah schemas write

bench: setup
	@$(VENV)/bin/serah bench

clean:
	rm -rf .serah .pytest_cache
