"""What the pages' forms share: reading a field, the session's CSRF token to put in a
form, a consignment number typed from paper, and the API's answer to a command read back
as the decision a page shows."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import JSONResponse
from starlette.datastructures import FormData

from services.gateway.auth.model import Principal
from services.gateway.bootstrap import Gateway
from services.gateway.deps import SESSION_COOKIE

# A consignment number as typed or pasted from a manifest or a pick list (spaces around it
# are the paper's, not the number's).
TypedConsignment = Annotated[str, Query(pattern=r"^\s*[A-Za-z0-9._-]{1,64}\s*$")]


def field(form: FormData, name: str) -> str:
    """A text field, trimmed; empty when absent (or a file)."""
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


async def session_csrf(request: Request, gw: Gateway, who: Principal) -> str:
    """The token a signed-in person's form sends back; none for a device (its bearer token
    is not a cookie a form could be forged with)."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if who.kind != "person" or not cookie:
        return ""
    session = await gw.identity.from_session(cookie)
    return session[1] if session else ""


def decision(answer: JSONResponse) -> dict[str, Any]:
    """The API route's answer: its decision (a refusal is problem+json: its ``code``)."""
    found: dict[str, Any] = json.loads(bytes(answer.body))
    return found
