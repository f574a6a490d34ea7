"""Signing in and out, who am I, and the administrator's accounts and devices."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from services.gateway.adapters import qr
from services.gateway.api.render import problems
from services.gateway.api.requests import Body
from services.gateway.auth.model import Grant, GrantList, Principal
from services.gateway.deps import CSRF_HEADER, GW, SESSION_COOKIE, Admin, Anyone, SignedIn, set_session_cookie
from services.gateway.errors import ApiError
from services.gateway.protection.ratelimit import LOGINS, limit

router = APIRouter(prefix="/api/v1", tags=["identity"])
AccountId = Annotated[str, Path(pattern=r"^(nip-[0-9]{18}|acct-[a-z0-9-]{1,48})$")]
DeviceId = Annotated[str, Path(pattern=r"^dev-[0-9a-f]{12}$")]
NIP = r"^[0-9]{18}$"


class SignIn(Body):
    account: str = Field(min_length=1, max_length=64, description="Your NIP, or your account id.")
    password: str = Field(min_length=1, max_length=256)


class SignedInAs(BaseModel):
    kind: str = Field(description="`person` or `device`.")
    id: str
    name: str
    nip: str | None = None
    jabatan: str | None = None
    actor: str = Field(description="How the history records what you do.")
    grants: list[Grant]
    csrf_token: str | None = Field(
        default=None, description=f"Send it in the `{CSRF_HEADER}` header with every change made with the cookie."
    )
    expires_at: datetime | None = None


class NewAccount(Body):
    name: str = Field(min_length=1, max_length=128)
    nip: str | None = Field(default=None, pattern=NIP, description="18 digits, for a civil servant.")
    jabatan: str | None = Field(default=None, max_length=128)
    grants: list[Grant] = Field(min_length=1, max_length=600)
    password: str = Field(min_length=12, max_length=256, description="At least 12 characters.")


class AccountPublic(BaseModel):
    id: str
    name: str
    nip: str | None
    jabatan: str | None
    grants: list[Grant]
    locked_until: datetime | None = None
    disabled: bool = False


class NewDevice(Body):
    name: str = Field(min_length=1, max_length=128, examples=["HP gudang 1", "Tablet Kesbangpol Kota Bandung"])
    grants: list[Grant] = Field(min_length=1, max_length=20)


class DevicePublic(BaseModel):
    id: str
    name: str
    grants: list[Grant]
    enrolled_at: datetime
    enrolled_by: str
    last_used_at: datetime | None
    revoked_at: datetime | None
    revoked_by: str | None


class EnrolledDevice(DevicePublic):
    token: str = Field(description="Shown once: the device keeps it; Serah keeps only its hash.")
    enrol_qr_svg: str = Field(description="The token as a QR code for the device to scan.")


def _as(who: Principal, **extra: Any) -> SignedInAs:
    return SignedInAs(
        kind=who.kind,
        id=who.id,
        name=who.name,
        nip=who.nip,
        jabatan=who.jabatan,
        actor=who.actor,
        grants=list(who.grants),
        **extra,
    )


@router.post(
    "/session",
    response_model=SignedInAs,
    responses=problems(401),
    dependencies=[Depends(limit(LOGINS))],
    summary="Sign in: a session cookie and the CSRF token to send with changes",
)
async def sign_in(who: Anyone, body: SignIn, request: Request, gw: GW) -> JSONResponse:
    """`401 sign_in_refused` names neither which was wrong nor whether the account exists;
    after 5 wrong passwords in a row the account is locked for 15 minutes (`429 account_locked`,
    with `Retry-After`), and each address may try only so often (`429 rate_limited`)."""
    session = await gw.identity.login(body.account, body.password)
    person = await gw.identity.from_session(session.token)
    assert person is not None  # just made
    answer = _as(person[0], csrf_token=session.csrf, expires_at=session.expires_at)
    response = JSONResponse(answer.model_dump(mode="json"))
    set_session_cookie(response, gw, session)
    return response


@router.delete(
    "/session", status_code=204, response_class=Response, summary="Sign out: the session ends on the server too"
)
async def sign_out(who: SignedIn, request: Request, gw: GW) -> Response:
    """The cookie is cleared and the session deleted, so a copied cookie stops working at once."""
    if token := request.cookies.get(SESSION_COOKIE):
        await gw.identity.logout(token)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/me", response_model=SignedInAs, responses=problems(401), summary="Who this request acts as")
async def me(who: SignedIn) -> SignedInAs:
    """The person or device, its grants, and how the history records it."""
    return _as(who)


def _account(doc: dict[str, Any]) -> AccountPublic:
    return AccountPublic(id=doc["_id"], **{k: doc.get(k) for k in ("name", "nip", "jabatan", "grants", "locked_until")})


@router.post(
    "/accounts",
    status_code=201,
    response_model=AccountPublic,
    responses=problems(401, 403, 409),
    summary="Create an account with its roles",
)
async def create_account(who: Admin, body: NewAccount, gw: GW) -> AccountPublic:
    """The account id is `nip-<NIP>` for a civil servant; `409 account_exists` if it is taken.
    Recorded in the history as `AccountCreated` (name, NIP, jabatan, roles; never the password),
    with you as its actor."""
    from services.gateway.auth.store import AlreadyThere

    try:
        doc = await gw.identity.create_account(
            name=body.name, nip=body.nip, jabatan=body.jabatan, grants=body.grants, password=body.password, by=who
        )
    except AlreadyThere:
        raise ApiError(
            409, "account_exists", "An account with this NIP (or name) exists: grant it roles instead."
        ) from None
    return _account(doc)


@router.get("/accounts", response_model=list[AccountPublic], responses=problems(401, 403), summary="Every account")
async def list_accounts(who: Admin, gw: GW) -> list[AccountPublic]:
    """Names, NIPs, roles and lock state; never a password hash."""
    return [_account(d) for d in await gw.identity.store.accounts()]


@router.put(
    "/accounts/{account_id}/grants",
    response_model=AccountPublic,
    responses=problems(401, 403, 404),
    summary="Replace an account's roles; its sessions end",
)
async def set_grants(who: Admin, account_id: AccountId, body: GrantList, gw: GW) -> AccountPublic:
    """The person signs in again to act with the new roles. Recorded as `AccountGrantsChanged`."""
    return _account(await gw.identity.set_grants(account_id, body.grants, who))


def _device(doc: dict[str, Any]) -> dict[str, Any]:
    keys = ("name", "grants", "enrolled_at", "enrolled_by", "last_used_at", "revoked_at", "revoked_by")
    return {"id": doc["_id"], **{k: doc.get(k) for k in keys}}


@router.post(
    "/devices",
    status_code=201,
    response_model=EnrolledDevice,
    responses=problems(401, 403),
    summary="Enrol a scanner or phone: its token, shown once, as text and QR",
)
async def enrol_device(who: Admin, body: NewDevice, gw: GW) -> EnrolledDevice:
    """The device sends `Authorization: Bearer <token>`; revoke it with `DELETE /api/v1/devices/{id}`.
    Recorded as `DeviceEnrolled` (name and roles; never the token)."""
    doc, token = await gw.identity.enrol_device(name=body.name, grants=body.grants, by=who)
    return EnrolledDevice(**_device(doc), token=token, enrol_qr_svg=qr.svg(token).decode())


@router.get("/devices", response_model=list[DevicePublic], responses=problems(401, 403), summary="Every device")
async def list_devices(who: Admin, gw: GW) -> list[DevicePublic]:
    """With when each was last used and, if so, when and by whom it was revoked."""
    return [DevicePublic(**_device(d)) for d in await gw.identity.store.devices()]


@router.delete(
    "/devices/{device_id}",
    response_model=DevicePublic,
    responses=problems(401, 403, 404),
    summary="Revoke a device: its token stops working at once",
)
async def revoke_device(who: Admin, device_id: DeviceId, gw: GW) -> DevicePublic:
    """Only this device is cut off; revoking it again changes nothing. Recorded as `DeviceRevoked`."""
    return DevicePublic(**_device(await gw.identity.revoke_device(device_id, who)))
