"""The headers every response carries, pages and API alike, errors too.

- Content-Security-Policy: scripts only from this site, never inline, so an injected
  ``<script>`` cannot run. Styles may be inline: every page inlines its stylesheet on
  purpose (one request on a bad link, a verdict colour that cannot go missing), and
  with ``default-src 'self'`` an injected style can fetch nothing from another site,
  so it cannot carry anything away. No plugins, no ``<base>``, forms post only here,
  and no other site may frame a page (clickjacking a scan or a receipt).
- Referrer-Policy ``no-referrer``: a label page's URL carries the label's signature;
  no link followed from it may hand that to anyone, and the site uses no Referer.
- Permissions-Policy: the camera for this site only (a scanning page), nothing else.
- Strict-Transport-Security only when the public base URL is https: sent over plain
  http it is ignored, and a local run must stay reachable over http.

A page that needs more (the API docs: Swagger UI's inline start-up script) sets its
own Content-Security-Policy from ``content_security_policy(...)``, which this
middleware then leaves as it is."""

from __future__ import annotations

import base64
import hashlib
import re

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

POLICY: dict[str, str] = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self' 'unsafe-inline'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
PERMISSIONS = "camera=(self), microphone=(), geolocation=(), payment=(), usb=()"
HSTS = "max-age=31536000"


def content_security_policy(**more: str) -> str:
    """The site's policy, with sources added to some directives for one page:
    ``img_src="data:"`` gives ``img-src 'self' data:`` (a directive not in the
    policy starts from ``default-src``)."""
    policy = dict(POLICY)
    for name, sources in more.items():
        directive = name.replace("_", "-")
        policy[directive] = f"{policy.get(directive, POLICY['default-src'])} {sources}"
    return "; ".join(f"{directive} {sources}" for directive, sources in policy.items())


def inline_script_hashes(html: bytes) -> str:
    """CSP sources allowing exactly the inline scripts of ``html`` and no other."""
    scripts = re.findall(rb"<script>(.*?)</script>", html, re.DOTALL)
    return " ".join(f"'sha256-{base64.b64encode(hashlib.sha256(s).digest()).decode()}'" for s in scripts)


def security_headers(public_base_url: str) -> dict[str, str]:
    headers = {
        "Content-Security-Policy": content_security_policy(),
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
        "Permissions-Policy": PERMISSIONS,
    }
    if public_base_url.lower().startswith("https://"):
        headers["Strict-Transport-Security"] = HSTS
    return headers


class SecurityHeaders:
    """Adds ``headers`` to every HTTP response that does not set them itself."""

    def __init__(self, app: ASGIApp, headers: dict[str, str]) -> None:
        self.app, self.headers = app, headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.headers.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, with_headers)
