"""What each route can answer, for the OpenAPI document: a generated client relies
on it, and the schemathesis suite checks the running gateway against it.

Routes declare their own outcomes (``html_page`` here; for the API
``api.render.problems``, ``binary`` and ``command_answers``);
``finish`` then applies what holds for every route: a body or a parameter can be
refused with 422, a body can be malformed (400) or too large (413), every route is
rate limited (429, ``services.gateway.protection``), and every refusal is
``application/problem+json`` with the ``Problem`` schema."""

from __future__ import annotations

import re
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from services.gateway.errors import ProblemResponse

PROBLEM_JSON = "application/problem+json"
ERROR_MODELS = ("/Problem", "/HTTPValidationError")
# How a caller says who it is (services/gateway/deps.py): an enrolled device's token,
# or a person's session cookie (changes made with it also carry the X-CSRF-Token header).
SECURITY = {
    "device": {"type": "http", "scheme": "bearer", "description": "A device token from POST /api/v1/devices."},
    "session": {
        "type": "apiKey",
        "in": "cookie",
        "name": "serah_session",
        "description": "Set by POST /api/v1/session; send X-CSRF-Token with every change.",
    },
}
WHY = {
    400: "The body is not valid JSON (`malformed_json`) or is empty where a file is needed.",
    401: "Not signed in (`sign_in_required`), or a device token that is unknown or revoked (`token_refused`).",
    403: "Not allowed: the role (`not_allowed`), the office (`not_your_office`) or the region "
    "(`not_your_region`); a change made with a session but without its CSRF token; the receipt "
    "code or the signing official is not the consignment's; an act that needs a person signed in as "
    "themselves (`person_required`, `not_yourself`), the laptop's holder (`not_the_holder`) or an official "
    "other than the proposer (`same_official`).",
    404: "The laptop, consignment, office, scan or BAST named does not exist (yet).",
    409: "The command does not fit the current state (already dispatched, consignment closed, …); `code` says which.",
    413: "The request body is over the size limit (`body_too_large`).",
    422: "A field is missing, unknown or of the wrong type (`invalid_request`, see `errors`), or the "
    "deciding service refused a well-formed command it cannot carry out (a forged or revoked label, "
    "an office that does not exist, a laptop the consignment does not expect); `code` says which.",
    429: "Too many requests from this client (`rate_limited`): scans, bulk imports and sign-in attempts "
    "have limits of their own, every other request a generous one; `Retry-After` says when to try again.",
    503: "Kafka or the store cannot be reached right now (`unavailable`): nothing is lost by sending the "
    "same request again after `Retry-After` seconds (a scan with its `scan_id`).",
}


RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "schema": {"type": "integer", "minimum": 1},
    }
}


def html_page(what: str) -> dict[int | str, Any]:
    """A page for people."""
    return {200: {"description": what, "content": {"text/html": {"schema": {"type": "string"}}}}}


def finish(document: dict[str, Any]) -> dict[str, Any]:
    for operations in document.get("paths", {}).values():
        for op in operations.values():
            answers = op.setdefault("responses", {})
            if op.get("parameters") or op.get("requestBody"):
                answers.setdefault("422", {"description": WHY[422]})
            if op.get("requestBody"):
                answers.setdefault("400", {"description": WHY[400]})
                answers.setdefault("413", {"description": WHY[413]})
            answers.setdefault("429", {"description": WHY[429], "headers": RETRY_AFTER})
            answers.setdefault("503", {"description": WHY[503], "headers": RETRY_AFTER})
            for status, answer in answers.items():
                content = answer.get("content", {})
                refs = [c.get("schema", {}).get("$ref", "") for c in content.values()]
                if int(status) >= 400 and (not content or any(r.endswith(ERROR_MODELS) for r in refs)):
                    answer["content"] = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
                    if answer.get("description") in (None, "", "Validation Error"):
                        answer["description"] = WHY.get(int(status), HTTPStatus(int(status)).phrase)
                elif len(content) > 1:
                    # FastAPI adds application/json next to a route's declared file type.
                    content.pop("application/json", None)
    document.setdefault("components", {})["securitySchemes"] = SECURITY
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    return document


def install(app: FastAPI) -> None:
    build = app.openapi

    finished: list[int] = []  # FastAPI builds the document once and caches it: finish it once

    def openapi() -> dict[str, Any]:
        document = build()
        if finished != [id(document)]:
            finished[:] = [id(finish(document))]
        return document

    app.openapi = openapi  # type: ignore[method-assign]

    @app.exception_handler(405)
    async def _method_not_allowed(request: Request, exc: StarletteHTTPException) -> ProblemResponse:
        # The router names the methods of the first route whose path matched; the
        # resource's own methods are those of the API document.
        headers = dict(exc.headers or {})
        if allow := allowed_methods(app.openapi(), request.url.path):
            headers["Allow"] = ", ".join(allow)
        return ProblemResponse(405, {"code": "method_not_allowed", "detail": str(exc.detail)}, headers=headers)


class LiteralPaths:
    """A literal path of the document is its own resource: a method it does not list
    answers 405 there, even where a template would also match (`GET /scans/attestation`
    is not the scan "attestation", `GET /laptops/bulk` not the laptop "bulk")."""

    def __init__(self, app: ASGIApp, api: FastAPI) -> None:
        self.app, self.api = app, api

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            operations = self.api.openapi()["paths"].get(scope["path"])
            method = scope["method"].lower()
            if operations is not None and method not in operations and not (method == "head" and "get" in operations):
                allow = ", ".join(allowed_methods(self.api.openapi(), scope["path"]))
                body = {"code": "method_not_allowed", "detail": f"{scope['path']} answers {allow} only."}
                await ProblemResponse(405, body, headers={"Allow": allow})(scope, receive, send)
                return
        await self.app(scope, receive, send)


def allowed_methods(document: dict[str, Any], path: str) -> list[str]:
    """The methods the document gives the resource at ``path``, for a 405's ``Allow``.
    As OpenAPI says, a literal path wins over a template (`/scans/attestation` is not
    the scan "attestation"); a template's parameters must match their patterns."""
    paths = document.get("paths", {})
    if path in paths:
        methods = set(paths[path])
    else:
        methods = set()
        for template, operations in paths.items():
            if "{" in template and re.fullmatch(_template_regex(template, operations), path):
                methods |= set(operations)
    methods &= {"get", "put", "post", "delete", "patch"}
    if "get" in methods:
        methods.add("head")  # served for every GET
    return sorted(m.upper() for m in methods)


def _template_regex(template: str, operations: dict[str, Any]) -> str:
    patterns = {
        p["name"]: p.get("schema", {}).get("pattern", "")
        for op in operations.values()
        for p in op.get("parameters", [])
        if p.get("in") == "path"
    }

    def segment(match: re.Match[str]) -> str:
        pattern = patterns.get(match.group(1), "").removeprefix("^").removesuffix("$")
        return f"(?:{pattern})" if pattern else "[^/]+"

    parts = re.split(r"(\{[^}]+\})", template)
    return "".join(segment(re.match(r"\{([^}]+)\}", p)) if p.startswith("{") else re.escape(p) for p in parts)  # type: ignore[arg-type]
