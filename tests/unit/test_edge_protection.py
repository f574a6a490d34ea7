"""What stands around every request, in-process through ``create_app`` with fakes:
the security headers on pages, API answers and errors, CORS closed unless origins
are listed, and the rate limits answering 429 with when to try again."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
from typing import Any

import httpx
import pytest
from fastapi import Depends, FastAPI, Request
from pydantic import ValidationError

from events.catalog import RejectionReason
from services.cli.main import openapi_document
from services.gateway.protection.ratelimit import LOGINS, client_address, limit
from tests.builders import label_for, new_asset
from tests.gateway_fakes import enrolled, gateway_app, rejecting, settings

BASE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
EVERY_RESPONSE = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "permissions-policy": "camera=(self), microphone=(), geolocation=(), payment=(), usb=()",
}
ORIGIN = "https://pemda.example.go.id"


def app(**overrides: Any) -> FastAPI:
    return gateway_app(rejecting(RejectionReason.NOT_DISPATCHED), settings(**overrides))


def send(
    gateway: FastAPI, *requests: tuple[str, str, dict[str, Any]], client: tuple[str, int] = ("127.0.0.1", 50000)
) -> list[httpx.Response]:
    """Each (method, path, httpx keyword arguments) in turn, from ``client``; a 500 is answered, not raised."""

    async def run() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=gateway, raise_app_exceptions=False, client=client)
        device = {"Authorization": f"Bearer {enrolled(gateway.state.gateway.identity.store)}"}  # every role
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test", headers=device) as api:
            return [await api.request(method, path, **kw) for method, path, kw in requests]

    return asyncio.run(run())


def get(gateway: FastAPI, path: str, **kw: Any) -> httpx.Response:
    return send(gateway, ("GET", path, kw))[0]


def scan(n: int = 0) -> tuple[str, str, dict[str, Any]]:
    _, asset = new_asset()
    return ("POST", "/api/v1/scans/dispatch", {"json": {"scan_id": f"s-{n}-{asset}", "label": label_for(asset)}})


def with_a_failing_route(gateway: FastAPI) -> FastAPI:
    @gateway.get("/test/fails", include_in_schema=False)
    async def fails() -> None:
        raise RuntimeError("a bug")

    return gateway


# --- security headers ------------------------------------------------------------------------

_, ASSET = new_asset()
ANSWERS = {
    "a page": ("GET", "/", {}, 200),
    # a genuine label of a laptop the empty views do not hold: its warning page
    "a label page": ("GET", "/L/" + label_for(ASSET).split("/L/", 1)[1], {}, 400),
    "an API answer": ("GET", "/api/v1/offices/73.71", {}, 200),
    "a stylesheet": ("GET", "/static/web/serah.css", {}, 200),
    "a refusal (404)": ("GET", "/api/v1/laptops/SRHPPSKGESNAC", {}, 404),
    "a refusal (422)": ("POST", "/api/v1/scans/dispatch", {"json": {}}, 422),
    "a refusal (405)": ("DELETE", "/api/v1/offices", {}, 405),
    "a refusal (413)": ("POST", "/api/v1/laptops", {"content": b"x" * 70_000}, 413),
    "a server error (500)": ("GET", "/test/fails", {}, 500),
}


@pytest.mark.parametrize("name", ANSWERS)
def test_every_response_carries_the_security_headers(name: str) -> None:
    method, path, kw, status = ANSWERS[name]
    r = send(with_a_failing_route(app()), (method, path, kw))[0]
    assert r.status_code == status, (name, r.text[:200])
    assert r.headers["content-security-policy"] == BASE_CSP, name
    assert {k: r.headers.get(k) for k in EVERY_RESPONSE} == EVERY_RESPONSE, name
    assert "strict-transport-security" not in r.headers  # the public base URL is http


def test_hsts_is_sent_only_when_the_public_base_url_is_https() -> None:
    r = get(app(public_base_url="https://serah.example.go.id"), "/api/v1/offices/73.71")
    assert r.headers["strict-transport-security"] == "max-age=31536000"
    assert "strict-transport-security" not in get(app(public_base_url="http://10.0.0.5:8000"), "/").headers


def test_the_api_docs_allow_their_own_start_up_script_by_its_hash_and_nothing_else_inline() -> None:
    r = get(app(), "/docs")
    (inline,) = re.findall(r"<script>(.*?)</script>", r.text, re.DOTALL)
    digest = base64.b64encode(hashlib.sha256(inline.encode()).digest()).decode()
    directives = dict(d.split(" ", 1) for d in r.headers["content-security-policy"].split("; "))
    assert directives["script-src"] == f"'self' 'sha256-{digest}'"
    assert directives["img-src"] == "'self' data:"
    assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'"
    assert r.headers["x-frame-options"] == "DENY"


def test_the_api_reference_may_run_its_search_worker_and_no_inline_script() -> None:
    r = get(app(), "/redoc")
    assert "<script>" not in r.text
    directives = dict(d.split(" ", 1) for d in r.headers["content-security-policy"].split("; "))
    assert directives["script-src"] == "'self'"
    assert directives["worker-src"] == "'self' blob:"
    assert directives["img-src"] == "'self' data:"


# --- CORS --------------------------------------------------------------------------------------


def preflight(origin: str, method: str = "POST") -> tuple[str, str, dict[str, Any]]:
    headers = {
        "Origin": origin,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "content-type,idempotency-key",
    }
    return ("OPTIONS", "/api/v1/laptops/SRHPPSKGESNAC/allocation", {"headers": headers})


def test_cors_is_closed_when_no_origin_is_listed() -> None:
    simple, pre = send(app(), ("GET", "/api/v1/offices/73.71", {"headers": {"Origin": ORIGIN}}), preflight(ORIGIN))
    assert simple.status_code == 200
    for r in (simple, pre):
        assert not any(h.startswith("access-control-") for h in r.headers), dict(r.headers)
    assert pre.status_code == 405


def test_a_listed_origin_may_call_the_api_with_credentials_and_read_its_answers() -> None:
    gateway = app(cors_origins=f"{ORIGIN}, https://dinas.example.go.id")
    simple, pre = send(gateway, ("GET", "/api/v1/offices/73.71", {"headers": {"Origin": ORIGIN}}), preflight(ORIGIN))
    assert simple.headers["access-control-allow-origin"] == ORIGIN
    assert simple.headers["access-control-allow-credentials"] == "true"
    assert {"Location", "Retry-After"} <= set(simple.headers["access-control-expose-headers"].split(", "))
    assert pre.status_code == 200
    assert pre.headers["access-control-allow-origin"] == ORIGIN
    assert pre.headers["access-control-allow-credentials"] == "true"
    assert "POST" in pre.headers["access-control-allow-methods"]
    assert "idempotency-key" in pre.headers["access-control-allow-headers"].lower()


def test_a_listed_origin_can_read_a_rate_limit_refusal_and_when_to_try_again() -> None:
    gateway = app(cors_origins=ORIGIN, rate_requests_per_s=0.01, rate_requests_burst=1)  # no refill mid-test
    _, refused = send(gateway, *[("GET", "/api/v1/offices/73.71", {"headers": {"Origin": ORIGIN}})] * 2)
    assert refused.status_code == 429
    assert refused.headers["access-control-allow-origin"] == ORIGIN
    assert "Retry-After" in refused.headers["access-control-expose-headers"]


def test_an_origin_not_listed_gets_no_cors_headers_even_when_others_are_listed() -> None:
    gateway = app(cors_origins=ORIGIN)
    other = "https://evil.example.com"
    simple, pre = send(gateway, ("GET", "/api/v1/offices/73.71", {"headers": {"Origin": other}}), preflight(other))
    for r in (simple, pre):
        assert not any(h.startswith("access-control-") for h in r.headers), dict(r.headers)
        assert "Origin" in r.headers["vary"]  # a shared cache keeps each origin's answer apart
    assert pre.status_code == 405  # as on a gateway with CORS closed


@pytest.mark.parametrize(
    "origins", ["*", "https://a.example/", "https://a.example/app", "a.example", "ftp://a.example"]
)
def test_a_cors_setting_that_is_not_a_list_of_origins_is_refused_at_start(origins: str) -> None:
    with pytest.raises(ValidationError, match="SERAH_CORS_ORIGINS"):
        settings(cors_origins=origins)


# --- rate limits -------------------------------------------------------------------------------


def test_scans_over_the_limit_are_refused_with_429_saying_when_to_try_again() -> None:
    gateway = app(rate_scans_per_s=0.01, rate_scans_burst=2)
    first, second, third = send(gateway, scan(1), scan(2), scan(3))
    assert first.status_code == second.status_code == 409  # decided (refused by the fake), not limited
    assert third.status_code == 429
    assert third.headers["content-type"] == "application/problem+json"
    # A token refills in 100 s, less what passed since the burst began (seconds, on a loaded machine).
    wait = int(third.headers["retry-after"])
    assert 90 <= wait <= 100
    body = third.json()
    assert body["code"] == "rate_limited" and body["status"] == 429 and body["title"] == "Too Many Requests"
    assert body["detail"] == f"Too many scans: the limit is 0.6 a minute, 2 at once. Try again in {wait} seconds."
    assert third.headers["x-content-type-options"] == "nosniff"
    assert len(gateway.state.gateway.bus.sent) == 2  # the refused scan never reached Kafka


def test_a_scan_limit_leaves_other_requests_and_other_clients_alone() -> None:
    gateway = app(rate_scans_per_s=0.01, rate_scans_burst=1)
    _, limited, office = send(gateway, scan(1), scan(2), ("GET", "/api/v1/offices/73.71", {}))
    assert limited.status_code == 429 and office.status_code == 200
    (elsewhere,) = send(gateway, scan(3), client=("10.0.0.9", 40000))
    assert elsewhere.status_code == 409


def test_bulk_imports_and_every_other_request_have_limits_of_their_own() -> None:
    # Rates this slow that nothing refills while the test runs, however loaded the machine.
    imports = app(rate_imports_per_s=0.05, rate_imports_burst=1)
    bulk = ("POST", "/api/v1/laptops/bulk", {"json": {"laptops": []}})
    answers = send(imports, bulk, bulk)
    assert answers[-1].status_code == 429 and 18 <= int(answers[-1].headers["retry-after"]) <= 20
    assert "Too many bulk imports" in answers[-1].json()["detail"]
    everything = app(rate_requests_per_s=0.01, rate_requests_burst=3)
    statuses = [r.status_code for r in send(everything, *[("GET", "/", {})] * 3, ("GET", "/docs", {}))]
    assert statuses == [200, 200, 200, 429]


def test_a_route_can_count_by_its_own_key_such_as_the_account_signing_in() -> None:
    gateway = app(rate_logins_per_s=0.2, rate_logins_burst=2)

    async def account(request: Request) -> str | None:
        return request.headers.get("x-account")

    @gateway.post("/test/sign-in", include_in_schema=False, dependencies=[Depends(limit(LOGINS, key=account))])
    async def sign_in() -> dict[str, str]:
        return {"ok": "yes"}

    def attempt(who: str | None) -> tuple[str, str, dict[str, Any]]:
        return ("POST", "/test/sign-in", {"headers": {"x-account": who} if who else {}})

    answers = send(gateway, attempt("budi"), attempt("budi"), attempt("budi"), attempt("sari"), attempt(None))
    assert [r.status_code for r in answers] == [200, 200, 429, 200, 200]  # no key: not counted
    refused = answers[2]
    assert refused.json()["code"] == "rate_limited" and 4 <= int(refused.headers["retry-after"]) <= 5
    assert (
        refused.json()["detail"]
        == "Too many sign-in attempts: the limit is 12 a minute, 2 at once. Try again in 5 seconds."
    )


@pytest.mark.parametrize(
    ("host", "key"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff::9", "2001:db8:1:2::/64"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
    ],
)
def test_a_client_is_counted_by_its_address_and_an_ipv6_host_by_its_64(host: str, key: str) -> None:
    request = Request({"type": "http", "client": (host, 1234), "headers": []})
    assert asyncio.run(client_address(request)) == key


def test_every_operation_declares_its_429_with_retry_after() -> None:
    for path, operations in openapi_document()["paths"].items():
        for method, op in operations.items():
            answer = op["responses"]["429"]
            assert answer["headers"]["Retry-After"]["schema"] == {"type": "integer", "minimum": 1}, (method, path)
            assert answer["content"] == {
                "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
            }
