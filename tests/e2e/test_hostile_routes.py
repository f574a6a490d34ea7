"""Every door, from the gateway's own route table: each route that takes a body
gets malformed JSON, a wrong content type, unknown fields, wrong types, an
oversize body and an empty body; each route with a path parameter gets hostile
raw paths (traversal, percent-encoded traversal, NUL, broken escapes, overlong).
Each must get a clear 4xx (problem+json on the API), never a 5xx, and change
nothing: after the stream settles no message entered any topic and no stored
collection grew. A new route is covered without anyone remembering to add it.

Requests go out on a raw socket, so the path reaches the server byte for byte
as written (httpx and browsers resolve ``..`` before sending); the gateway's
access log shows what it received."""

from __future__ import annotations

import contextlib
import http.client
import json
import re
import socket
import time
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute
from pydantic import BaseModel

from deploy.local.stack import Stack
from services.gateway.api import consignments
from services.gateway.app import create_app
from services.gateway.config import GatewaySettings
from tests.conftest import eventually
from tests.settle import settled

MUTATING = {"POST", "PUT", "PATCH", "DELETE"}
SETTINGS = GatewaySettings(kafka_bootstrap="127.0.0.1:9", mongo_url="mongodb://127.0.0.1:9")

# A well-formed value for each path parameter, naming nothing that exists: a body
# case must be refused for its body, not for its path.
VALID_PARAM = {
    "asset_id": "SRHPPSKGESNAC",
    "asset": "SRHPPSKGESNAC",
    "scan_id": "hostile-scan",
    "command_id": "hostile-command",
    "code": "32.73",
    "consignment_id": "HOSTILE-ROUTES-1",
    "key": "1K1",
    "signature": "A" * 86,
    "account_id": "nip-198001012005011001",
    "device_id": "dev-0123456789ab",
    "lang": "en",
    "document_id": "SRHPPSKGESNAC-assignment-1",
}


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    params: tuple[str, ...]
    body: str | None  # "json" (a request model), "upload" (raw or multipart bytes), None (no body read)
    schema: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    query: tuple[str, ...] = ()  # its query parameters

    @property
    def id(self) -> str:
        return f"{self.method} {self.template}"

    def path(self, **override: str) -> str:
        out = self.template
        for name in self.params:
            out = out.replace("{" + name + "}", override.get(name, VALID_PARAM[name]))
        return out


def _walk(routes: list[Any]) -> list[Any]:
    out = []
    for r in routes:
        inner = getattr(r, "original_router", None)  # routers included into the app
        out += _walk(inner.routes) if inner is not None else [r]
    return out


def body_model(annotation: Any) -> Any:
    """The request model of a body, also when the body is optional (``Model | None``)."""
    members = typing.get_args(annotation) or (annotation,)
    return next(m for m in members if isinstance(m, type) and issubclass(m, BaseModel))


def route_table() -> list[Route]:
    app = create_app(SETTINGS)  # nothing connects until its lifespan runs
    uploads = [re.compile(pattern) for pattern, _, _ in consignments.body_limits(SETTINGS)]
    table = []
    for r in _walk(app.routes):
        if not isinstance(r, APIRoute):
            continue
        params = tuple(re.findall(r"{(\w+)}", r.path))
        for method in sorted(r.methods - {"HEAD"}):
            if r.body_field is not None:
                body, schema = "json", body_model(r.body_field.field_info.annotation).model_json_schema()
            elif any(p.fullmatch(r.path.replace("{consignment_id}", "x")) for p in uploads):
                body, schema = "upload", {}
            else:
                body, schema = None, {}
            query = tuple(q.alias for q in r.dependant.query_params)
            table.append(Route(method, r.path, params, body, schema, query))
    return table


ROUTES = route_table()
COMMANDS = [r for r in ROUTES if r.method in MUTATING]
WITH_PARAMS = [r for r in ROUTES if r.params]
QUERIED = [r for r in ROUTES if r.query and r.method == "GET" and r.template.startswith("/api/")]


def test_the_route_table_covers_every_operation_of_the_openapi_document() -> None:
    spec = create_app(SETTINGS).openapi()
    documented = {f"{m.upper()} {p}" for p, ops in spec["paths"].items() for m in ops}
    assert documented <= {r.id for r in ROUTES}
    with_body = {f"{m.upper()} {p}" for p, ops in spec["paths"].items() for m, op in ops.items() if "requestBody" in op}
    assert with_body <= {r.id for r in ROUTES if r.body in ("json", "upload")}
    assert len(COMMANDS) >= 15 and {r.body for r in COMMANDS} == {"json", "upload", None}
    assert all(set(r.params) <= set(VALID_PARAM) for r in ROUTES), "give each path parameter a well-formed value"
    assert len(QUERIED) >= 5, [r.id for r in QUERIED]


# ---------------------------------------------------------------------------------------------
# Sending exactly what is written


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    sent: bytes

    def problem(self) -> dict[str, Any]:
        return json.loads(self.body)  # type: ignore[no-any-return]


def send_raw(
    stack: Stack, method: str, target: str, body: bytes = b"", content_type: str | None = None, token: str = ""
) -> Answer:
    """One HTTP/1.1 request written byte for byte onto a socket, its answer parsed. With
    ``token``, as that device: hostile input must be refused for what it is, not for who sent it."""
    head = [f"{method} {target} HTTP/1.1", f"Host: 127.0.0.1:{stack.gateway_port}", "Connection: close"]
    if token:
        head.append(f"Authorization: Bearer {token}")
    if content_type:
        head.append(f"Content-Type: {content_type}")
    if method in MUTATING or body:
        head.append(f"Content-Length: {len(body)}")
    sent = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1")
    with socket.create_connection(("127.0.0.1", stack.gateway_port), timeout=60) as sock:
        sock.sendall(sent)
        # An oversize body is refused before it is all read: the answer is already there.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(body)
        response = http.client.HTTPResponse(sock, method=method)
        response.begin()
        return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read(), sent)


def refused_clearly(answer: Answer, route: Route, status: int | None = None, code: str | None = None) -> str | None:
    """None if ``answer`` is a clear refusal; else what is wrong with it."""
    if status is not None and answer.status != status:
        return f"status {answer.status}, wanted {status}: {answer.body[:300]!r}"
    if not 400 <= answer.status < 500:
        return f"status {answer.status}: {answer.body[:300]!r}"
    if not route.template.startswith("/api/"):
        return None  # a web page answers a person with a page; its status says what happened
    if not answer.headers.get("content-type", "").startswith("application/problem+json"):
        return f"content-type {answer.headers.get('content-type')}: {answer.body[:300]!r}"
    problem = answer.problem()
    if not (problem.get("code") and problem.get("detail")):
        return f"no code and sentence: {problem}"
    if code is not None and problem["code"] != code:
        return f"code {problem['code']}, wanted {code}: {problem}"
    return None


# ---------------------------------------------------------------------------------------------
# What "changes nothing" is measured by


def world(stack: Stack, mongo: Any) -> tuple[dict[str, int], dict[str, int]]:
    """After the stream settles: every consumed topic's log ends, and every collection's size,
    read until two readings half a second apart agree. A worker commits a message's offset
    once it has handled it, but a view it writes after its log entry can land a moment
    later; what a refused request must not change is the world at rest."""

    def reading() -> tuple[dict[str, int], dict[str, int]]:
        ends = {f"{tp.topic}[{tp.partition}]": end for tp, end in settled(stack).ends.items()}
        sizes = {name: mongo[name].count_documents({}) for name in mongo.list_collection_names()}
        sizes.pop("worker_status", None)  # heartbeats are written whatever happens
        return ends, sizes

    last = reading()
    for _ in range(20):
        time.sleep(0.5)
        now = reading()
        if now == last:
            return now
        last = now
    return last


def wrong_types(schema: dict[str, Any]) -> dict[str, Any]:
    """A body with each of the model's fields set to a value of the wrong JSON type."""
    wrong = {
        "string": {"not": "a string"},
        "integer": "nine",
        "number": "nine",
        "array": 7,
        "object": [],
        "boolean": "no",
    }
    out: dict[str, Any] = {}
    for name, prop in schema.get("properties", {}).items():
        kinds = [prop.get("type")] + [p.get("type") for p in prop.get("anyOf", [])]
        if "$ref" in prop or any("$ref" in p for p in prop.get("anyOf", [])):
            kinds.append("object")
        kind = next((k for k in kinds if k in wrong), "string")
        out[name] = wrong[kind]
    return out or {"unexpected": {"not": "expected"}}


def body_cases(route: Route) -> list[tuple[str, bytes, str | None, int | None, str | None]]:
    """(case, body, content type, wanted status or None for any 4xx, wanted code or None)."""
    limit = next(
        (n for p, n, _ in consignments.body_limits(SETTINGS) if re.fullmatch(p, route.path())),
        SETTINGS.max_body_bytes,
    )
    oversize = b'{"x": "' + b"x" * limit + b'"}'
    if route.body == "json":
        return [
            ("malformed JSON", b'{"scan_id": ', "application/json", 400, "malformed_json"),
            ("wrong content type", b'{"a": 1}', "text/plain", None, None),
            ("unknown fields only", b'{"surprise": true, "owner_password": "x"}', "application/json", 422, None),
            ("wrong types", json.dumps(wrong_types(route.schema)).encode(), "application/json", 422, None),
            ("oversize", oversize, "application/json", 413, "body_too_large"),
            ("empty body", b"", "application/json", None, None),
            ("JSON null", b"null", "application/json", 422, None),
        ]
    if route.body == "upload":  # the consignment named has no BAST: refused whatever the bytes
        return [
            ("malformed JSON", b'{"scan_id": ', "application/json", None, None),
            ("not a PDF", b"\x00\xff garbage", "application/octet-stream", None, None),
            ("broken multipart", b"--x\r\nnope", "multipart/form-data; boundary=x", None, None),
            ("oversize", oversize, "application/pdf", 413, "body_too_large"),
            ("empty body", b"", "application/pdf", None, None),
        ]
    return []


HOSTILE_SEGMENTS = [
    "..%2F..%2Fetc%2Fpasswd",
    "%2e%2e%2f%2e%2e%2fetc",
    "%2E%2E",
    "%00",
    "%ZZ",
    "%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    "%F0%9F%92%A5%C0%AF",
    "A" * 4000,
]


# Query values reach the store's filters: U+0000 (which FerretDB on PostgreSQL cannot
# take), broken escapes, overlong UTF-8, a bidi override, numbers out of range, brackets.
HOSTILE_QUERY = ["%00", "x%00y", "%ZZ", "%C0%AF", "%E2%80%AE", "A" * 4000, "-1", "1e309", "%5B%5D", "%22%7B%7D"]


def path_cases(route: Route) -> list[tuple[str, str]]:
    """(case, raw request target) for each path parameter: the parameter replaced by
    a raw traversal (the segments after it kept), or by a hostile encoded segment."""
    out = []
    for name in route.params:
        out.append((f"{name}=../../etc", route.path(**{name: "../../etc"})))
        out.append((f"{name}=/../../../etc/passwd", route.path(**{name: "x/../../../../etc/passwd"})))
        out += [(f"{name}={seg[:20]}", route.path(**{name: seg})) for seg in HOSTILE_SEGMENTS]
    return out


def gateway_saw(stack: Stack, method: str, target: str) -> bool:
    log = Path(stack.data) / "logs" / "gateway.log"
    return f'"{method} {target} HTTP/1.1"' in log.read_text(errors="replace")


@pytest.mark.parametrize("route", COMMANDS, ids=lambda r: r.id)
def test_every_command_route_refuses_hostile_bodies_clearly_and_changes_nothing(
    stack: Stack, mongo: Any, route: Route, token: str
) -> None:
    before = world(stack, mongo)
    wrong = []
    for case, body, content_type, status, code in body_cases(route):
        answer = send_raw(stack, route.method, route.path(), body, content_type, token)
        if (why := refused_clearly(answer, route, status, code)) is not None:
            wrong.append(f"{case}: {why}")
    assert wrong == [], (route.id, wrong)
    assert world(stack, mongo) == before, f"{route.id}: a refused request changed something"


@pytest.mark.parametrize("route", QUERIED, ids=lambda r: r.id)
def test_every_query_parameter_takes_hostile_values_with_an_answer_or_a_clear_refusal(
    stack: Stack, route: Route, token: str
) -> None:
    wrong = []
    for name in route.query:
        for value in HOSTILE_QUERY:
            answer = send_raw(stack, route.method, f"{route.path()}?{name}={value}", token=token)
            if 200 <= answer.status < 300:
                continue  # a filter that matches nothing, or a value the route ignores
            if (why := refused_clearly(answer, route)) is not None:
                wrong.append(f"{name}={value[:20]}: {why}")
    assert wrong == [], (route.id, wrong)


@pytest.mark.parametrize("route", WITH_PARAMS, ids=lambda r: r.id)
def test_every_route_with_a_path_parameter_refuses_hostile_raw_paths_clearly_and_changes_nothing(
    stack: Stack, mongo: Any, route: Route, token: str
) -> None:
    before = world(stack, mongo)
    wrong = []
    for case, target in path_cases(route):
        body = b"{}" if route.body == "json" else b""
        answer = send_raw(stack, route.method, target, body, "application/json" if body else None, token)
        assert target.encode() in answer.sent.split(b"\r\n", 1)[0]  # on the wire exactly as written
        if (why := refused_clearly(answer, route)) is not None:
            wrong.append(f"{case}: {why}")
    assert wrong == [], (route.id, wrong)
    # The server received the traversals unresolved: its access log has the raw request line.
    for case, target in path_cases(route)[:2]:
        eventually(lambda t=target: gateway_saw(stack, route.method, t), what=f"{case} in the gateway's log")
    assert world(stack, mongo) == before, f"{route.id}: a refused request changed something"
