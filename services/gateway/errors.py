"""Every error is RFC 9457 problem+json with a stable ``code`` and a sentence
saying what to do. Bodies over the limit are refused before they are read."""

from __future__ import annotations

import re
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from events.catalog import RejectionReason
from services.gateway.adapters.unavailable import REFUSING, UNREACHABLE, refusing, unreachable
from services.gateway.ports import ClockOff, Unavailable

# The one place that decides a refusal's HTTP status. Every reason is listed (a
# test checks it), so adding a reason means deciding its status here.
REJECTION_STATUS: dict[RejectionReason, int] = {
    RejectionReason.UNKNOWN_LAPTOP: 404,
    RejectionReason.UNKNOWN_CONSIGNMENT: 404,
    RejectionReason.RECEIPT_CODE_INVALID: 403,
    RejectionReason.OFFICIAL_NOT_AUTHORISED: 403,
    RejectionReason.LABEL_MALFORMED: 422,
    RejectionReason.LABEL_UNKNOWN_KEY: 422,
    RejectionReason.LABEL_FORGED: 422,
    RejectionReason.LABEL_REVOKED: 422,
    RejectionReason.LABEL_ASSET_MISMATCH: 422,
    RejectionReason.UNKNOWN_OFFICE: 422,
    RejectionReason.INVALID_COMMAND: 422,
    RejectionReason.NOT_EXPECTED: 422,
    RejectionReason.ALREADY_REGISTERED: 409,
    RejectionReason.SERIAL_CONFLICT: 409,
    RejectionReason.ALREADY_ALLOCATED: 409,
    RejectionReason.NOT_ALLOCATED: 409,
    RejectionReason.ALREADY_DISPATCHED: 409,
    RejectionReason.NOT_DISPATCHED: 409,
    RejectionReason.ALREADY_RECEIVED: 409,
    RejectionReason.NOT_RECEIVED: 409,
    RejectionReason.LABEL_GENERATIONS_EXHAUSTED: 409,
    RejectionReason.CONSIGNMENT_EXISTS: 409,
    RejectionReason.CONSIGNMENT_CLOSED: 409,
    RejectionReason.CONSIGNMENT_EMPTY: 409,
    RejectionReason.CONSIGNMENT_FULL: 409,
    RejectionReason.BELONGS_TO_OTHER_CONSIGNMENT: 409,
    RejectionReason.ALREADY_IN_CONSIGNMENT: 409,
    RejectionReason.IN_CONSIGNMENT: 409,
    RejectionReason.ID_REUSED: 409,
    RejectionReason.SCANNED_AT_OUT_OF_RANGE: 422,
    RejectionReason.NOT_THE_HOLDER: 403,
    RejectionReason.SAME_OFFICIAL: 403,
    RejectionReason.WRITE_OFF_REASON_INVALID: 422,
    RejectionReason.HELD_BY_HOLDER: 409,
    RejectionReason.NOT_ASSIGNED: 409,
    RejectionReason.ALREADY_CONFIRMED: 409,
    RejectionReason.IN_REPAIR: 409,
    RejectionReason.NOT_IN_REPAIR: 409,
    RejectionReason.LOST: 409,
    RejectionReason.NOT_LOST: 409,
    RejectionReason.WRITE_OFF_PENDING: 409,
    RejectionReason.NOT_PROPOSED: 409,
    RejectionReason.WRITTEN_OFF: 409,
    RejectionReason.NOT_AT_OFFICE: 409,
    RejectionReason.WRONG_SENDER: 409,
}


def rejection_status(reason: str) -> int:
    """The HTTP status of a refusal; a reason not (yet) listed is a conflict with the current state."""
    try:
        return REJECTION_STATUS[RejectionReason(reason)]
    except (KeyError, ValueError):
        return 409


# What a 503 asks a device to wait before sending again: about how long a broker
# election or a store restart takes.
RETRY_AFTER_S = 5


class ApiError(Exception):
    def __init__(self, status: int, code: str, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail, self.extra = status, code, detail, extra


class ProblemResponse(JSONResponse):
    """An RFC 9457 body whose ``status`` and ``title`` are taken from the response's
    own status when it is rendered: the two cannot disagree, whoever sets the status."""

    media_type = "application/problem+json"

    def __init__(self, status: int, content: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        self._content = content
        super().__init__(content, status_code=status, headers=headers)

    def __setattr__(self, name: str, value: Any) -> None:
        super().__setattr__(name, value)
        if name == "status_code" and "body" in self.__dict__:
            self.body = self.render(self._content)
            self.headers["content-length"] = str(len(self.body))

    def render(self, content: Any) -> bytes:
        status = self.status_code
        return super().render({"type": "about:blank", "title": HTTPStatus(status).phrase, "status": status, **content})


def problem(status: int, code: str, detail: str, **extra: Any) -> JSONResponse:
    body = {"code": code, "detail": detail} | {k: v for k, v in extra.items() if v is not None}
    return ProblemResponse(status, body)


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        response = problem(exc.status, exc.code, exc.detail, **exc.extra)
        if isinstance(wait := exc.extra.get("retry_after_s"), int):
            response.headers["Retry-After"] = str(max(1, wait))  # a locked account: when to try again
        return response

    async def _unavailable(_: Request, exc: Exception) -> JSONResponse:
        what = exc.what if isinstance(exc, Unavailable) else unreachable(exc)
        detail = (
            exc.detail
            if isinstance(exc, ClockOff)
            else f"{what[0].upper()}{what[1:]} cannot be reached right now, so this request may not have been "
            f"taken. Send the same request again in {RETRY_AFTER_S} seconds: a scan sent again with its scan_id "
            "is recorded once."
        )
        response = problem(503, "unavailable", detail)
        response.headers["Retry-After"] = str(RETRY_AFTER_S)
        return response

    handled: list[type[Exception]] = [Unavailable, *UNREACHABLE]
    for cls in handled:
        app.add_exception_handler(cls, _unavailable)

    async def _refusing(request: Request, exc: Exception) -> JSONResponse:
        if not refusing(exc):
            raise exc  # a bug, not an outage: a 500
        return await _unavailable(request, exc)

    app.add_exception_handler(REFUSING, _refusing)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": ".".join(str(p) for p in e["loc"] if p != "body"), "message": e["msg"], "type": e["type"]}
            for e in exc.errors()
        ]
        if any(e["type"] == "json_invalid" for e in errors):
            return problem(400, "malformed_json", "The request body is not valid JSON; send a JSON object.")
        return problem(
            422,
            "invalid_request",
            "Some fields are missing, unknown or of the wrong type; see `errors` and correct them.",
            errors=errors[:20],
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed", 415: "unsupported_media_type"}
        body = {"code": codes.get(exc.status_code, "http_error"), "detail": str(exc.detail)}
        return ProblemResponse(exc.status_code, body, headers=dict(exc.headers or {}))


class BodyLimit:
    """Refuses request bodies over ``limit`` bytes with 413, whether or not the
    client sent a Content-Length, without buffering more than the limit."""

    def __init__(self, app: ASGIApp, limit: int, routes: Sequence[tuple[str, int, str]] = ()) -> None:
        """``routes``: (path regex, limit, what to do) for the few routes that
        take larger bodies (a BAST PDF to verify); every other route keeps ``limit``."""
        self.app, self.limit = app, limit
        self.routes = [(re.compile(pattern), n, hint) for pattern, n, hint in routes]

    def _limit_for(self, path: str) -> tuple[int, str]:
        for pattern, n, hint in self.routes:
            if pattern.fullmatch(path):
                return n, hint
        return self.limit, "send smaller batches."

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit, hint = self._limit_for(scope.get("path", ""))
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await self._refuse(scope, receive, send, limit, hint)
            return
        seen = 0
        refused = False

        async def limited() -> Message:
            nonlocal seen, refused
            message = await receive()
            if message["type"] == "http.request" and not refused:
                seen += len(message.get("body", b""))
                if seen > limit:
                    # Answer now; the app sees a disconnect and its own reply is dropped.
                    refused = True
                    await self._refuse(scope, receive, send, limit, hint)
                    return {"type": "http.disconnect"}
            return message

        async def guarded(message: Message) -> None:
            if not refused:
                await send(message)

        try:
            await self.app(scope, limited, guarded)
        except Exception:
            if not refused:
                raise

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, limit: int, hint: str) -> None:
        response = problem(413, "body_too_large", f"The request body is over {limit} bytes; {hint}")
        await response(scope, receive, send)
