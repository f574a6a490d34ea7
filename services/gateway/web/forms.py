"""What the pages' forms share: reading a field, the session's CSRF token to put in a
form, a consignment number typed from paper, and sending the API's route a command and
reading its answer back as the decision a page shows — or as the refusal the page shows
beside the form, with what was entered kept."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.datastructures import FormData

from events.catalog import Official
from services.gateway.auth.model import Principal
from services.gateway.bootstrap import Gateway
from services.gateway.deps import SESSION_COOKIE
from services.gateway.errors import ApiError

# A consignment number as typed or pasted from a manifest or a pick list (spaces around it
# are the paper's, not the number's).
TypedConsignment = Annotated[str, Query(pattern=r"^\s*[A-Za-z0-9._-]{1,64}\s*$")]


def field(form: FormData, name: str) -> str:
    """A text field, trimmed; empty when absent (or a file)."""
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def named_official(who: Principal, field: Callable[[str], str], code: str, problem: str) -> Official | None:
    """Who signs what the form sends: a signed-in person signs as themselves (None: the
    API takes them); a shared device names the official in the form's ``name``, ``nip``
    and ``jabatan`` fields, or is refused with ``code`` and ``problem``."""
    if who.kind == "person":
        return None
    try:
        return Official(name=field("name"), nip=field("nip"), jabatan=field("jabatan"))
    except ValidationError as exc:
        raise Refused(422, code, problem) from exc


async def session_csrf(request: Request, gw: Gateway, who: Principal) -> str:
    """The token a signed-in person's form sends back; none for a device (its bearer token
    is not a cookie a form could be forged with)."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if who.kind != "person" or not cookie:
        return ""
    session = await gw.identity.from_session(cookie)
    return session[1] if session else ""


class Refused(Exception):
    """Why a form's command was not done, for its page to show beside the form."""

    def __init__(self, status: int, code: str | None, problem: str | None) -> None:
        super().__init__(problem)
        self.status, self.code, self.problem = status, code, problem

    def shown(self) -> dict[str, Any]:
        """What the page's re-render takes: ``problem``, ``code``, ``status``."""
        return {"problem": self.problem, "code": self.code, "status": self.status}


def invalid(exc: ValidationError, code: str | None = None) -> Refused:
    """A form the API's body refused to take: its first error, where and why."""
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    return Refused(422, code, f"{where}: {first['msg']}")


async def send(command: Awaitable[JSONResponse]) -> dict[str, Any]:
    """The decision the API's route answers ``command`` with; its refusals, an error or a
    decision ``rejected`` (problem+json, with its ``code``), raised as ``Refused``."""
    try:
        answer = await command
    except ApiError as exc:
        raise Refused(exc.status, exc.code, exc.detail) from exc
    found: dict[str, Any] = json.loads(bytes(answer.body))
    if found.get("decision") == "rejected":
        raise Refused(answer.status_code, found.get("code"), found.get("detail"))
    return found
