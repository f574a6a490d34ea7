"""Rate limits at the edge, per client address unless a route says otherwise.

Every request is counted, before its body is read, against the policy of its route
group (``GROUPS``: scans, bulk imports), or ``requests`` for everything else, by the
``RateLimit`` middleware. A route that must count by something known only once it
runs (the account a sign-in names, a device token) adds
``dependencies=[Depends(limit(LOGINS, key=...))]``; a key function returns whom to
count, or None to count nobody. An exceeded limit answers ``429`` problem+json
``rate_limited`` with ``Retry-After`` and a sentence saying when to try again.

Each gateway process counts for itself: with N processes a client gets up to N
times a policy. The point is to keep one client from drowning the others and from
guessing codes quickly, not exact accounting."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Awaitable, Callable, Sequence

from fastapi import FastAPI, Request
from starlette.types import ASGIApp, Receive, Scope, Send

from services.gateway.config import GatewaySettings
from services.gateway.errors import ProblemResponse
from services.gateway.protection.limiter import Limiter, Policy, retry_after

SCANS, IMPORTS, LOGINS, REQUESTS = "scans", "imports", "logins", "requests"

# (method, path regex, policy); the first that matches counts the request.
GROUPS: tuple[tuple[str, str, str], ...] = (
    (
        "POST",
        r"/api/v1/scans/(?:dispatch|receipt|attestation|assignment|holder-return|repair-out|repair-back|recovery"
        r"|warehouse-return)",
        SCANS,
    ),
    ("POST", r"/api/v1/(?:consignments|transfers)/[^/]+/scans", SCANS),
    ("POST", r"/api/v1/laptops/bulk", IMPORTS),
)

Key = Callable[[Request], Awaitable[str | None]]


def policies(settings: GatewaySettings) -> dict[str, Policy]:
    s = settings
    return {
        SCANS: Policy(SCANS, s.rate_scans_per_s, s.rate_scans_burst, "scans"),
        IMPORTS: Policy(IMPORTS, s.rate_imports_per_s, s.rate_imports_burst, "bulk imports"),
        LOGINS: Policy(LOGINS, s.rate_logins_per_s, s.rate_logins_burst, "sign-in attempts"),
        REQUESTS: Policy(REQUESTS, s.rate_requests_per_s, s.rate_requests_burst, "requests"),
    }


async def client_address(request: Request) -> str | None:
    """The client's address (behind a trusted proxy, the one it forwarded); an IPv6
    client by its /64, which one host may hold whole."""
    if request.client is None:
        return None
    host = request.client.host
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


class RateLimited(Exception):
    def __init__(self, policy: Policy, wait_s: float) -> None:
        super().__init__(policy.name)
        self.policy, self.wait_s = policy, wait_s


def refusal(policy: Policy, wait_s: float) -> ProblemResponse:
    seconds = retry_after(wait_s)
    when = "1 second" if seconds == 1 else f"{seconds} seconds"
    detail = f"Too many {policy.what}: the limit is {policy.describe()}. Try again in {when}."
    return ProblemResponse(429, {"code": "rate_limited", "detail": detail}, headers={"Retry-After": str(seconds)})


def limit(policy: str, key: Key = client_address) -> Callable[[Request], Awaitable[None]]:
    """A route dependency counting each request against ``policy`` for ``key(request)``."""

    async def counted(request: Request) -> None:
        limiter: Limiter = request.app.state.limiter
        who = await key(request)
        if who is not None and (wait := limiter.take(policy, who)):
            raise RateLimited(limiter.policies[policy], wait)

    return counted


class RateLimit:
    """Counts every HTTP request against its route group's policy, per ``key``."""

    def __init__(
        self,
        app: ASGIApp,
        limiter: Limiter,
        groups: Sequence[tuple[str, str, str]] = GROUPS,
        default: str = REQUESTS,
        key: Key = client_address,
    ) -> None:
        self.app, self.limiter, self.default, self.key = app, limiter, default, key
        self.groups = [(method, re.compile(path), policy) for method, path, policy in groups]

    def policy_for(self, method: str, path: str) -> str:
        for m, pattern, policy in self.groups:
            if m == method and pattern.fullmatch(path):
                return policy
        return self.default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            policy = self.policy_for(scope["method"], scope["path"])
            who = await self.key(Request(scope))
            if who is not None and (wait := self.limiter.take(policy, who)):
                await refusal(self.limiter.policies[policy], wait)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def install(app: FastAPI, limiter: Limiter) -> None:
    app.state.limiter = limiter

    async def _refused(_: Request, exc: Exception) -> ProblemResponse:
        assert isinstance(exc, RateLimited)
        return refusal(exc.policy, exc.wait_s)

    app.add_exception_handler(RateLimited, _refused)
    app.add_middleware(RateLimit, limiter=limiter)
