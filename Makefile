# The two commands (see README): `make run` and `make test`.
.PHONY: run test crash-points faults setup lint schemas bench bench-national fuzz-api clean

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

# Every fault scenario with longer outages, and the three-broker cluster (make test runs a bounded few).
# Run as root: clock jumps preload libfaketime, the broker's disk is a tmpfs, a partition is iptables.
faults: setup
	@bash scripts/ensure-faketime
	@bash scripts/ensure-iptables
	@SERAH_FAULTS=all bash scripts/test tests/faults -p no:randomly

lint: setup
	@$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check . && $(VENV)/bin/mypy

schemas: setup
	@$(VENV)/bin/serah schemas write

# Every figure of the README's benchmark table, in a few minutes (serah bench --help for longer runs).
bench: setup
	@$(VENV)/bin/serah bench --n 5000 --seconds 20 --search-seconds 5 --search-steps 3 --import-rows 5000 --labels 1000

# The reads of a national roll-out at three sizes, extrapolated to 1.2 million laptops (~15-30 min).
bench-national: setup
	@$(VENV)/bin/serah bench-national --sizes 5000,15000,45000

# The schemathesis run of `make test`, long form: many more generated requests per operation.
fuzz-api: setup
	@SERAH_FUZZ_EXAMPLES=$${SERAH_FUZZ_EXAMPLES:-500} bash scripts/test tests/e2e/test_api_conformance.py -p no:randomly

clean:
	rm -rf .serah .pytest_cache
