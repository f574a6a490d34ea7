"""CORS for the origins ``SERAH_CORS_ORIGINS`` lists, and for no other.

Starlette's middleware answers a listed origin; a request from any other origin is
answered as if CORS were off: no CORS header at all (Starlette would still send
``Access-Control-Allow-Credentials`` and the allowed methods), so a preflight from
it meets the same 405 as on a gateway with CORS closed. Every answer varies by
``Origin`` then, so a shared cache never hands one origin's answer to another."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# What a page on a listed origin may send and read besides the CORS-safelisted ones.
REQUEST_HEADERS = ["Content-Type", "Idempotency-Key", "Authorization"]
EXPOSED_HEADERS = ["Location", "Retry-After", "Content-Disposition"]


class ListedOrigins(CORSMiddleware):
    def __init__(self, app: ASGIApp, origins: Sequence[str]) -> None:
        super().__init__(
            app,
            allow_origins=origins,
            allow_credentials=True,
            allow_methods=["GET", "HEAD", "POST"],
            allow_headers=REQUEST_HEADERS,
            expose_headers=EXPOSED_HEADERS,
            max_age=600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        origin = Headers(scope=scope).get("origin") if scope["type"] == "http" else None
        if origin is not None and self.is_allowed_origin(origin):
            await super().__call__(scope, receive, send)
            return

        async def varying(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if "origin" not in headers.get("vary", "").lower():
                    headers.add_vary_header("Origin")
            await send(message)

        await self.app(scope, receive, varying if scope["type"] == "http" else send)
