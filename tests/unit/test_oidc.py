"""The OpenID Connect client's own rules, without a provider: what claims map to (every
claim shape a provider might send, by Hypothesis), and which ID tokens are refused. A
provider is simulated by an httpx transport answering with keys and tokens made here;
the real round trip against Keycloak is tests/e2e/test_sso.py."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from joserfc import jwt
from joserfc.jwk import KeySet, OctKey, RSAKey

from events.catalog import AccountCreated, RejectionReason
from events.text import has_control_characters, printable
from services.gateway.auth.model import SCOPE, Role
from services.gateway.auth.oidc import ClaimMap, Provider, grants_from_claims, person
from services.gateway.auth.service import IdentityError
from tests.builders import NOW

ISSUER = "https://sso.instansi.example/realms/pemda"
CLIENT = "serah-gateway"
MAP = ClaimMap()

role_names = st.sampled_from([r.value for r in Role])
scopes = st.sampled_from(["*", "32", "73.71", "11.01"])
junk = st.text(min_size=0, max_size=12)
values = st.one_of(
    role_names,
    st.builds(lambda r, s: f"{r}:{s}", role_names, scopes),
    st.builds(lambda r, s: f"{r}:{s}", role_names, junk),
    st.sampled_from(["offline_access", "uma_authorization", "default-roles-pemda"]),
    junk,
)
roles_claims = st.one_of(st.lists(values, max_size=8), st.builds(" ".join, st.lists(values, max_size=5)), junk)
offices = st.one_of(st.none(), scopes.filter(lambda s: s != "*"), junk, st.integers())


@given(roles=roles_claims, office=offices)
def test_any_claims_map_to_valid_grants_the_claims_name_or_to_a_refusal_that_says_what_to_change(
    roles: Any, office: Any
) -> None:
    claims: dict[str, Any] = {"sub": "u1", "serah_roles": roles}
    if office is not None:
        claims["serah_office"] = office
    try:
        grants = grants_from_claims(claims, MAP)
    except IdentityError as refused:
        assert refused.status == 403 and refused.code in ("sso_no_role", "sso_claims_unreadable")
        assert "serah_" in refused.detail  # names the claim to correct
        return
    named = roles if isinstance(roles, list) else re.split(r"[\s,]+", roles)
    assert grants and len({(g.role, g.scope) for g in grants}) == len(grants)
    for g in grants:
        assert re.fullmatch(SCOPE, g.scope)
        alone = g.role.value in named and g.scope == (office if isinstance(office, str) and office else "*")
        assert alone or f"{g.role.value}:{g.scope}" in named, (g, named, office)
        # A recipient official reaches an office (or region) someone named, never `*` by default.
        assert g.role != Role.RECIPIENT or g.scope != "*" or "recipient:*" in named


def test_nested_claims_a_role_prefix_and_a_space_separated_claim_are_read() -> None:
    keycloak = {"sub": "u", "realm_access": {"roles": ["serah-auditor", "auditor", "offline_access"]}, "kantor": "32"}
    mapping = ClaimMap(roles="realm_access.roles", office="kantor", role_prefix="serah-")
    assert [(g.role, g.scope) for g in grants_from_claims(keycloak, mapping)] == [(Role.AUDITOR, "32")]
    spaced = {"sub": "u", "serah_roles": "warehouse recipient:73.71"}
    assert [(g.role, g.scope) for g in grants_from_claims(spaced, MAP)] == [
        (Role.RECIPIENT, "73.71"),
        (Role.WAREHOUSE, "*"),
    ]


def test_the_person_is_named_by_the_claims_and_a_nip_must_be_a_nip() -> None:
    who = person(
        {"sub": "u9", "preferred_username": "siti", "serah_roles": ["auditor"], "jabatan": " Kepala "}, ISSUER, MAP
    )
    assert (who.name, who.nip, who.jabatan, who.subject, who.issuer) == ("siti", None, "Kepala", "u9", ISSUER)
    assert person({"sub": "u9", "serah_roles": ["auditor"]}, ISSUER, MAP).name == "u9"
    for bad in ("1980", "19800101200501100x", 198001012005011001):
        with pytest.raises(IdentityError) as refused:
            person({"sub": "u9", "nip": bad, "serah_roles": ["auditor"]}, ISSUER, MAP)
        assert refused.value.code == "sso_claims_unreadable" and "NIP" in refused.value.detail


@given(
    name=st.one_of(st.none(), st.text(max_size=300)),
    username=st.one_of(st.none(), st.text(max_size=40)),
    jabatan=st.one_of(st.none(), st.text(max_size=300)),
    sub=st.text(max_size=300),
)
def test_any_names_a_provider_sends_become_an_account_the_contract_and_the_store_take_or_a_clear_refusal(
    name: str | None, username: str | None, jabatan: str | None, sub: str
) -> None:
    # A provider's text reaches the account document and the AccountCreated fact: control
    # characters there would be refused by the contract (a 500 at sign-in) and U+0000 by
    # FerretDB on PostgreSQL (read as a store not ready), locking the person out.
    claims: dict[str, Any] = {"sub": sub, "serah_roles": ["auditor"]}
    for key, value in (("name", name), ("preferred_username", username), ("jabatan", jabatan)):
        if value is not None:
            claims[key] = value
    try:
        who = person(claims, ISSUER, MAP)
    except IdentityError as refused:
        assert refused.code == "sso_claims_unreadable" and "'sub'" in refused.detail
        assert not printable(sub, 255) or len(sub) > 255 or has_control_characters(sub)
        return
    assert who.subject == sub and not has_control_characters(sub)
    created = AccountCreated(account_id="acct-sso-0", name=who.name, jabatan=who.jabatan, grants=[], provider=ISSUER)
    assert (created.name, created.jabatan) == (who.name, who.jabatan)  # nothing left for the contract to change
    given_name = next((v for v in (name, username) if v and printable(v, 128)), None)
    assert who.name == printable(given_name or sub, 128)


def test_a_name_with_controls_is_shown_as_one_line_and_a_subject_with_them_is_refused() -> None:
    who = person({"sub": "u9", "name": "Siti\x00\tNurhaliza\u202e ", "serah_roles": ["auditor"]}, ISSUER, MAP)
    assert who.name == "Siti Nurhaliza"
    with pytest.raises(IdentityError) as refused:
        person({"sub": "u\x009", "serah_roles": ["auditor"]}, ISSUER, MAP)
    assert refused.value.code == "sso_claims_unreadable"


# --- the provider, simulated ---

KEY = RSAKey.generate_key(2048, parameters={"kid": "k1"})
OTHER = RSAKey.generate_key(2048, parameters={"kid": "k1"})  # same kid, another key: a forgery


class FakeProvider:
    """Discovery, keys, token and userinfo answers; each test changes what it needs."""

    def __init__(self) -> None:
        self.discovery: dict[str, Any] = {
            "issuer": ISSUER,
            "authorization_endpoint": f"{ISSUER}/auth",
            "token_endpoint": f"{ISSUER}/token",
            "jwks_uri": f"{ISSUER}/certs",
            "userinfo_endpoint": f"{ISSUER}/userinfo",
            "id_token_signing_alg_values_supported": ["RS256"],
        }
        self.keys = KeySet([KEY]).as_dict(private=False)
        self.claims: dict[str, Any] = {}
        self.sign: Callable[[dict[str, Any]], str] = lambda c: jwt.encode({"alg": "RS256", "kid": "k1"}, c, KEY)
        self.token_status = 200
        self.userinfo: dict[str, Any] = {}
        self.calls: list[str] = []
        self.down = False

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.rsplit("/", 1)[-1]
        self.calls.append(path)
        if self.down:
            raise httpx.ConnectError("refused", request=request)
        if path == "openid-configuration":
            return httpx.Response(200, json=self.discovery)
        if path == "certs":
            return httpx.Response(200, json=self.keys)
        if path == "token":
            form = parse_qs(request.content.decode())
            assert form["grant_type"] == ["authorization_code"] and form["code_verifier"][0]
            if self.token_status != 200:
                return httpx.Response(self.token_status, json={"error": "invalid_grant"})
            return httpx.Response(200, json={"id_token": self.sign(self.claims), "access_token": "at"})
        if path == "userinfo":
            return httpx.Response(200, json=self.userinfo)
        return httpx.Response(404)


def provider(fake: FakeProvider) -> Provider:
    return Provider(
        issuer=ISSUER,
        client_id=CLIENT,
        client_secret="s",
        redirect_uri="https://serah.example/masuk/sso/kembali",
        mapping=MAP,
        http=httpx.AsyncClient(transport=httpx.MockTransport(fake.handle)),
        clock=lambda: NOW,
    )


def round_trip(fake: FakeProvider, **claims: Any) -> Any:
    async def go() -> Any:
        client = provider(fake)
        started = await client.begin("/")
        query = parse_qs(urlsplit(started.url).query)
        assert query["code_challenge_method"] == ["S256"] and query["state"] == [started.state]
        now = int(time.time())
        fake.claims = {
            "iss": ISSUER,
            "sub": "u1",
            "aud": CLIENT,
            "iat": now,
            "exp": now + 300,
            "nonce": query["nonce"][0],
            "serah_roles": ["auditor"],
            **claims,
        }
        return await client.finish("code", started.record)

    return asyncio.run(go())


def refused(fake: FakeProvider, **claims: Any) -> IdentityError:
    with pytest.raises(IdentityError) as caught:
        round_trip(fake, **claims)
    return caught.value


def test_a_good_id_token_gives_the_person_and_userinfo_fills_in_only_for_the_same_subject() -> None:
    fake = FakeProvider()
    fake.userinfo = {"sub": "u1", "jabatan": "Kepala Seksi", "nip": "198001012005011001"}
    who = round_trip(fake, name="Siti")
    assert (who.name, who.nip, who.jabatan) == ("Siti", "198001012005011001", "Kepala Seksi")
    fake.userinfo = {"sub": "someone-else", "nip": "198001012005011001"}
    assert round_trip(fake).nip is None


@pytest.mark.parametrize(
    ("case", "claims"),
    [
        ("another nonce", {"nonce": "replayed"}),
        ("another audience", {"aud": "some-other-app"}),
        ("another issuer", {"iss": "https://evil.example"}),
        ("expired", {"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200}),
        ("no subject", {"sub": None}),
    ],
)
def test_an_id_token_for_someone_else_or_out_of_date_is_refused(case: str, claims: dict[str, Any]) -> None:
    fake = FakeProvider()
    if claims.get("sub", "") is None:
        fake_sign = fake.sign
        fake.sign = lambda c: fake_sign({k: v for k, v in c.items() if k != "sub"})
        claims = {}
    assert refused(fake, **claims).code == "sso_refused", case


def test_a_token_signed_by_another_key_or_no_key_is_refused() -> None:
    forged = FakeProvider()
    forged.sign = lambda c: jwt.encode({"alg": "RS256", "kid": "k1"}, c, OTHER)
    assert refused(forged).code == "sso_refused"
    unsigned = FakeProvider()
    unsigned.sign = lambda c: jwt.encode({"alg": "HS256", "kid": "k1"}, c, OctKey.import_key("x" * 32))
    assert refused(unsigned).code == "sso_refused"


def test_keys_rotated_at_the_provider_are_read_again_once() -> None:
    fake = FakeProvider()
    rotated = RSAKey.generate_key(2048, parameters={"kid": "k2"})
    served = [KeySet([KEY]).as_dict(private=False), KeySet([KEY, rotated]).as_dict(private=False)]
    fake.sign = lambda c: jwt.encode({"alg": "RS256", "kid": "k2"}, c, rotated)

    original = fake.handle

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/certs"):
            fake.calls.append("certs")
            return httpx.Response(200, json=served.pop(0))
        return original(request)

    fake.handle = handle  # type: ignore[method-assign]
    assert round_trip(fake).subject == "u1"
    assert fake.calls.count("certs") == 2


def test_a_provider_that_is_down_or_not_itself_or_refuses_the_code_is_said_so() -> None:
    down = FakeProvider()
    down.down = True
    unreachable = refused(down)
    assert unreachable.status == 503 and unreachable.code == "sso_unreachable"
    impostor = FakeProvider()
    impostor.discovery["issuer"] = "https://evil.example"
    assert refused(impostor).code == "sso_unreachable"
    stale = FakeProvider()
    stale.token_status = 400
    assert refused(stale).code == "sso_refused"


# --- the routes, with hostile input ---


def sso_gateway(fake: FakeProvider) -> httpx.AsyncClient:
    from tests.gateway_fakes import gateway_app, rejecting

    app = gateway_app(rejecting(RejectionReason.INVALID_COMMAND))
    app.state.gateway.sso = provider(fake)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway.test")


@given(
    state=st.text(max_size=300),
    code=st.text(max_size=300),
    error=st.text(max_size=40),
    cookie=st.one_of(st.none(), st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), max_size=60)),
)
@settings(max_examples=60, deadline=None)
def test_whatever_comes_back_to_the_callback_is_refused_with_a_page_and_signs_nobody_in(
    state: str, code: str, error: str, cookie: str | None
) -> None:
    async def go() -> None:
        async with sso_gateway(FakeProvider()) as browser:
            if cookie is not None:
                browser.cookies.set("serah_sso", cookie)
            back = await browser.get("/masuk/sso/kembali", params={"state": state, "code": code, "error": error})
            assert back.status_code in (400, 401, 422), back.text[:300]
            assert "serah_session" not in back.cookies
            assert (await browser.get("/api/v1/me")).status_code == 401

    asyncio.run(go())


def test_the_sign_in_page_offers_the_provider_and_a_started_sign_in_carries_its_state_in_a_lax_cookie() -> None:
    async def go() -> None:
        async with sso_gateway(FakeProvider()) as browser:
            page = await browser.get("/masuk?next=/bast/KSB-1")
            assert (
                'id="sign-in-sso" href="/masuk/sso?next=/bast/KSB-1"' in page.text and "Masuk dengan SSO" in page.text
            )
            away = await browser.get("/masuk/sso", params={"next": "//evil.example"})
            assert away.status_code == 303 and away.headers["location"].startswith(f"{ISSUER}/auth?")
            query = parse_qs(urlsplit(away.headers["location"]).query)
            cookie = away.headers["set-cookie"]
            assert f"serah_sso={query['state'][0]}" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
            assert "Path=/masuk/sso" in cookie
            stored = browser._transport.app.state.gateway.identity.store.sign_ins_  # type: ignore[attr-defined]
            [record] = stored.values()
            assert record["next"] == "/" and query["state"][0] not in str(record)  # kept hashed, never off the site

    asyncio.run(go())
