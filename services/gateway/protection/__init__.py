"""What stands around every request, before any route sees it: rate limits
(``ratelimit``, counted by ``limiter``), CORS closed unless ``SERAH_CORS_ORIGINS``
names origins (``cors``), and the security headers of every response
(``headers``). What the logs may not say is in ``services.common.logs``."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.types import ASGIApp

from services.gateway.config import GatewaySettings
from services.gateway.protection import cors, ratelimit
from services.gateway.protection.headers import SecurityHeaders, security_headers
from services.gateway.protection.limiter import Limiter


def install(app: FastAPI, settings: GatewaySettings) -> None:
    """Call after every other middleware: what is added here runs first."""
    ratelimit.install(app, Limiter(ratelimit.policies(settings)))
    if origins := settings.cors_origin_list():
        # Outside the rate limit, so a refusal carries the CORS headers its page needs to read it.
        app.add_middleware(cors.ListedOrigins, origins=origins)
    headers = security_headers(settings.public_base_url)
    build = app.build_middleware_stack

    def build_with_headers() -> ASGIApp:
        # Outside Starlette's ServerErrorMiddleware, which every added middleware runs
        # inside: the 500 it writes for an unhandled exception carries the headers too.
        return SecurityHeaders(build(), headers)

    app.build_middleware_stack = build_with_headers  # type: ignore[method-assign]
