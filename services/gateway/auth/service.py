"""Accounts, sessions and devices: signing in (argon2id, lock-out), sessions with a
CSRF token, device tokens shown once and kept only as hashes, revocation that
takes effect on the next request. Pure rules over an ``IdentityStore``.

What an administrator changes (an account created, its grants replaced, a device
enrolled or revoked) is a fact for the history too: the gateway, which decides it,
publishes it on ``serah.events`` with the administrator as its actor. The fact is
written into the changed document together with the change (``unpublished``), then
published, then crossed off; a crash or a Kafka failure in between leaves it there, and
the gateway publishes it again (every minute while it runs, and at start-up): the same
envelope, the same id, which readers dedupe."""

from __future__ import annotations

import hashlib
import logging
import math
import secrets
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any, Literal

import orjson
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from events import codec
from events.catalog import (
    KEY_PURPOSE,
    AccountCreated,
    AccountGrantsChanged,
    DeviceEnrolled,
    DeviceRevoked,
    KeyRingChanged,
    Payload,
)
from events.envelope import Envelope
from events.text import same_secret
from services.gateway.auth.model import Federated, Grant, Principal, account_id_for
from services.gateway.auth.store import AlreadyThere, IdentityStore
from services.gateway.errors import ApiError

MIN_PASSWORD = 12
TOKEN_PREFIX = "srh_"
SOURCE = "/serah/gateway"
_HASHER = PasswordHasher()  # argon2id with the library's current parameters
log = logging.getLogger(__name__)
# Who the history names for what the gateway notices itself (a key ring it was started
# with): the deployment that changed it is the operator's own record.
SYSTEM = Principal(kind="system", id="gateway", name="Serah gateway")
Publish = Callable[[Envelope], Awaitable[None]]


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


def fact(body: Payload, subject: str, key: str, by: Principal, at: datetime) -> dict[str, Any]:
    """An identity fact as the JSON it is kept and published as. Its id is derived from
    what it records (``key``), so publishing it again is the same message."""
    env = codec.make(
        body, subject=subject, source=SOURCE, time=at, id=codec.event_id(body.TYPE, subject, key, 0), actor=by.actor
    )
    return codec.to_json(env)


def _public(doc: dict[str, Any], secret: str) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k not in (secret, "unpublished")}


class Identity:
    """``publish`` puts a fact on Kafka (the command bus's producer); None where there is
    none (a shell without Kafka): the facts wait in the store for the gateway's start-up."""

    def __init__(
        self,
        store: IdentityStore,
        clock: Callable[[], datetime],
        policy: Policy = Policy(),
        publish: Publish | None = None,
    ) -> None:
        self.store, self.clock, self.policy, self.publish = store, clock, policy, publish

    # --- accounts ---

    async def create_account(
        self,
        *,
        name: str,
        nip: str | None,
        jabatan: str | None,
        grants: Iterable[Grant],
        password: str,
        by: Principal,
    ) -> dict[str, Any]:
        check_password(password)
        account_id, held, now = account_id_for(name, nip), [g.model_dump(mode="json") for g in grants], self.clock()
        created = AccountCreated(account_id=account_id, name=name, nip=nip, jabatan=jabatan, grants=held)
        announced = fact(created, f"account:{account_id}", "created", by, now)
        doc = {
            "_id": account_id,
            "name": created.name,
            "nip": nip,
            "jabatan": created.jabatan,
            "grants": held,
            "password_hash": _HASHER.hash(password),
            "failed_logins": 0,
            "locked_until": None,
            "created_at": now,
            "created_by": by.actor,
            "disabled": False,
            "unpublished": {announced["id"]: announced},
        }
        await self.store.add_account(doc)
        await self._announce("account", account_id, announced)
        return _public(doc, "password_hash")

    async def set_grants(self, account_id: str, grants: Iterable[Grant], by: Principal) -> dict[str, Any]:
        held, now = [g.model_dump(mode="json") for g in grants], self.clock()
        changed = AccountGrantsChanged(account_id=account_id, grants=held)
        what = hashlib.sha256(orjson.dumps(held)).hexdigest()[:16]
        announced = fact(changed, f"account:{account_id}", f"{codec.format_time(now)}|{by.actor}|{what}", by, now)
        doc = await self.store.update_account(account_id, {"grants": held}, announced)
        if doc is None:
            raise IdentityError(404, "unknown_account", f"No account {account_id}: see GET /api/v1/accounts.")
        await self.store.end_sessions_of(account_id)  # new rights, new sign-in
        await self._announce("account", account_id, announced)
        return _public(doc, "password_hash")

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
        if doc.get("password_hash") is None:  # signs in through an identity provider only
            _verify(_dummy(), password)
            raise _refused()
        if not _verify(doc["password_hash"], password):
            failures = await self.store.count_failure(account_id, now)
            if failures >= self.policy.lock_after:
                until = now + timedelta(minutes=self.policy.lock_minutes)
                await self.store.update_account(account_id, {"locked_until": until, "failed_logins": 0})
            raise _refused()
        await self.store.update_account(account_id, {"failed_logins": 0, "locked_until": None, "last_login_at": now})
        return await self._new_session(account_id, now)

    async def sign_in_federated(self, who: Federated) -> Session:
        """A person an identity provider vouched for: their account made, or brought up to
        date with what the provider now says (name, jabatan, grants), then a session. A new
        account and changed grants are facts for the history like an administrator's
        changes, with the person as the actor and the provider named in them. The provider
        is the source of truth: grants an administrator sets here last until the next sign-in."""
        now = self.clock()
        account_id = f"nip-{who.nip}" if who.nip else federated_id(who.issuer, who.subject)
        link = {"issuer": who.issuer, "subject": who.subject}
        held = [g.model_dump(mode="json") for g in who.grants]
        me = Principal(kind="person", id=account_id, name=who.name, grants=who.grants, nip=who.nip, jabatan=who.jabatan)
        doc = await self.store.account(account_id)
        if doc is None:
            created = AccountCreated(
                account_id=account_id, name=who.name, nip=who.nip, jabatan=who.jabatan, grants=held, provider=who.issuer
            )
            announced = fact(created, f"account:{account_id}", "created", me, now)
            doc = {
                "_id": account_id,
                "name": created.name,
                "nip": who.nip,
                "jabatan": created.jabatan,
                "grants": held,
                "federated": link,
                "created_at": now,
                "created_by": me.actor,
                "last_login_at": now,
                "disabled": False,
                "unpublished": {announced["id"]: announced},
            }
            try:
                await self.store.add_account(doc)
            except AlreadyThere:  # the same person signing in twice at once: the first made it
                return await self.sign_in_federated(who)
            await self._announce("account", account_id, announced)
            return await self._new_session(account_id, now)
        if doc.get("federated") != link:
            raise IdentityError(
                409,
                "account_not_federated",
                f"An account {account_id} already exists here and signs in with its own password (or through "
                "another identity provider): sign in with it, or ask an administrator.",
            )
        if doc.get("disabled"):
            raise IdentityError(403, "account_disabled", "This account is disabled here: ask an administrator.")
        changes: dict[str, Any] = {"last_login_at": now, "name": who.name, "jabatan": who.jabatan}
        change: dict[str, Any] | None = None
        if {(g["role"], g["scope"]) for g in doc.get("grants", [])} != {(g["role"], g["scope"]) for g in held}:
            changed = AccountGrantsChanged(account_id=account_id, grants=held, provider=who.issuer)
            what = hashlib.sha256(orjson.dumps(held)).hexdigest()[:16]
            change = fact(changed, f"account:{account_id}", f"{codec.format_time(now)}|{me.actor}|{what}", me, now)
            changes["grants"] = held
        await self.store.update_account(account_id, changes, change)
        if change is not None:
            await self.store.end_sessions_of(account_id)  # sessions made under the old grants end
            await self._announce("account", account_id, change)
        return await self._new_session(account_id, now)

    async def _new_session(self, account_id: str, now: datetime) -> Session:
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
        expires = now + timedelta(hours=self.policy.session_hours)
        await self.store.add_session(
            {"_id": digest(token), "account_id": account_id, "csrf": csrf, "created_at": now, "expires_at": expires}
        )
        return Session(token=token, csrf=csrf, account_id=account_id, expires_at=expires)

    async def start_federated(self, record: dict[str, Any]) -> None:
        """Keep a sign-in sent to the identity provider until it comes back (once)."""
        await self.store.add_sign_in(record, self.clock())

    async def take_federated(self, state_key: str) -> dict[str, Any] | None:
        """The sign-in this state started, once, and only while it has not expired."""
        record = await self.store.take_sign_in(state_key)
        return record if record is not None and record["expires_at"] > self.clock() else None

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
        held, now = [g.model_dump(mode="json") for g in grants], self.clock()
        enrolled = DeviceEnrolled(device_id=device_id, name=name, grants=held)
        announced = fact(enrolled, f"device:{device_id}", "enrolled", by, now)
        doc = {
            "_id": device_id,
            "name": enrolled.name,
            "grants": held,
            "token_hash": digest(token),
            "enrolled_at": now,
            "enrolled_by": by.actor,
            "last_used_at": None,
            "revoked_at": None,
            "revoked_by": None,
            "unpublished": {announced["id"]: announced},
        }
        await self.store.add_device(doc)
        await self._announce("device", device_id, announced)
        return _public(doc, "token_hash"), token

    async def revoke_device(self, device_id: str, by: Principal) -> dict[str, Any]:
        doc = await self.store.device(device_id)
        if doc is None:
            raise IdentityError(404, "unknown_device", f"No device {device_id}: see GET /api/v1/devices.")
        if doc.get("revoked_at") is None:
            now = self.clock()
            revoked = DeviceRevoked(device_id=device_id, name=doc["name"])
            announced = fact(revoked, f"device:{device_id}", "revoked", by, now)
            changes = {"revoked_at": now, "revoked_by": by.actor}
            doc = await self.store.update_device(device_id, changes, announced) or doc
            await self._announce("device", device_id, announced)
        return _public(doc, "token_hash")

    # --- key rings ---

    async def record_key_ring(
        self, purpose: KEY_PURPOSE, accepted: list[str], public_keys: dict[str, str], *, active: bool = True
    ) -> bool:
        """At start-up: the ring this gateway was given (``accepted``, the active key first
        where ``active``; a ring it only verifies with has none), recorded in the history if
        it is not the one last recorded. Whether it was new."""
        last = await self.store.key_ring(purpose)
        previous = list((last or {}).get("accepted", []))
        if previous == accepted:
            return False
        changed = KeyRingChanged(
            purpose=purpose,
            active=accepted[0] if accepted and active else None,
            accepted=accepted,
            public_keys=public_keys,
            previous=previous,
        )
        # The id names the change from one ring to the next, so going back to an earlier
        # ring is a fact of its own, and announcing the same change again is the same message.
        key = f"{','.join(previous)}>{','.join(accepted)}"
        announced = fact(changed, f"key:{purpose}", key, SYSTEM, self.clock())
        await self.store.set_key_ring(purpose, {"accepted": accepted, "recorded_at": self.clock()}, announced)
        await self._announce("key_ring", purpose, announced)
        return True

    # --- the facts, published ---

    async def _announce(
        self, kind: Literal["account", "device", "key_ring"], doc_id: str, announced: dict[str, Any]
    ) -> None:
        """Publish a fact just written with its change, then cross it off. If Kafka does
        not take it now, the change stands and the fact waits for the next round."""
        if self.publish is None:
            return
        try:
            await self.publish(codec.from_json(announced))
        except Exception:  # noqa: BLE001 - kept in the store; published again later
            log.warning("identity fact %s not published yet: kept for the next round", announced["id"], exc_info=True)
            return
        await self.store.mark_published(kind, doc_id, announced["id"])

    async def publish_unpublished(self) -> int:
        """Publish every fact a crash (or an absent Kafka) left unpublished, oldest first:
        at the gateway's start-up. How many were published."""
        if self.publish is None:
            return 0
        waiting = sorted(await self.store.unpublished(), key=lambda w: (w[2]["time"], w[2]["id"]))
        for kind, doc_id, announced in waiting:
            await self.publish(codec.from_json(announced))
            await self.store.mark_published(kind, doc_id, announced["id"])
        return len(waiting)

    # --- who acted, for the history ---

    async def who_acted(self, actors: Iterable[str]) -> dict[str, tuple[str, str | None]]:
        """The name (and NIP, where known) behind each actor the history records. An actor
        that names no account or device here (``system``, ``shell:<user>``) is shown as itself."""
        found: dict[str, tuple[str, str | None]] = {}
        for actor in set(actors):
            kind, _, ident = actor.partition(":")
            doc = None
            if kind == "nip":
                doc = await self.store.account(f"nip-{ident}")
            elif kind == "account":
                doc = await self.store.account(ident)
            elif kind == "device":
                doc = await self.store.device(ident)
            if doc is not None:
                found[actor] = (str(doc["name"]), doc.get("nip") if kind != "device" else None)
            else:
                found[actor] = (actor, ident if kind == "nip" else None)
        return found

    async def from_token(self, token: str) -> Principal | None:
        """The device a bearer token belongs to, or None (unknown, wrong or revoked)."""
        if not token.startswith(TOKEN_PREFIX) or token.count("_") < 2:
            return None
        device_id = token[len(TOKEN_PREFIX) :].split("_", 1)[0]
        doc = await self.store.device(device_id)
        if doc is None or doc.get("revoked_at") is not None:
            return None
        if not same_secret(doc["token_hash"], digest(token)):
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


def federated_id(issuer: str, subject: str) -> str:
    """The account id of a person a provider names without a NIP: stable for the pair."""
    return "acct-sso-" + hashlib.sha256(f"{issuer}|{subject}".encode()).hexdigest()[:24]


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
