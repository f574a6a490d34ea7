"""Accounts, sessions and devices: signing in (argon2id, lock-out), sessions with a
CSRF token, device tokens shown once and kept only as hashes, revocation that
takes effect on the next request. Pure rules over an ``IdentityStore``."""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from services.gateway.auth.model import Grant, Principal, account_id_for
from services.gateway.auth.store import IdentityStore
from services.gateway.errors import ApiError

MIN_PASSWORD = 12
TOKEN_PREFIX = "srh_"
_HASHER = PasswordHasher()  # argon2id with the library's current parameters


@cache
def _dummy() -> str:
    """A hash to verify against when the account does not exist, so a guess at a
    name that is not there costs the same time as one that is (no account probing)."""
    return _HASHER.hash("serah-no-such-account")


class IdentityError(ApiError):
    """A refusal about signing in or about an account or device, answered as problem+json."""

    def __init__(self, status: int, code: str, detail: str, retry_after_s: int | None = None) -> None:
        super().__init__(status, code, detail, **({"retry_after_s": retry_after_s} if retry_after_s else {}))


@dataclass(frozen=True)
class Policy:
    session_hours: float = 12.0
    lock_after: int = 5  # failed sign-ins in a row lock the account ...
    lock_minutes: float = 15.0  # ... for this long
    touch_every_s: float = 60.0  # last-used times are written at most this often


@dataclass(frozen=True)
class Session:
    token: str  # the cookie's value: shown to the browser only
    csrf: str  # sent back in X-CSRF-Token (or a form field) with every change
    account_id: str
    expires_at: datetime


def digest(token: str) -> str:
    """Sessions and device tokens are kept as the SHA-256 of 256 random bits: a
    stolen store gives nothing to sign in with (no need for a slow hash here)."""
    return hashlib.sha256(token.encode()).hexdigest()


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise IdentityError(
            422, "weak_password", f"A password needs at least {MIN_PASSWORD} characters; a short sentence is best."
        )


def login_id(given: str) -> str:
    """An account is named by its id or, for a civil servant, by the NIP alone."""
    given = given.strip()
    return f"nip-{given}" if given.isdigit() and given.isascii() else given


class Identity:
    def __init__(self, store: IdentityStore, clock: Callable[[], datetime], policy: Policy = Policy()) -> None:
        self.store, self.clock, self.policy = store, clock, policy

    # --- accounts ---

    async def create_account(
        self, *, name: str, nip: str | None, jabatan: str | None, grants: Iterable[Grant], password: str
    ) -> dict[str, Any]:
        check_password(password)
        doc = {
            "_id": account_id_for(name, nip),
            "name": name,
            "nip": nip,
            "jabatan": jabatan,
            "grants": [g.model_dump(mode="json") for g in grants],
            "password_hash": _HASHER.hash(password),
            "failed_logins": 0,
            "locked_until": None,
            "created_at": self.clock(),
            "disabled": False,
        }
        await self.store.add_account(doc)
        return {k: v for k, v in doc.items() if k != "password_hash"}

    async def set_grants(self, account_id: str, grants: Iterable[Grant]) -> dict[str, Any]:
        doc = await self.store.update_account(account_id, {"grants": [g.model_dump(mode="json") for g in grants]})
        if doc is None:
            raise IdentityError(404, "unknown_account", f"No account {account_id}: see GET /api/v1/accounts.")
        await self.store.end_sessions_of(account_id)  # new rights, new sign-in
        return {k: v for k, v in doc.items() if k != "password_hash"}

    # --- signing in ---

    async def login(self, given: str, password: str) -> Session:
        now = self.clock()
        account_id = login_id(given)
        doc = await self.store.account(account_id)
        locked = doc is not None and doc.get("locked_until") is not None and doc["locked_until"] > now
        if doc is None or doc.get("disabled") or locked:
            _verify(_dummy(), password)  # the same work as a real check
            if locked:
                wait = math.ceil((doc["locked_until"] - now).total_seconds())  # type: ignore[index]
                raise IdentityError(
                    429,
                    "account_locked",
                    f"Too many wrong passwords: this account is locked for {math.ceil(wait / 60)} more minute(s). "
                    "Wait, or ask an administrator.",
                    retry_after_s=wait,
                )
            raise _refused()
        if not _verify(doc["password_hash"], password):
            failures = await self.store.count_failure(account_id, now)
            if failures >= self.policy.lock_after:
                until = now + timedelta(minutes=self.policy.lock_minutes)
                await self.store.update_account(account_id, {"locked_until": until, "failed_logins": 0})
            raise _refused()
        await self.store.update_account(account_id, {"failed_logins": 0, "locked_until": None, "last_login_at": now})
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
        expires = now + timedelta(hours=self.policy.session_hours)
        await self.store.add_session(
            {"_id": digest(token), "account_id": account_id, "csrf": csrf, "created_at": now, "expires_at": expires}
        )
        return Session(token=token, csrf=csrf, account_id=account_id, expires_at=expires)

    async def logout(self, token: str) -> None:
        await self.store.end_session(digest(token))

    async def from_session(self, token: str) -> tuple[Principal, str] | None:
        """The person a session cookie belongs to and the session's CSRF token, or None."""
        session = await self.store.session(digest(token))
        now = self.clock()
        if session is None or session["expires_at"] <= now:
            return None
        doc = await self.store.account(session["account_id"])
        if doc is None or doc.get("disabled"):
            return None
        return _person(doc), str(session["csrf"])

    # --- devices ---

    async def enrol_device(self, *, name: str, grants: Iterable[Grant], by: Principal) -> tuple[dict[str, Any], str]:
        """A device and its bearer token (shown once): ``srh_<device id>_<secret>``."""
        device_id = f"dev-{secrets.token_hex(6)}"
        token = f"{TOKEN_PREFIX}{device_id}_{secrets.token_urlsafe(32)}"
        doc = {
            "_id": device_id,
            "name": name,
            "grants": [g.model_dump(mode="json") for g in grants],
            "token_hash": digest(token),
            "enrolled_at": self.clock(),
            "enrolled_by": by.actor,
            "last_used_at": None,
            "revoked_at": None,
            "revoked_by": None,
        }
        await self.store.add_device(doc)
        return {k: v for k, v in doc.items() if k != "token_hash"}, token

    async def revoke_device(self, device_id: str, by: Principal) -> dict[str, Any]:
        doc = await self.store.device(device_id)
        if doc is None:
            raise IdentityError(404, "unknown_device", f"No device {device_id}: see GET /api/v1/devices.")
        if doc.get("revoked_at") is None:
            doc = await self.store.update_device(device_id, {"revoked_at": self.clock(), "revoked_by": by.actor}) or doc
        return {k: v for k, v in doc.items() if k != "token_hash"}

    async def from_token(self, token: str) -> Principal | None:
        """The device a bearer token belongs to, or None (unknown, wrong or revoked)."""
        if not token.startswith(TOKEN_PREFIX) or token.count("_") < 2:
            return None
        device_id = token[len(TOKEN_PREFIX) :].split("_", 1)[0]
        doc = await self.store.device(device_id)
        if doc is None or doc.get("revoked_at") is not None:
            return None
        if not hmac.compare_digest(doc["token_hash"], digest(token)):
            return None
        now = self.clock()
        last = doc.get("last_used_at")
        if last is None or (now - last).total_seconds() >= self.policy.touch_every_s:
            await self.store.update_device(device_id, {"last_used_at": now})
        return Principal(
            kind="device",
            id=device_id,
            name=str(doc["name"]),
            grants=tuple(Grant.model_validate(g) for g in doc.get("grants", [])),
        )


def _person(doc: dict[str, Any]) -> Principal:
    return Principal(
        kind="person",
        id=str(doc["_id"]),
        name=str(doc["name"]),
        grants=tuple(Grant.model_validate(g) for g in doc.get("grants", [])),
        nip=doc.get("nip"),
        jabatan=doc.get("jabatan"),
    )


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _refused() -> IdentityError:
    return IdentityError(
        401, "sign_in_refused", "The account or the password is not right. Check both; after 5 tries the account locks."
    )
