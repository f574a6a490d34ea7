"""Test infrastructure. The suite starts its own Kafka and MongoDB-wire server
on free loopback ports once per session, and the whole Serah stack (three
workers + gateway, real processes) for the end-to-end tests. Every test makes
its own data with random ids; nothing is wiped between tests."""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from pymongo import MongoClient

from deploy.local.stack import UNTHROTTLED, Stack, public_keyring
from deploy.local.tools import free_port
from events import labels

LEVELS = ("unit", "contract", "integration", "e2e", "faults")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        for level in LEVELS:
            if f"{os.sep}{level}{os.sep}" in str(item.fspath):
                item.add_marker(getattr(pytest.mark, level))


@pytest.fixture(scope="session")
def signing_keys() -> str:
    return labels.format_keyring({"T1": secrets.token_bytes(32), "T0": secrets.token_bytes(32)})


@pytest.fixture(scope="session")
def public_keys(signing_keys: str) -> dict[str, bytes]:
    return labels.parse_keyring(public_keyring(signing_keys))


@pytest.fixture(scope="session")
def stack_dir() -> Iterator[Path]:
    root = Path(__file__).resolve().parents[1] / ".serah"
    root.mkdir(exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix="test-", dir=root))
    yield path
    if not os.environ.get("SERAH_KEEP_TEST_DATA"):
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def infra(stack_dir: Path, signing_keys: str) -> Iterator[Stack]:
    """Kafka + store, started once for the session on free ports."""
    stack = Stack(
        stack_dir,
        gateway_port=free_port(),
        partitions=4,
        mongo_db=f"serah_test_{uuid.uuid4().hex[:8]}",
        signing_keys=signing_keys,
        settings=UNTHROTTLED,
    )
    try:
        stack.start_infra()
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="session")
def stack(infra: Stack) -> Iterator[Stack]:
    """The whole Serah stack: workers and gateway as real processes."""
    infra.start_services()
    infra.wait_healthy(timeout_s=180)
    yield infra
    for name in list(infra.services):
        from deploy.local import procs

        procs.stop(infra.services.pop(name))


ALL_ROLES = ("admin", "operator", "warehouse", "recipient", "holder", "auditor")


def device_token(
    stack: Stack,
    roles: tuple[str, ...] = ALL_ROLES,
    scope: str = "*",
    name: str = "tests",
    *,
    mongo_db: str | None = None,
) -> str:
    """A device enrolled in ``stack``'s store (or its database ``mongo_db``) from the
    server's shell, as an administrator would (``serah admin enrol-device``): its bearer token."""
    from services.cli.admin import enrol_device
    from services.gateway.auth.model import Grant

    assert stack.store is not None and stack.kafka is not None
    grants = [Grant.model_validate({"role": r, "scope": scope}) for r in roles]
    enrol = enrol_device(stack.store.url, mongo_db or stack.mongo_db, name, grants, stack.kafka.bootstrap)
    # In a thread of its own: a test may hold a running event loop in this one (Playwright's
    # sync API does), where asyncio.run cannot start another.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, enrol).result()


def signed_in(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="session")
def token(stack: Stack) -> str:
    """What the e2e tests act as unless they say otherwise: a device holding every role."""
    return device_token(stack)


@pytest.fixture(scope="session")
def mongo(infra: Stack) -> Iterator[Any]:
    assert infra.store is not None
    client: MongoClient[dict[str, Any]] = MongoClient(infra.store.url, tz_aware=True)
    yield client[infra.mongo_db]
    client.close()


def eventually(
    check: Callable[[], Any], timeout_s: float = 20, interval_s: float = 0.1, what: str = "condition"
) -> Any:
    """Polls ``check`` until it returns something truthy, with a deadline."""
    deadline = time.monotonic() + timeout_s
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval_s)
    raise AssertionError(f"{what} not reached within {timeout_s}s (last: {last!r})")


def new_serial() -> str:
    return "SN" + uuid.uuid4().hex[:12].upper()


@pytest.fixture(scope="session")
def wire_watch(infra: Stack) -> Iterator[Any]:
    """Checks every message crossing Kafka in this session against its JSON Schema
    (tests/wire.py); the session fails at its end if any was invalid."""
    from tests.wire import WireWatch

    assert infra.kafka is not None
    watch = WireWatch(infra.kafka.bootstrap).start()
    yield watch
    watch.drain()
    watch.verdict()
