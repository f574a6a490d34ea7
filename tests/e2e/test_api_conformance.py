"""The running gateway against its own OpenAPI document, with schemathesis: every
operation, generated valid and invalid requests, and every check schemathesis has
(server errors, status codes, content types, response schemas and headers,
negative data rejected, valid data accepted, undeclared methods, …) plus ours:
a problem body's status and title are those of its response.

Generated ids rarely name anything, so a generated id that is well formed is
swapped for one of a real laptop, consignment (dispatched and received, with a
BAST) and scan made here: the 200 answers are checked too, and commands are
decided at once instead of waiting on a subject nobody has heard of.

``SERAH_FUZZ_EXAMPLES`` sets the examples per operation (``make fuzz-api`` runs
the long form). The short form in ``make test`` draws the same requests every run, so
a red build is the code's doing; the long form draws new ones each time."""

from __future__ import annotations

import os
import re
import socket
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.config import SchemathesisConfig

from deploy.local.stack import Stack
from events import labels
from events.catalog import CONSIGNMENT_ID
from events.envelope import SAFE_ID
from tests.conftest import device_token, eventually, signed_in
from tests.e2e.test_consignment_journey import OFFICIAL
from tests.e2e.test_consignment_races import dispatched, receipt

OPENAPI = Path(__file__).resolve().parents[2] / "schemas" / "http" / "openapi.json"
EXAMPLES = int(os.environ.get("SERAH_FUZZ_EXAMPLES", "25"))
# The same document asked anonymously and as each role alone: fewer examples each.
ROLE_EXAMPLES = max(2, EXAMPLES // 8)
CALLERS = ["anonymous", "admin", "operator", "warehouse", "recipient", "holder", "auditor"]
LONG_FORM = "SERAH_FUZZ_EXAMPLES" in os.environ
CONFIG = SchemathesisConfig.from_dict(
    {
        "checks": {
            # 422 is this API's answer to a well-formed command the domain refuses where no
            # schema can say it (a forged label signature, a region code that is no office).
            # 401 and 429: well-formed credentials that are wrong, or an account locked by them.
            "positive_data_acceptance": {"expected-statuses": ["2xx", "401", "403", "404", "409", "422", "429"]},
            # 413: a body over the size limit is refused before it is read.
            "negative_data_rejection": {"expected-statuses": ["400", "403", "404", "405", "409", "413", "415", "422"]},
        }
    }
)
schema = schemathesis.openapi.from_path(OPENAPI, config=CONFIG)
# A PDF to check is sent as its bytes, like any file.
schemathesis.serializer.alias("application/pdf", "application/octet-stream")


@schemathesis.check
def problem_status_agrees_with_response(ctx: Any, response: Any, case: Any) -> bool | None:
    """A refusal's body says the status of the response that carries it."""
    if not response.headers.get("content-type", [""])[0].startswith("application/problem+json"):
        return None
    body = response.json()
    expected = (response.status_code, HTTPStatus(response.status_code).phrase)
    assert (body.get("status"), body.get("title")) == expected, f"problem body says {body.get('status')}"
    return None


load_all_checks()
CHECKS_ALL = [CHECKS.get_one(name) for name in CHECKS.get_all_names()]


@pytest.fixture(scope="module")
def real(stack: Stack, token: str) -> dict[str, str]:
    """Ids of things that exist: a laptop, a received consignment with its BAST, a decided scan."""
    with httpx.Client(base_url=stack.url, timeout=30, headers=signed_in(token)) as api:
        cid, code, units = dispatched(api, 1, [OFFICIAL])
        body = receipt(units, OFFICIAL, code)
        done = api.post(f"/api/v1/consignments/{cid}/receipt", json=body)
        assert done.status_code == 200, done.text
        eventually(lambda: api.get(f"/api/v1/consignments/{cid}/bast.pdf").status_code == 200, what="BAST")
        return {"asset_id": units[0]["asset_id"], "consignment_id": cid, "scan_id": body["receipt_id"]}


PATTERNS = {"asset_id": labels.ASSET_ID.pattern, "consignment_id": CONSIGNMENT_ID, "scan_id": SAFE_ID}


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=not LONG_FORM, suppress_health_check=list(HealthCheck))
def test_the_gateway_answers_as_its_openapi_document_says(
    case: Any, stack: Stack, real: dict[str, str], token: str
) -> None:
    for name, value in (case.path_parameters or {}).items():
        if name in real and isinstance(value, str) and re.fullmatch(PATTERNS[name], value):
            case.path_parameters[name] = real[name]
    case.call_and_validate(base_url=stack.url, checks=CHECKS_ALL, timeout=60, headers=signed_in(token))


@pytest.fixture(scope="module")
def callers(stack: Stack) -> dict[str, dict[str, str]]:
    """Headers for each caller: none for anonymous, else a device holding that one role."""
    heads = {"anonymous": {}}
    for role in CALLERS[1:]:
        heads[role] = signed_in(device_token(stack, (role,), name=f"fuzz {role}"))
    return heads


# Whether valid data is accepted is the all-roles run's question; here a refusal of who
# is asking (401, 403) is the right answer, so those two data checks are left out.
CHECKS_BY_ROLE = [c for c in CHECKS_ALL if c.__name__ not in ("positive_data_acceptance", "negative_data_rejection")]


@pytest.mark.parametrize("who", CALLERS)
@schema.parametrize()
@settings(max_examples=ROLE_EXAMPLES, deadline=None, derandomize=not LONG_FORM, suppress_health_check=list(HealthCheck))
def test_the_gateway_answers_as_documented_to_anyone_and_to_each_role(
    case: Any, who: str, stack: Stack, real: dict[str, str], callers: dict[str, dict[str, str]]
) -> None:
    """No 5xx, every status and body as documented (401 and 403 included), whoever asks."""
    for name, value in (case.path_parameters or {}).items():
        if name in real and isinstance(value, str) and re.fullmatch(PATTERNS[name], value):
            case.path_parameters[name] = real[name]
    case.call_and_validate(base_url=stack.url, checks=CHECKS_BY_ROLE, timeout=60, headers=callers[who])


def test_an_over_long_query_is_answered_with_a_reason_not_a_dropped_connection(stack: Stack, token: str) -> None:
    # ~200 KiB of query: more than one read of the socket and more than h11's 16 KiB default.
    # Sent by hand: HTTP clients refuse to build a URL this long.
    query = "&".join(f"asset_id=SRH{n:010d}x" for n in range(10_000))
    url = urlsplit(stack.url)
    with socket.create_connection((url.hostname, url.port), timeout=30) as conn:
        auth = f"Authorization: Bearer {token}"
        conn.sendall(
            f"GET /api/v1/labels?{query} HTTP/1.1\r\nHost: {url.netloc}\r\n{auth}\r\nConnection: close\r\n\r\n".encode()
        )
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 422"), head
    assert b'"code":"invalid_request"' in body
