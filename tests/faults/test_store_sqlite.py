"""The store faults again on FerretDB's SQLite backend (SERAH_STORE_BACKEND=sqlite),
where FerretDB's own process holds the data: stopped for the outage and back, killed
mid-write, its disk full. Its own stack: `make faults` only."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from deploy.local.stack import Stack
from tests.faults import harness
from tests.faults.conftest import new_stack, running

pytestmark = [pytest.mark.timeout(900), pytest.mark.long_form]


@pytest.fixture(scope="module")
def fault_stack(signing_keys: str) -> Iterator[Stack]:
    with running(new_stack(signing_keys, "faults-sqlite-", store_backend="sqlite")) as stack:
        yield stack


def test_ferretdb_on_sqlite_stopped_for_a_while_and_back_loses_nothing(
    fault_stack: Stack, fault_api: httpx.Client, fault_mongo: Any
) -> None:
    outcome = harness.run(
        "sqlite_store_stopped_and_back",
        fault_stack,
        fault_api,
        fault_mongo,
        lambda: harness.restart_store(fault_stack, 60.0, signal.SIGTERM, "sqlite_store_stopped_and_back"),
    )
    assert outcome.ok, outcome


def test_ferretdb_on_sqlite_killed_mid_write_loses_nothing(
    fault_stack: Stack, fault_api: httpx.Client, fault_mongo: Any
) -> None:
    def fault() -> None:
        for _ in range(3):
            harness.restart_store(fault_stack, 1.0, signal.SIGKILL)
            time.sleep(5.0)

    outcome = harness.run("sqlite_store_killed_mid_write", fault_stack, fault_api, fault_mongo, fault)
    assert outcome.ok, outcome


def test_ferretdb_on_sqlite_disk_full_refuses_writes_loses_nothing_and_recovers(
    fault_stack: Stack, fault_api: httpx.Client, fault_mongo: Any
) -> None:
    outcome = harness.run(
        "sqlite_store_disk_full",
        fault_stack,
        fault_api,
        fault_mongo,
        lambda: harness.sqlite_disk_full(fault_stack, 30.0, "sqlite_store_disk_full"),
    )
    assert outcome.ok, outcome
