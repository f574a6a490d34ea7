"""No secret in a log line: a receipt confirmation logs no receipt code at the gateway
or at handover, and what every process's handlers write (``services.common.logs``)
has label signatures, codes, passwords and tokens blanked, even in an exception
that quotes a command or an access-log path that carries a label."""

from __future__ import annotations

import asyncio
import io
import logging
import logging.config
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from events import codec, topics
from events.catalog import RejectionReason
from events.envelope import Envelope
from services.common import logs
from services.common.worker import process_safely
from tests.builders import OFFICIAL, RECEIPT_CODE, confirm_receipt, label_for, new_asset
from tests.fakes import FakePublisher
from tests.gateway_fakes import client, rejecting
from tests.unit.test_receipts import World

CODE = "Q7RX4KPM"  # a receipt code as an official types it
_, ASSET = new_asset()
LABEL = label_for(ASSET)
SIGNATURE = LABEL.rsplit("/", 1)[1]


@contextmanager
def written_logs(config: dict[str, Any]) -> Iterator[io.StringIO]:
    """Every process's log as ``config`` writes it, into one buffer, for the test's duration."""
    out = io.StringIO()
    loggers = [logging.getLogger(n) for n in ("", "services", "uvicorn", "uvicorn.error", "uvicorn.access")]
    saved = [(lg, lg.handlers[:], lg.level, lg.propagate) for lg in loggers]
    patched = {**config, "disable_existing_loggers": False}
    for handler in patched["handlers"].values():
        handler["stream"] = out
    try:
        logging.config.dictConfig(patched)
        yield out
    finally:
        for lg, handlers, level, propagate in saved:
            lg.handlers[:], lg.level, lg.propagate = handlers, level, propagate


# --- what is logged ----------------------------------------------------------------------------


def test_a_receipt_confirmation_at_the_gateway_logs_no_receipt_code(caplog: pytest.LogCaptureFixture) -> None:
    body = {
        "receipt_id": "r-1",
        "official": OFFICIAL,
        "receipt_code": CODE,
        "lines": [{"asset_id": ASSET, "condition": "B", "note": ""}],
    }

    async def run() -> list[httpx.Response]:
        async with client(rejecting(RejectionReason.RECEIPT_CODE_INVALID)) as api:
            return [
                await api.post("/api/v1/consignments/KSB-73.71-001/receipt", json=body),
                await api.post("/api/v1/consignments/KSB-73.71-001/receipt", json=body | {"lines": "x"}),
                await api.post("/api/v1/consignments/KSB-73.71-001/manifest.pdf", json={"receipt_code": CODE}),
            ]

    caplog.set_level(logging.DEBUG)
    with written_logs(logs.gateway_config("DEBUG")) as written:
        refused, invalid, manifest = asyncio.run(run())
    assert (refused.status_code, invalid.status_code, manifest.status_code) == (403, 422, 404)
    assert CODE not in caplog.text and CODE not in written.getvalue()
    assert CODE not in invalid.text  # a refused body is not echoed back either


def test_a_receipt_confirmation_at_handover_logs_no_receipt_code(caplog: pytest.LogCaptureFixture) -> None:
    w = World()
    caplog.set_level(logging.DEBUG)
    with written_logs(logs.worker_config("DEBUG")) as written:
        (a,) = w.dispatched(1)
        wrong = w.confirm(confirm_receipt("C-1", [(a, "B", "")], code=CODE))
        right = w.confirm(confirm_receipt("C-1", [(a, "B", "")]))
    assert wrong.data["reason"] == "receipt_code_invalid" and right.data["complete"] is True
    for code in (CODE, RECEIPT_CODE):
        assert code not in caplog.text and code not in written.getvalue()


def test_a_handler_failure_quoting_its_command_is_logged_without_the_code() -> None:
    command = confirm_receipt("C-1", [(ASSET, "B", "")], code=CODE)

    async def fails(envelope: Envelope) -> None:
        raise ValueError(f"cannot handle {envelope!r}")  # an exception that quotes what it got

    with written_logs(logs.worker_config()) as written:
        asyncio.run(
            process_safely(
                service="handover",
                raw=codec.encode(command),
                key=b"C-1",
                topic=topics.HANDOVER_COMMANDS,
                partition=0,
                offset=3,
                handle=fails,
                publisher=FakePublisher(),
            )
        )
    text = written.getvalue()
    assert f"handler failed on {topics.HANDOVER_COMMANDS}[0]@3" in text and "ValueError: cannot handle" in text
    assert CODE not in text and "'receipt_code': '[redacted]'" in text


def test_the_access_log_keeps_a_label_path_but_not_its_signature() -> None:
    path = LABEL[LABEL.index("/L/") :]
    with written_logs(logs.gateway_config()) as written:
        # the record uvicorn's access logger makes: client, method, path with query, HTTP version, status
        args = ("203.0.113.7:50211", "GET", f"{path}?receipt_code={CODE}&seq=2", "1.1", 200)
        logging.getLogger("uvicorn.access").info('%s - "%s %s HTTP/%s" %d', *args)
    line = written.getvalue()
    assert f'"GET {path.rsplit("/", 1)[0]}/[redacted]?receipt_code=[redacted]&seq=2 HTTP/1.1" 200' in line
    assert SIGNATURE not in line and CODE not in line


# --- what redact() blanks ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (LABEL, LABEL.rsplit("/", 1)[0] + "/[redacted]"),
        (f"GET /l/{ASSET}/1k1/{SIGNATURE.lower()}/ ok", f"GET /l/{ASSET}/1k1/[redacted]/ ok"),
        (f"{{'receipt_code': '{CODE}', 'x': 1}}", "{'receipt_code': '[redacted]', 'x': 1}"),
        (f'{{"receipt_code":"{CODE}","lines":[]}}', '{"receipt_code":"[redacted]","lines":[]}'),
        (f"ConfirmReceipt(receipt_code='{CODE}')", "ConfirmReceipt(receipt_code='[redacted]')"),
        (f"/manifest?receipt_code={CODE}&seq=1", "/manifest?receipt_code=[redacted]&seq=1"),
        ("password=hunter2 and more", "password=[redacted] and more"),
        ('{"password": "hunter2"}', '{"password": "[redacted]"}'),
        ("Authorization: Bearer eyJhbGciOi.x.y", "Authorization: [redacted]"),
        ("access_token=abc123&x=1", "access_token=[redacted]&x=1"),
        ("'session_token': 'abc'", "'session_token': '[redacted]'"),
        ("label_signing_keys='K1:AAAA'", "label_signing_keys='[redacted]'"),
        (
            "receipt_code\n  String should have at most 64 characters "
            f"[type=string_too_long, input_value='{CODE}', input_type=str]",
            "receipt_code\n  String should have at most 64 characters "
            "[type=string_too_long, input_value=[redacted], input_type=str]",
        ),
    ],
)
def test_secrets_are_blanked(text: str, expected: str) -> None:
    assert logs.redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        f"GET /api/v1/laptops/{ASSET}/history HTTP/1.1",
        "GET /L/../../etc/1K1/AAAA HTTP/1.1",  # not a label: a traversal stays as received, for investigation
        "GET /L/x/../../../../etc/passwd/1K1/AAAA HTTP/1.1",
        "status_code=429 code=rate_limited",
        "'receipt_code_hash': 'ab12'",
        "KeyError: 'receipt_code'",
        f"dispatching {ASSET} in consignment KSB-73.71-001",
    ],
)
def test_what_is_no_secret_is_left_as_it_is(text: str) -> None:
    assert logs.redact(text) == text
