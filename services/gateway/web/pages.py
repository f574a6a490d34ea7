"""Every page for people, as routes: the home page, the public label page a phone
camera opens, the sign-in page, and the BAST record page with its PDF check. Each
route reads what its page shows (``label``, ``bast``) and renders its template."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.gateway.api.consignments import BastSeq, ConsignmentId
from services.gateway.auth.model import Principal
from services.gateway.auth.oidc import state_key
from services.gateway.bootstrap import Gateway
from services.gateway.deps import GW, SESSION_COOKIE, Anyone, FormPost
from services.gateway.errors import ApiError
from services.gateway.openapi import html_page
from services.gateway.protection.ratelimit import LOGINS, limit
from services.gateway.uploads import PAGE_UPLOAD, hash_upload
from services.gateway.web import bast, forms, i18n, label, render, signing

router = APIRouter()
# Where a label page's visitor signs in for the actions of their role.
SIGN_IN_URL = "/masuk"
# Signing in through the organisation's identity provider, and how long a sign-in
# started there may take before it comes back.
SSO_PATH = "/masuk/sso"
SSO_COOKIE_S = 600


@router.get(
    "/",
    tags=["pages"],
    response_class=HTMLResponse,
    responses=html_page("Links to the API documentation and the service status."),
    summary="The home page",
)
async def index(who: Anyone, request: Request) -> HTMLResponse:
    """In Bahasa Indonesia with English."""
    return render(request, "index.html")


# Only the first is a label's path; the others are answered (as damaged labels) rather
# than redirected, so no other spelling of a label ever ends on a green page.
@router.get("/L/{asset}/{key}/{signature}", include_in_schema=False)
@router.get("/L/{asset}/{key}/{signature}/", include_in_schema=False)
@router.get("/l/{asset}/{key}/{signature}", include_in_schema=False)
@router.get("/l/{asset}/{key}/{signature}/", include_in_schema=False)
async def label_page(who: Anyone, request: Request, gw: GW, asset: str, key: str, signature: str) -> HTMLResponse:
    # The path exactly as requested (not re-assembled from its decoded parts),
    # so /l/…, %-escapes or a trailing slash are refused like any other spelling.
    raw = request.scope.get("raw_path") or request.url.path.encode()
    judged = await label.judge(gw, raw.decode("latin-1").removeprefix(request.scope.get("root_path", "")))
    if isinstance(judged, label.LabelWarning):
        return render(request, "label.html", status=judged.status, warning=judged)
    # Signed in, the visitor comes back to this label: the actions of their role start here.
    back = quote(request.url.path, safe="/")
    return render(request, "label.html", warning=None, genuine=judged, sign_in=f"{SIGN_IN_URL}?next={back}")


@router.get("/bahasa/{lang}", include_in_schema=False)
async def switch_language(who: Anyone, lang: i18n.Lang, next: str = "/") -> Response:
    """The language switch every page's header carries: remembered a year, back to the page.
    A language Serah does not speak is refused (422), not silently ignored."""
    response = RedirectResponse(signing.safe_next(next), status_code=303)
    response.set_cookie(i18n.COOKIE, lang, max_age=365 * 24 * 3600, samesite="lax", path="/")
    return response


@router.get("/masuk", include_in_schema=False)
async def sign_in(who: Anyone, request: Request, gw: GW, next: str = "/") -> HTMLResponse:
    """The sign-in form, or who is signed in with a sign-out button."""
    return await _sign_in_page(request, gw, who, next=next)


@router.post("/masuk", include_in_schema=False, dependencies=[Depends(limit(LOGINS))])
async def sign_in_form(who: FormPost, request: Request, gw: GW) -> Response:
    """The form posts here: a session cookie and on to ``next`` (a path on this site
    only), or the form again with the reason. The form carries a token matching a
    cookie set with it, so another site cannot sign a browser in to an account of its choosing."""
    form = await request.form()

    def field(name: str) -> str:
        value = form.get(name)
        return value if isinstance(value, str) else ""

    nxt = signing.safe_next(field("next"))
    if not signing.same_token(request.cookies.get(signing.FORM_COOKIE), field("csrf_token")):
        problem = signing.problem("csrf_token_missing")
        return await _sign_in_page(request, gw, who, next=nxt, problem=problem, status=403)
    try:
        session = await gw.identity.login(field("account"), field("password"))
    except ApiError as exc:
        page = await _sign_in_page(
            request, gw, who, next=nxt, problem=signing.problem(exc.code, exc.detail), account=field("account")
        )
        page.status_code = exc.status
        return page
    response = RedirectResponse(nxt, status_code=303)
    signing.set_session(response, gw, session)
    return response


@router.get("/masuk/sso", include_in_schema=False, dependencies=[Depends(limit(LOGINS))])
async def sign_in_sso(who: Anyone, request: Request, gw: GW, next: str = "/") -> Response:
    """Off to the organisation's identity provider. The sign-in's state goes with the
    browser (a cookie only this path and its callback read) and, hashed, into the store."""
    nxt = signing.safe_next(next)
    if gw.sso is None:
        return await _sign_in_page(request, gw, who, next=nxt, problem=signing.problem("sso_off"), status=404)
    try:
        started = await gw.sso.begin(nxt)
    except ApiError as exc:
        return await _sign_in_page(
            request, gw, who, next=nxt, problem=signing.problem(exc.code, exc.detail), status=exc.status
        )
    await gw.identity.start_federated(started.record)
    response = RedirectResponse(started.url, status_code=303)
    # Lax, not Strict: the provider sends the browser back with a top-level navigation
    # from its own site, which a Strict cookie would not survive.
    response.set_cookie(
        signing.SSO_COOKIE,
        started.state,
        max_age=SSO_COOKIE_S,
        httponly=True,
        secure=gw.settings.public_base_url.startswith("https://"),
        samesite="lax",
        path=SSO_PATH,
    )
    return response


@router.get(SSO_PATH + "/kembali", include_in_schema=False, dependencies=[Depends(limit(LOGINS))])
async def sign_in_sso_back(
    who: Anyone,
    request: Request,
    gw: GW,
    code: str = Query("", max_length=4096),
    state: str = Query("", max_length=256),
    error: str = Query("", max_length=256),
) -> Response:
    """The provider sends the browser back here: the state must be the one this browser
    started (its cookie) and not used before; the code becomes a session."""
    if gw.sso is None:
        return await _sign_in_page(request, gw, who, next="/", problem=signing.problem("sso_off"), status=404)
    started = None
    if state and signing.same_token(request.cookies.get(signing.SSO_COOKIE), state):
        started = await gw.identity.take_federated(state_key(state))  # once, whatever follows
    if started is None:
        return await _sign_in_page(request, gw, who, next="/", problem=signing.problem("sso_state"), status=400)
    nxt = signing.safe_next(str(started["next"]))
    if error or not code:
        return await _sign_in_page(request, gw, who, next=nxt, problem=signing.problem("sso_cancelled"), status=401)
    try:
        session = await gw.identity.sign_in_federated(await gw.sso.finish(code, started))
    except ApiError as exc:
        return await _sign_in_page(
            request, gw, who, next=nxt, problem=signing.problem(exc.code, exc.detail), status=exc.status
        )
    response = RedirectResponse(nxt, status_code=303)
    signing.set_session(response, gw, session)
    response.delete_cookie(signing.SSO_COOKIE, path=SSO_PATH)
    return response


@router.post("/keluar", include_in_schema=False)
async def sign_out_form(who: FormPost, request: Request, gw: GW) -> Response:
    """Ends the session on the server (the form carries the session's CSRF token)."""
    token = request.cookies.get(SESSION_COOKIE)
    form = await request.form()
    session = await gw.identity.from_session(token) if token else None
    if session is not None and signing.same_token(session[1], str(form.get("csrf_token") or "")):
        await gw.identity.logout(token or "")
    response = RedirectResponse("/masuk", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


async def _sign_in_page(
    request: Request,
    gw: Gateway,
    who: Principal,
    *,
    next: str,
    problem: dict[str, str] | None = None,
    account: str = "",
    status: int = 200,
) -> HTMLResponse:
    csrf = await forms.session_csrf(request, gw, who)
    form_token = signing.new_form_token()
    page = render(
        request,
        "sign_in.html",
        status=status,
        who=who,
        csrf=csrf,
        form_token=form_token,
        next=signing.safe_next(next),
        problem=problem,
        account=account,
        sso_name=gw.settings.oidc_display_name if gw.sso is not None else None,
    )
    page.set_cookie(signing.FORM_COOKIE, form_token, httponly=True, samesite="strict", path="/masuk")
    return page


@router.get(
    "/bast/{consignment_id}",
    tags=["pages"],
    response_class=HTMLResponse,
    responses=html_page("The record page (Bahasa Indonesia with English); says so when there is no such BAST yet."),
    summary="The BAST record page a BAST's QR code opens",
)
async def bast_page(
    who: Anyone, request: Request, consignment_id: ConsignmentId, gw: GW, seq: BastSeq = 1
) -> HTMLResponse:
    """What the BAST records (number, date, office, how many laptops, the PDF's SHA-256) and a
    form to check a PDF file; signed in, also who handed over and who received (names, NIPs),
    the legal basis, the laptops with links to their pages, and the PDF."""
    signed_in = who.kind != "anonymous"
    doc = await gw.consignments.bast(consignment_id, seq)
    facts = await bast.facts(gw, consignment_id, seq, doc, signed_in)
    record = bast.record(doc, facts, signed_in) if doc is not None else None
    return render(
        request, "bast.html", consignment_id=consignment_id, seq=seq, record=record, matches=None, sign_in=SIGN_IN_URL
    )


@router.post(
    "/bast/{consignment_id}",
    tags=["pages"],
    response_class=HTMLResponse,
    responses={
        **html_page("The record page with the verdict on the file sent."),
        404: {"description": "No such BAST.", "content": {"text/html": {"schema": {"type": "string"}}}},
    },
    summary="Check a PDF file on the BAST record page",
    openapi_extra={"requestBody": PAGE_UPLOAD},
)
async def bast_page_check(
    who: FormPost, request: Request, consignment_id: ConsignmentId, gw: GW, seq: BastSeq = 1
) -> HTMLResponse:
    """The record page's form posts here and gets the page back with the verdict
    (the JSON verify endpoint is for programs; a person wants a sentence). Checking a
    file changes nothing, so a signed-in person's page needs no CSRF token here: their
    session cookie is read only to show them what they may read."""
    doc = await gw.consignments.bast(consignment_id, seq)
    if doc is None:
        return render(request, "bast.html", 404, consignment_id=consignment_id, seq=seq, record=None, matches=None)
    checked = await hash_upload(request)
    signed_in = who.kind != "anonymous" or await _has_session(request, gw)
    facts = await bast.facts(gw, consignment_id, seq, doc, signed_in)
    return render(
        request,
        "bast.html",
        consignment_id=consignment_id,
        seq=seq,
        record=bast.record(doc, facts, signed_in),
        matches=bast.verdict(doc["recorded_sha256"], checked),
        checked=checked,
        sign_in=SIGN_IN_URL,
    )


async def _has_session(request: Request, gw: Gateway) -> bool:
    token = request.cookies.get(SESSION_COOKIE)
    return bool(token) and await gw.identity.from_session(token or "") is not None
