"""What a route receives from FastAPI besides its request: the gateway's
dependencies and who is asking (``Caller``), and the rule each route states about
who may call it (``allow(...)`` or ``public``). A route without one fails the
authorisation matrix test (tests/unit/test_authorisation.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request, Response

from events.text import same_secret
from services.gateway.auth.model import ANONYMOUS, Principal, Role
from services.gateway.auth.service import Session
from services.gateway.bootstrap import Gateway
from services.gateway.errors import ApiError

SESSION_COOKIE = "serah_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def gateway(request: Request) -> Gateway:
    gw: Gateway = request.app.state.gateway
    return gw


GW = Annotated[Gateway, Depends(gateway)]


async def caller(request: Request, gw: GW) -> Principal:
    """A device by its bearer token, else a person by their session cookie, else
    anonymous. A wrong or revoked token is refused outright, never read as anonymous.
    A change made with a session cookie must carry the session's CSRF token."""
    if cached := getattr(request.state, "principal", None):
        return cached  # type: ignore[no-any-return]
    principal = ANONYMOUS
    auth = request.headers.get("authorization", "")
    if auth:
        scheme, _, token = auth.partition(" ")
        found = await gw.identity.from_token(token.strip()) if scheme.lower() == "bearer" else None
        if found is None:
            raise ApiError(
                401,
                "token_refused",
                "This device's token is not valid (unknown, revoked or mistyped): enrol the device again.",
            )
        principal = found
    elif cookie := request.cookies.get(SESSION_COOKIE):
        session = await gw.identity.from_session(cookie)
        if session is not None:
            principal, csrf = session
            if request.method not in SAFE_METHODS:
                sent = request.headers.get(CSRF_HEADER, "")
                if not sent or not same_secret(csrf, sent):
                    raise ApiError(
                        403,
                        "csrf_token_missing",
                        f"A change made while signed in must carry the {CSRF_HEADER} header that sign-in gave; "
                        "reload the page and try again.",
                    )
    request.state.principal = principal
    return principal


Caller = Annotated[Principal, Depends(caller)]


class PageRefused(ApiError):
    """A page's refusal: answered as a page for a person (services/gateway/web: sign in
    first, or what is missing), not as problem JSON."""


class Rule:
    """Who may call a route: anyone (``public``), anyone signed in (``signed_in``), or
    whoever holds one of ``roles``. Kept on the dependency so the route table can be read.
    A page's rule (``page``) refuses with a page."""

    def __init__(self, *roles: Role, anyone: bool = False, page: bool = False) -> None:
        self.roles, self.anyone, self.page = frozenset(roles), anyone, page

    def __repr__(self) -> str:
        return "public" if self.anyone else f"allow({', '.join(sorted(self.roles)) or 'signed in'})"

    def dependency(self) -> Callable[[Principal], Awaitable[Principal]]:
        rule = self

        async def check(who: Caller) -> Principal:
            refuse = PageRefused if rule.page else ApiError
            if rule.anyone:
                return who
            if who.kind == "anonymous":
                raise refuse(401, "sign_in_required", "Sign in (POST /api/v1/session) or send a device's bearer token.")
            if rule.roles and not (who.roles() & rule.roles):
                need = " or ".join(sorted(rule.roles))
                raise refuse(403, "not_allowed", f"This needs the role {need}; ask an administrator to grant it.")
            return who

        check.rule = rule  # type: ignore[attr-defined]
        return check


def allow(*roles: Role) -> Callable[[Principal], Awaitable[Principal]]:
    """Only whoever holds one of ``roles`` (none given: anyone signed in)."""
    return Rule(*roles).dependency()


def page_allow(*roles: Role) -> Callable[[Principal], Awaitable[Principal]]:
    """A page only whoever holds one of ``roles`` may see; anyone else is sent to sign in."""
    return Rule(*roles, page=True).dependency()


def page_form(*roles: Role) -> Callable[[Request, Gateway], Awaitable[Principal]]:
    """A page's form that changes something: a device by its token, or a person by the
    session cookie with the session's CSRF token in the form's ``csrf_token`` field (a
    browser's form cannot send the header); then ``roles`` as for any page."""

    async def check(request: Request, gw: GW) -> Principal:
        if request.headers.get("authorization"):
            who = await caller(request, gw)
        else:
            who = ANONYMOUS
            cookie = request.cookies.get(SESSION_COOKIE)
            session = await gw.identity.from_session(cookie) if cookie else None
            if session is not None:
                sent = (await request.form()).get("csrf_token")
                if not isinstance(sent, str) or not same_secret(session[1], sent):
                    raise PageRefused(
                        403, "csrf_token_missing", "This form has expired: reload the page and send it again."
                    )
                who = session[0]
            request.state.principal = who
        return await rule.dependency()(who)

    rule = Rule(*roles, page=True)
    check.rule = rule  # type: ignore[attr-defined]
    return check


public = Rule(anyone=True).dependency()


async def form_post(request: Request, gw: GW) -> Principal:
    """A page's form that checks its own form token (sign-in, sign-out): the session
    cookie is not read here, where it would ask for the CSRF header; a device's token
    is, so a revoked one is refused here as everywhere."""
    if request.headers.get("authorization"):
        return await caller(request, gw)
    return ANONYMOUS


form_post.rule = Rule(anyone=True)  # type: ignore[attr-defined]


def rule_of(dependency: object) -> Rule | None:
    return getattr(dependency, "rule", None)


# Who may call a route, as a parameter the route also uses for the actor.
Anyone = Annotated[Principal, Depends(public)]
FormPost = Annotated[Principal, Depends(form_post)]
SignedIn = Annotated[Principal, Depends(allow())]
Admin = Annotated[Principal, Depends(allow(Role.ADMIN))]
Operator = Annotated[Principal, Depends(allow(Role.OPERATOR))]
Warehouse = Annotated[Principal, Depends(allow(Role.WAREHOUSE))]
Dispatcher = Annotated[Principal, Depends(allow(Role.WAREHOUSE, Role.OPERATOR))]
Recipient = Annotated[Principal, Depends(allow(Role.RECIPIENT))]
HolderOnly = Annotated[Principal, Depends(allow(Role.HOLDER))]
Attester = Annotated[Principal, Depends(allow(Role.RECIPIENT, Role.HOLDER))]
# an office's recipient official, or an operator for the centre (losses, write-off proposals, transfers)
Custodian = Annotated[Principal, Depends(allow(Role.RECIPIENT, Role.OPERATOR))]
Auditor = Annotated[Principal, Depends(allow(Role.AUDITOR))]
AuditorPage = Annotated[Principal, Depends(page_allow(Role.AUDITOR))]
RecipientPage = Annotated[Principal, Depends(page_allow(Role.RECIPIENT))]
RecipientForm = Annotated[Principal, Depends(page_form(Role.RECIPIENT))]
WarehousePage = Annotated[Principal, Depends(page_allow(Role.WAREHOUSE))]
WarehouseForm = Annotated[Principal, Depends(page_form(Role.WAREHOUSE))]


def set_session_cookie(response: Response, gw: Gateway, session: Session) -> None:
    """The session cookie: HttpOnly (no script reads it), SameSite=Lax (another site's
    form cannot send it), Secure whenever the gateway is served over HTTPS."""
    response.set_cookie(
        SESSION_COOKIE,
        session.token,
        max_age=int((session.expires_at - gw.clock()).total_seconds()),
        httponly=True,
        secure=gw.settings.public_base_url.startswith("https://"),
        samesite="lax",
        path="/",
    )
