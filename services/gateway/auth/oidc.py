"""Signing in through an organisation's own identity provider (OpenID Connect).

The authorization-code flow with PKCE, as a confidential client: the browser is sent to
the provider with a single-use ``state`` (kept hashed in the store and in a cookie of
the browser that asked, so a sign-in cannot be started in one browser and finished in
another) and a ``nonce``; the code it brings back is exchanged for an ID token, whose
signature (the provider's published keys), issuer, audience, expiry and nonce are
checked with Authlib's ID-token rules. The provider's claims then say who the person
is and which Serah roles they hold (``person``, pure); what happens next is the same as
for a local account (``Identity.sign_in_federated``): a server-side session, and the
account and its grants recorded in the history when they are new or changed.

Only the provider's three endpoints are called (discovery, token, keys, and userinfo
where the provider has one), with httpx; nothing is fetched at import or start-up, so
a provider that is down stops only the sign-ins that need it."""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
from authlib.common.security import generate_token
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

from events import text
from services.gateway.auth.model import EVERYWHERE, SCOPE, Federated, Grant, Role
from services.gateway.auth.service import IdentityError

log = logging.getLogger(__name__)

NIP = re.compile(r"^[0-9]{18}$")
SIGN_IN_MINUTES = 10  # how long a started sign-in may take at the provider
METADATA_TTL_S = 3600.0  # the provider's discovery document and keys are re-read this often


@dataclass(frozen=True)
class ClaimMap:
    """Which claims say what. ``roles`` and ``office`` may be dotted paths into nested
    claims (Keycloak's realm roles are ``realm_access.roles``)."""

    roles: str = "serah_roles"
    office: str = "serah_office"
    nip: str = "nip"
    jabatan: str = "jabatan"
    role_prefix: str = ""  # e.g. "serah-" where the provider's roles are shared with other systems


@dataclass(frozen=True)
class Started:
    """A sign-in sent to the provider: where to send the browser, and what the callback
    needs back (kept in the store under the hash of ``state``)."""

    url: str
    state: str
    record: dict[str, Any]


def claim(claims: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted path (``realm_access.roles``), or None. A claim whose own
    name has a dot in it is found first."""
    if path in claims:
        return claims[path]
    here: Any = claims
    for part in path.split("."):
        if not isinstance(here, Mapping) or part not in here:
            return None
        here = here[part]
    return here


def _values(raw: Any) -> list[str]:
    """A claim given as a list, or as one string of space- or comma-separated values."""
    if raw is None:
        return []
    if isinstance(raw, str):
        return [v for v in re.split(r"[\s,]+", raw) if v]
    if isinstance(raw, list | tuple):
        return [v for v in raw if isinstance(v, str) and v]
    return []


def _refused(code: str, detail: str) -> IdentityError:
    return IdentityError(403, code, detail)


def grants_from_claims(claims: Mapping[str, Any], mapping: ClaimMap) -> tuple[Grant, ...]:
    """The grants a person's claims map to. Each value of the roles claim is a Serah role
    (after ``role_prefix``), alone or with its scope (``recipient:32.73``); a role alone
    reaches the office claim's code, else everywhere. Values that name no Serah role are
    the provider's own (``offline_access``) and are passed over; a Serah role that cannot
    be read, or a recipient official with no office, is refused with what to change,
    rather than signed in with less than the provider meant."""
    office = claim(claims, mapping.office) or None  # an empty claim is no office
    if office is not None and (not isinstance(office, str) or not re.fullmatch(SCOPE, office)):
        raise _refused(
            "sso_claims_unreadable",
            f"The identity provider's claim {mapping.office!r} must be an office or province code such as "
            f"32.73 or 32 (it sent {str(office)[:40]!r}): ask its administrator to correct it.",
        )
    known = {r.value for r in Role}
    found: set[tuple[Role, str]] = set()
    for value in _values(claim(claims, mapping.roles)):
        if mapping.role_prefix and not value.startswith(mapping.role_prefix):
            continue
        role, scoped, scope = value.removeprefix(mapping.role_prefix).partition(":")
        if role not in known:
            continue
        if scoped and not re.fullmatch(SCOPE, scope):
            raise _refused(
                "sso_claims_unreadable",
                f"The identity provider gave the role {value[:60]!r} in the claim {mapping.roles!r}, whose scope is "
                "not an office or province code (write it as recipient:32.73): ask its administrator to correct it.",
            )
        scope = scope or office or ""
        if not scope:
            if role in (Role.RECIPIENT, Role.HOLDER):
                raise _refused(
                    "sso_claims_unreadable",
                    f"A {role} acts for one office, and the identity provider named none: ask its "
                    f"administrator to send the office code in the claim {mapping.office!r} (or the role as "
                    "recipient:32.73).",
                )
            scope = EVERYWHERE
        found.add((Role(role), scope))
    if not found:
        raise _refused(
            "sso_no_role",
            f"The identity provider signed you in but gave you no Serah role: ask its administrator to add one "
            f"of {', '.join(mapping.role_prefix + r.value for r in Role)} to the claim {mapping.roles!r}.",
        )
    return tuple(Grant(role=r, scope=s) for r, s in sorted(found))


def person(claims: Mapping[str, Any], issuer: str, mapping: ClaimMap) -> Federated:
    """Who a provider's (already verified) claims say the person is."""
    nip = claim(claims, mapping.nip)
    if nip is not None and not (isinstance(nip, str) and NIP.fullmatch(nip)):
        raise _refused(
            "sso_claims_unreadable",
            f"The identity provider's claim {mapping.nip!r} must be an 18-digit NIP: ask its administrator to "
            "correct it (or to leave it out for someone who has none).",
        )
    subject = str(claims["sub"])
    if len(subject) > 255 or text.has_control_characters(subject) or not text.printable(subject, 255):
        # The account is linked to it for good, so it is kept exactly as sent, and U+0000
        # cannot be stored (FerretDB on PostgreSQL): refused, for the provider's administrator.
        raise _refused(
            "sso_claims_unreadable",
            "The identity provider's claim 'sub' must be one printable, non-blank line of at most 255 characters: "
            "ask its administrator to check the client's subject setting.",
        )
    # What the provider calls the person is shown and recorded, not evidence: made printable
    # rather than refused, since the person cannot correct it and would be locked out.
    name = next(
        (
            n
            for k in ("name", "preferred_username")
            if isinstance(v := claims.get(k), str) and (n := text.printable(v, 128))
        ),
        text.printable(subject, 128),
    )
    jabatan = claim(claims, mapping.jabatan)
    jabatan = text.printable(jabatan, 128) if isinstance(jabatan, str) else None
    return Federated(
        issuer=issuer,
        subject=subject,
        name=name,
        nip=nip,
        jabatan=jabatan or None,
        grants=grants_from_claims(claims, mapping),
    )


def state_key(state: str) -> str:
    """Started sign-ins are kept under the hash of their state, like sessions."""
    return hashlib.sha256(state.encode()).hexdigest()


def _unreachable(what: str) -> IdentityError:
    return IdentityError(
        503,
        "sso_unreachable",
        f"The identity provider did not answer ({what}). Try again in a minute, or sign in with a local account.",
        retry_after_s=30,
    )


class Provider:
    """One OpenID Connect provider and this gateway's client at it."""

    def __init__(
        self,
        *,
        issuer: str,
        client_id: str,
        client_secret: str,
        redirect_uri: str,
        mapping: ClaimMap,
        http: httpx.AsyncClient,
        clock: Callable[[], datetime],
    ) -> None:
        self.issuer = issuer.rstrip("/")
        self.client_id, self._secret, self.redirect_uri = client_id, client_secret, redirect_uri
        self.mapping, self.http, self.clock = mapping, http, clock
        self._metadata: dict[str, Any] | None = None
        self._keys: dict[str, Any] | None = None
        self._read_at = 0.0

    async def _get(self, url: str, what: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = await self.http.get(url, **kwargs)
        except httpx.HTTPError as exc:
            raise _unreachable(f"{what}: {type(exc).__name__}") from exc
        if response.status_code != 200:
            raise _unreachable(f"{what}: HTTP {response.status_code}")
        try:
            body = response.json()
        except ValueError as exc:
            raise _unreachable(f"{what}: not JSON") from exc
        if not isinstance(body, dict):
            raise _unreachable(f"{what}: not a JSON object")
        return body

    async def metadata(self) -> dict[str, Any]:
        if self._metadata is None or time.monotonic() - self._read_at > METADATA_TTL_S:
            found = await self._get(f"{self.issuer}/.well-known/openid-configuration", "discovery")
            # The document must be this issuer's (OpenID Connect Discovery §4.3).
            if str(found.get("issuer", "")).rstrip("/") != self.issuer:
                raise _unreachable(f"discovery names another issuer, {str(found.get('issuer'))[:80]!r}")
            for needed in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
                if not isinstance(found.get(needed), str):
                    raise _unreachable(f"discovery has no {needed}")
            self._metadata, self._keys, self._read_at = found, None, time.monotonic()
        return self._metadata

    async def _key_set(self, *, again: bool = False) -> KeySet:
        if self._keys is None or again:
            self._keys = await self._get((await self.metadata())["jwks_uri"], "keys")
        try:
            return KeySet.import_key_set(self._keys)  # type: ignore[arg-type]
        except (JoseError, ValueError, TypeError) as exc:
            raise _unreachable("keys unreadable") from exc

    async def begin(self, next_path: str) -> Started:
        """Where to send the browser, with a new state, nonce and PKCE verifier."""
        meta = await self.metadata()
        state, nonce, verifier = generate_token(43), generate_token(43), generate_token(64)
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self.client_id,
                "redirect_uri": self.redirect_uri,
                "scope": "openid profile email",
                "state": state,
                "nonce": nonce,
                "code_challenge": create_s256_code_challenge(verifier),
                "code_challenge_method": "S256",
            }
        )
        endpoint = meta["authorization_endpoint"]
        record = {
            "_id": state_key(state),
            "nonce": nonce,
            "verifier": verifier,
            "next": next_path,
            "expires_at": self.clock() + timedelta(minutes=SIGN_IN_MINUTES),
        }
        return Started(url=f"{endpoint}{'&' if '?' in endpoint else '?'}{query}", state=state, record=record)

    async def finish(self, code: str, started: Mapping[str, Any]) -> Federated:
        """The person the provider vouches for, from the code it sent back."""
        meta = await self.metadata()
        try:
            response = await self.http.post(
                meta["token_endpoint"],
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": self.redirect_uri,
                    "code_verifier": started["verifier"],
                },
                auth=(self.client_id, self._secret),
            )
        except httpx.HTTPError as exc:
            raise _unreachable(f"token: {type(exc).__name__}") from exc
        if response.status_code in (400, 401):
            # An expired or already-used code, or a client the provider no longer knows.
            log.info("identity provider refused the code: %s", response.text[:200])
            raise IdentityError(
                400,
                "sso_refused",
                "The identity provider did not accept this sign-in (it may have expired): sign in again.",
            )
        if response.status_code != 200:
            raise _unreachable(f"token: HTTP {response.status_code}")
        tokens = response.json()
        claims = await self._verified(str(tokens.get("id_token", "")), tokens, str(started["nonce"]))
        info = await self._userinfo(meta, str(tokens.get("access_token", "")), str(claims["sub"]))
        # What the ID token says wins; userinfo fills in what a provider leaves out of it.
        return person({**info, **claims}, self.issuer, self.mapping)

    async def _verified(self, id_token: str, tokens: Mapping[str, Any], nonce: str) -> dict[str, Any]:
        meta = await self.metadata()
        algorithms = meta.get("id_token_signing_alg_values_supported") or ["RS256"]
        registry = JWSRegistry(algorithms=[a for a in algorithms if a != "none"])
        try:
            try:
                token = jwt.decode(id_token, await self._key_set(), registry=registry)
            except InvalidKeyIdError:  # the provider rotated its keys since we read them
                token = jwt.decode(id_token, await self._key_set(again=True), registry=registry)
            checked = CodeIDToken(
                token.claims,
                token.header,
                {
                    "iss": {"essential": True, "values": [meta["issuer"]]},
                    "aud": {"essential": True, "values": [self.client_id]},
                },
                {"nonce": nonce, "client_id": self.client_id, "access_token": tokens.get("access_token")},
            )
            checked.validate(leeway=60)
        except (JoseError, ValueError) as exc:
            log.warning("ID token refused: %s", exc)
            raise IdentityError(
                400, "sso_refused", "The identity provider's answer could not be verified: sign in again."
            ) from exc
        return dict(token.claims)

    async def _userinfo(self, meta: Mapping[str, Any], access_token: str, subject: str) -> dict[str, Any]:
        endpoint = meta.get("userinfo_endpoint")
        if not isinstance(endpoint, str) or not access_token:
            return {}
        info = await self._get(endpoint, "userinfo", headers={"Authorization": f"Bearer {access_token}"})
        # A userinfo answer about someone else is not this person's (OpenID Connect Core §5.3.2).
        return info if info.get("sub") == subject else {}
