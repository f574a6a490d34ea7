"""The fault suite's own stack: its faults kill Kafka, the store and the services,
so it never shares them with the rest of the session. One stack per test module
(a module is one topology: a single broker, a three-broker cluster, a data folder on a
tmpfs, or FerretDB's SQLite backend)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pymongo import MongoClient

from deploy.local import procs
from deploy.local.stack import UNTHROTTLED, Stack
from deploy.local.tools import free_port, repo_root
from tests.conftest import device_token, signed_in
from tests.faults import harness


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`make test` runs the bounded scenarios; the long ones are left out here, reported as
    deselected (not skipped: nothing in the suite is skipped), and run by `make faults`."""
    if harness.LONG:
        return
    left = [item for item in items if item.get_closest_marker("long_form")]
    if left:
        config.hook.pytest_deselected(items=left)
        items[:] = [item for item in items if not item.get_closest_marker("long_form")]


def new_stack(signing_keys: str, prefix: str, store_backend: str | None = None) -> Stack:
    """A stack on the store every deployment runs (FerretDB on PostgreSQL, unless
    SERAH_STORE_BACKEND says otherwise), or on ``store_backend``."""
    root = repo_root() / ".serah"
    root.mkdir(exist_ok=True)
    return Stack(
        Path(tempfile.mkdtemp(prefix=prefix, dir=root)),
        gateway_port=free_port(),
        partitions=4,
        mongo_db=f"serah_faults_{uuid.uuid4().hex[:8]}",
        signing_keys=signing_keys,
        settings=UNTHROTTLED,
        store_backend=store_backend,
    )


def stop(stack: Stack) -> None:
    for name in list(stack.services):
        procs.stop(stack.services.pop(name))
    stack.stop()
    if not os.environ.get("SERAH_KEEP_TEST_DATA"):
        shutil.rmtree(stack.data, ignore_errors=True)


@contextlib.contextmanager
def running(stack: Stack, tmpfs: tuple[Path, str] | None = None) -> Iterator[Stack]:
    """``stack`` started and healthy, then stopped and its data removed. With ``tmpfs``
    (a folder of its data, a size), that folder is first a tmpfs of that size: a disk
    the test can fill (it must run as root to mount it)."""
    if tmpfs is not None:
        folder, size = tmpfs
        folder.mkdir(parents=True, exist_ok=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], check=True)
    try:
        stack.start_infra()
        stack.start_services()
        stack.wait_healthy(timeout_s=180)
        yield stack
    finally:
        for name in list(stack.services):
            procs.stop(stack.services.pop(name))
        stack.stop()
        if tmpfs is not None:
            subprocess.run(["umount", str(tmpfs[0])], check=False)
        if not os.environ.get("SERAH_KEEP_TEST_DATA"):
            shutil.rmtree(stack.data, ignore_errors=True)


def resize(folder: Path, size: int | str) -> None:
    """A mounted tmpfs given another size (refused below what it holds)."""
    subprocess.run(["mount", "-o", f"remount,size={size}", str(folder)], check=True)


@pytest.fixture(scope="module")
def fault_stack(signing_keys: str) -> Iterator[Stack]:
    """Kafka (one broker), the store, three workers and the gateway, for this module only."""
    with running(new_stack(signing_keys, "faults-")) as stack:
        yield stack


@pytest.fixture(scope="module")
def fault_api(fault_stack: Stack) -> Iterator[httpx.Client]:
    """An operator's device: registers and allocates the laptops the devices scan."""
    with httpx.Client(base_url=fault_stack.url, timeout=30, headers=signed_in(device_token(fault_stack))) as c:
        yield c


@pytest.fixture(scope="module")
def fault_mongo(fault_stack: Stack) -> Iterator[Any]:
    assert fault_stack.store is not None
    client: MongoClient[dict[str, Any]] = MongoClient(fault_stack.store.url, tz_aware=True)
    yield client[fault_stack.mongo_db]
    client.close()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not harness.RESULTS:
        return
    terminalreporter.section("faults: every acknowledged scan recorded exactly once")
    terminalreporter.write_line(harness.table(harness.RESULTS))
    out = repo_root() / ".serah" / "faults-last.json"
    out.write_text(json.dumps([r.row() for r in harness.RESULTS], indent=1))
    terminalreporter.write_line(f"(also in {out})")
