"""PostgreSQL's data folder full, on a stack whose PostgreSQL cluster lives on a tmpfs
the test shrinks to what it already holds: a table or index that must grow, a new WAL
segment, a checkpoint's files then fail with ENOSPC, as on a full disk. PostgreSQL
refuses the statement (``could not extend file``: FerretDB answers InternalError) and,
when the WAL itself cannot be written, stops every session and recovers from its WAL
(a PANIC) — or, when even that cannot be written, exits. The workers wait with their
partitions, the gateway answers 503 with Retry-After, /healthz names the store. Space
returns; a server that exited is started again on the same data (as its service
manager would); every acknowledged scan is recorded exactly once.

Its own stack (the folder must be mounted before the cluster is made): `make faults` only."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from deploy.local.postgres import cluster_folder
from deploy.local.stack import Stack
from tests.faults import harness
from tests.faults.conftest import new_stack, resize, running

pytestmark = [pytest.mark.timeout(900), pytest.mark.long_form]

ROOMY = "2g"


def postgres_folder(stack: Stack) -> Path:
    data = stack.data / "store" / "postgres"
    data.mkdir(parents=True, exist_ok=True)
    return cluster_folder(data)


@pytest.fixture(scope="module")
def fault_stack(signing_keys: str) -> Iterator[Stack]:
    assert os.geteuid() == 0, "the store disk-full fault mounts a tmpfs: run as root"
    stack = new_stack(signing_keys, "faults-store-disk-", store_backend="postgresql")
    with running(stack, (postgres_folder(stack), ROOMY)) as ready:
        yield ready


def postgres_disk_full(stack: Stack, full_s: float, scenario: str) -> None:
    """The cluster's folder shrunk to what it holds for ``full_s``, then roomy again; a
    server that exited meanwhile is started again on the same data."""
    pg = harness.postgres_of(stack)
    folder = pg.cluster
    harness.fill_tmpfs(folder)
    try:
        harness.down_for(full_s, stack, ("the store refuses writes", harness.STORE_DOWN), scenario)
    finally:
        resize(folder, ROOMY)
    deadline = time.monotonic() + 60
    while pg.proc.poll() is None and time.monotonic() < deadline and not harness.healthy(stack):
        time.sleep(0.5)
    if pg.proc.poll() is not None:
        harness.start_postgres_again(pg)


def test_the_store_disk_full_refuses_writes_loses_nothing_and_recovers_when_space_returns(
    fault_stack: Stack, fault_api: httpx.Client, fault_mongo: Any
) -> None:
    outcome = harness.run(
        "store_disk_full",
        fault_stack,
        fault_api,
        fault_mongo,
        lambda: postgres_disk_full(fault_stack, 30.0, "store_disk_full"),
    )
    assert outcome.ok, outcome
