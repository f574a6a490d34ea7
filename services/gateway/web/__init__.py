"""The gateway's pages for people: routes in ``pages.py``, what a page shows in a
module of its own (``label.py``, ``bast.py``), HTML from Jinja2 templates that all
extend ``templates/layout.html``, and files in ``static/`` served at ``/static/web``.
Every page works with nothing from another origin: a regency office on a poor link,
or an air-gapped server, reaches this site only."""

from __future__ import annotations

import html
import mimetypes
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup
from starlette.datastructures import Headers
from starlette.responses import FileResponse, Response
from starlette.staticfiles import NotModifiedResponse
from starlette.types import Scope

from services.gateway.deps import PageRefused
from services.gateway.errors import ApiError

STATIC = "/static/web"
STYLESHEET = "serah.css"


def install(app: FastAPI) -> None:
    """The templates (``app.state.templates``) and the static files, read from the package."""
    app.state.templates = templates()
    app.mount(STATIC, CachedStatic(packages=[(__name__, "static")]), name="web-static")
    app.add_exception_handler(PageRefused, _refused)  # type: ignore[arg-type]


async def _refused(request: Request, exc: PageRefused) -> Response:
    """Not signed in: to the sign-in page, and back here after. Otherwise the reason, as a page."""
    if exc.status == 401:
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/masuk?next={quote(here, safe='/')}", status_code=303)
    return render(request, "refused.html", exc.status, code=exc.code, detail=exc.detail, refused_status=exc.status)


def templates() -> Jinja2Templates:
    env = Environment(
        loader=PackageLoader(__name__, "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=_escaped,
        undefined=StrictUndefined,  # a misspelt name fails the page's test instead of showing nothing
        auto_reload=False,  # templates change with a release, not while it runs
    )
    # Inlined into every page: a phone opening a label on a bad link gets the page in one
    # request, and the verdict's colour cannot be lost to a stylesheet that did not arrive.
    css = resources.files(__name__).joinpath("static", STYLESHEET).read_text("utf-8")
    env.globals["stylesheet"] = Markup(css.strip())
    return Jinja2Templates(env=env)


def _escaped(value: Any) -> Any:
    """Every value a template prints, escaped as ``html.escape`` does (``&#x27;``, ``&quot;``),
    the same bytes these pages have always carried; markup a template made itself passes."""
    return value if hasattr(value, "__html__") else Markup(html.escape(str(value)))


# The pages a person reaches from every page's header, for the roles that use them:
# (path, Indonesian, English, roles; empty roles: anyone signed in).
NAV: list[tuple[str, str, str, tuple[str, ...]]] = [
    ("/pindai", "Pindai", "Scan", ("warehouse", "recipient", "holder")),
    ("/gudang", "Gudang", "Warehouse", ("warehouse",)),
    ("/penerimaan", "Penerimaan", "Receipt", ("recipient",)),
    ("/audit", "Audit", "Audit", ("auditor",)),
]


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """A page in its reader's language (``w``: services/gateway/web/i18n.py), with the
    header's links for who is signed in (``viewer``)."""
    from services.gateway.auth.model import ANONYMOUS
    from services.gateway.web.i18n import words

    viewer = getattr(request.state, "principal", ANONYMOUS)
    roles = {g.role.value for g in viewer.grants}
    links = [
        (path, id_, en) for path, id_, en, need in NAV if viewer.kind != "anonymous" and (not need or roles & set(need))
    ]
    context = {"w": words(request), "viewer": viewer, "nav": links, "here": request.url.path, **context}
    page: HTMLResponse = request.app.state.templates.TemplateResponse(request, template, context, status_code=status)
    return page


@asynccontextmanager
async def as_page() -> AsyncIterator[None]:
    """A refusal from the API's rules (another region, no such consignment) shown as a page."""
    try:
        yield
    except ApiError as exc:
        raise PageRefused(exc.status, exc.code, exc.detail) from exc


class CachedStatic(StaticFiles):
    """Static files change only with a release: kept a day by the browser, then revalidated
    by ETag. A file the build gzipped beside itself (``scan.js.gz``) is sent as such to a
    browser that takes gzip: a scanner on a slow link fetches a third of the bytes. Only
    the build's own scripts are packed, never a page (pages carry CSRF tokens: BREACH)."""

    def file_response(
        self, full_path: Any, stat_result: os.stat_result, scope: Scope, status_code: int = 200
    ) -> Response:
        packed = f"{full_path}.gz"
        takes_gzip = "gzip" in Headers(scope=scope).get("accept-encoding", "")
        if takes_gzip and os.path.isfile(packed):
            kind = mimetypes.guess_type(str(full_path))[0] or "application/octet-stream"
            response: Response = FileResponse(
                packed, status_code=status_code, stat_result=os.stat(packed), media_type=kind
            )
            response.headers["Content-Encoding"] = "gzip"
            if self.is_not_modified(response.headers, Headers(scope=scope)):
                response = NotModifiedResponse(response.headers)
        else:
            response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["Cache-Control"] = "public, max-age=86400"
        response.headers["Vary"] = "Accept-Encoding"
        return response
