"""The session's wire check judges each Kafka message by its JSON Schema and
fails the session on any invalid one: shown here with messages made to fail."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from events import codec, topics
from events.catalog import MessageDeadLettered
from tests.builders import allocate, dispatch, new_asset, register
from tests.wire import INJECTED, Finding, WireWatch, judge, validators

KNOWN = validators()


def wire(envelope: codec.Envelope) -> bytes:
    return codec.encode(envelope)


def dead_letter(subject: str) -> bytes:
    body = MessageDeadLettered(
        topic=topics.EVENTS,
        partition=0,
        offset=7,
        service="audit",
        reason="handler_failed",
        detail="boom",
        payload="x",
    )
    return wire(codec.make(body, subject=subject, source="/serah/audit", time=datetime.now(UTC), id=f"dl-{subject}"))


def test_every_schema_in_the_folder_is_a_valid_schema_with_a_validator() -> None:
    assert len(KNOWN) >= 27 and "id.serah.laptop.dispatched.v1" in KNOWN


def test_messages_the_services_make_are_valid() -> None:
    serial, asset = new_asset()
    for envelope in (register(serial, asset), allocate(asset), dispatch(asset)):
        assert judge(KNOWN, topics.EVENTS, asset.encode(), wire(envelope)) is None


def test_a_message_with_a_wrong_field_is_named_with_the_field() -> None:
    _, asset = new_asset()
    doc = json.loads(wire(allocate(asset)))
    doc["data"]["office_code"] = 12
    why = judge(KNOWN, topics.ALLOCATION_COMMANDS, asset.encode(), json.dumps(doc).encode())
    assert why is not None and "data/office_code" in why


def test_an_extra_envelope_field_an_unknown_type_and_non_json_are_each_invalid() -> None:
    _, asset = new_asset()
    doc = json.loads(wire(dispatch(asset)))
    assert judge(KNOWN, topics.EVENTS, b"k", json.dumps({**doc, "sneaky": 1}).encode()) is not None
    assert "no schema" in (judge(KNOWN, topics.EVENTS, b"k", json.dumps({**doc, "type": "com.evil.v1"}).encode()) or "")
    assert judge(KNOWN, topics.EVENTS, b"k", b"{not json") == "not JSON"
    assert judge(KNOWN, topics.EVENTS, b"k", b"[1, 2]") == "not an envelope with a type"


def test_garbage_tagged_as_injected_and_the_dead_letters_about_it_are_not_judged() -> None:
    key = f"{INJECTED}-POISON-1".encode()
    assert judge(KNOWN, topics.EVENTS, key, b"\xff\xfe binary") is None
    assert judge(KNOWN, topics.DEAD_LETTERS, key, dead_letter(key.decode())) is None
    doc = json.loads(wire(allocate(new_asset()[1])))
    doc["id"], doc["data"] = f"{INJECTED}-bad-1", {"office_code": ["x"]}
    assert judge(KNOWN, topics.ALLOCATION_COMMANDS, b"SRHPPSKGESNAC", json.dumps(doc).encode()) is None


def test_a_worker_dead_lettering_an_untagged_message_is_a_finding() -> None:
    why = judge(KNOWN, topics.DEAD_LETTERS, b"SRHPPSKGESNAC", dead_letter("SRHPPSKGESNAC"))
    assert why is not None and "dead-lettered by audit: handler_failed" in why


def test_the_verdict_fails_the_session_when_anything_was_invalid() -> None:
    watch = WireWatch("127.0.0.1:9")
    watch.verdict()  # nothing read, nothing wrong
    watch.findings.append(Finding(topics.EVENTS, 2, 41, "id.serah.laptop.allocated.v1: data/office_code: bad"))
    with pytest.raises(
        AssertionError, match=r"(?s)1 message\(s\) on Kafka do not match.*" + re.escape(f"{topics.EVENTS}[2]@41")
    ):
        watch.verdict()


def test_a_session_whose_wire_check_finds_an_invalid_message_exits_as_failed(tmp_path: Path) -> None:
    # The same shape as the session fixture in tests/conftest.py: the verdict runs at teardown.
    (tmp_path / "conftest.py").write_text(
        "import pytest\n"
        "from tests.wire import Finding, WireWatch\n"
        "@pytest.fixture(scope='session', autouse=True)\n"
        "def wire_watch():\n"
        "    watch = WireWatch('127.0.0.1:9')\n"
        "    yield watch\n"
        f"    watch.findings.append(Finding({topics.EVENTS!r}, 0, 3, 'not JSON'))\n"
        "    watch.verdict()\n"
    )
    (tmp_path / "test_passing.py").write_text("def test_passes():\n    assert True\n")
    root = Path(__file__).resolve().parents[2]
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 1, run.stdout + run.stderr
    assert "ERROR at teardown" in run.stdout and "do not match their JSON Schema" in run.stdout, run.stdout
