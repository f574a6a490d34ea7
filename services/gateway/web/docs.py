"""/docs and /redoc with their JavaScript and CSS served by the gateway itself:
FastAPI's defaults load them from a CDN, which a regency office on a poor link
(or an air-gapped server) may not reach."""

from __future__ import annotations

from functools import cache
from importlib import resources

from fastapi import Depends, FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

from services.gateway.deps import public
from services.gateway.protection.headers import content_security_policy, inline_script_hashes

ASSETS = "/static/docs"
REDOC_JS = "/static/redoc/redoc.standalone.js"
# ReDoc's bundle draws its side-menu logo from its makers' CDN and links to their site.
OFFSITE = {
    'src:"https://cdn.redoc.ly/redoc/logo-mini.svg"': f'src:"{ASSETS}/favicon.png"',
    'href:"https://redocly.com/redoc/"': 'href:"/redoc"',
}


@cache
def redoc_bundle() -> bytes:
    """ReDoc's script with its off-site logo and link pointed at this site."""
    script = resources.files("fastapi_offline").joinpath("static", "redoc.standalone.js").read_text("utf-8")
    for offsite, local in OFFSITE.items():
        script = script.replace(offsite, local)
    return script.encode()


def install(app: FastAPI) -> None:
    folder = resources.files("fastapi_offline").joinpath("static")
    app.mount(ASSETS, StaticFiles(directory=str(folder)), name="docs-assets")

    swagger_page = get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="Serah API",
        swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
        swagger_css_url=f"{ASSETS}/swagger-ui.css",
        swagger_favicon_url=f"{ASSETS}/favicon.png",
    ).body
    redoc_page = get_redoc_html(
        openapi_url="/openapi.json",
        title="Serah API",
        redoc_js_url=REDOC_JS,
        redoc_favicon_url=f"{ASSETS}/favicon.png",
        with_google_fonts=False,
    ).body
    # The site's policy plus what these two pages need and nothing more: Swagger UI
    # starts from one inline script (allowed by its hash, no other inline script runs),
    # both draw icons from data: URLs, and ReDoc runs its search in a worker made from a blob.
    swagger_csp = content_security_policy(script_src=inline_script_hashes(bytes(swagger_page)), img_src="data:")
    redoc_csp = content_security_policy(img_src="data:", worker_src="blob:")

    @app.get("/docs", include_in_schema=False, dependencies=[Depends(public)])
    async def swagger() -> HTMLResponse:
        return HTMLResponse(swagger_page, headers={"Content-Security-Policy": swagger_csp})

    @app.get(REDOC_JS, include_in_schema=False, dependencies=[Depends(public)])
    async def redoc_script() -> Response:
        return Response(redoc_bundle(), media_type="text/javascript", headers={"Cache-Control": "max-age=86400"})

    @app.get("/redoc", include_in_schema=False, dependencies=[Depends(public)])
    async def redoc() -> HTMLResponse:
        return HTMLResponse(redoc_page, headers={"Content-Security-Policy": redoc_csp})
