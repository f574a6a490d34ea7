from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(autouse=True)
def _every_message_checked_against_its_schema(wire_watch: Any) -> None:
    """Starts the session's wire check (tests/wire.py) with the first integration test."""
