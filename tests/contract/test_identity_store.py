"""The identity store's fake (tests/gateway_fakes.py) and its MongoDB adapter run
through one suite, so the in-process sign-in tests cannot drift from the real store.
Each real run uses its own database."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest

from deploy.local.stack import Stack
from services.common.mongo import connect
from services.gateway.auth.model import Grant, Principal, Role
from services.gateway.auth.service import Identity, IdentityError, Policy
from services.gateway.auth.store import AlreadyThere, MongoIdentityStore
from tests.builders import NOW
from tests.gateway_fakes import FakeIdentityStore

PASSWORD = "kata sandi yang panjang"
ADMIN = Principal(kind="person", id="acct-admin", name="Admin")
Test = Callable[[Identity, list[Any]], Awaitable[None]]


@pytest.fixture(params=["fake", "mongo"])
def check(request: pytest.FixtureRequest) -> Callable[[Test], None]:
    def run(test: Test) -> None:
        async def go() -> None:
            now = [NOW]
            if request.param == "fake":
                store: Any = FakeIdentityStore()
                await test(Identity(store, lambda: now[0], Policy(lock_after=3)), now)
                return
            infra: Stack = request.getfixturevalue("infra")
            assert infra.store is not None
            client, db = connect(infra.store.url, f"identity_{uuid.uuid4().hex[:8]}")
            try:
                await test(Identity(MongoIdentityStore(db), lambda: now[0], Policy(lock_after=3)), now)
            finally:
                await client.drop_database(db.name)
                await client.close()

        asyncio.run(go())

    return run


def test_an_account_is_created_once_and_signs_in_by_its_nip(check: Callable[[Test], None]) -> None:
    async def test(identity: Identity, now: list[Any]) -> None:
        grants = [Grant(role=Role.RECIPIENT, scope="73.71")]
        made = await identity.create_account(
            name="Siti", nip="198001012005011001", jabatan="Kepala", grants=grants, password=PASSWORD, by=ADMIN
        )
        assert made["_id"] == "nip-198001012005011001" and "password_hash" not in made
        with pytest.raises(AlreadyThere):
            await identity.create_account(
                name="Siti", nip="198001012005011001", jabatan=None, grants=grants, password=PASSWORD, by=ADMIN
            )
        listed = await identity.store.accounts()
        assert [a["_id"] for a in listed] == [made["_id"]] and "password_hash" not in listed[0]
        session = await identity.login("198001012005011001", PASSWORD)
        person = await identity.from_session(session.token)
        assert person is not None and person[0].actor == "nip:198001012005011001" and person[1] == session.csrf
        now[0] += timedelta(hours=13)  # past the session's life
        assert await identity.from_session(session.token) is None

    check(test)


def test_wrong_passwords_lock_then_time_unlocks_and_new_grants_end_the_sessions(check: Callable[[Test], None]) -> None:
    async def test(identity: Identity, now: list[Any]) -> None:
        await identity.create_account(
            name="Budi", nip=None, jabatan=None, grants=[Grant(role=Role.AUDITOR)], password=PASSWORD, by=ADMIN
        )
        session = await identity.login("acct-budi", PASSWORD)
        for _ in range(3):
            with pytest.raises(IdentityError) as refused:
                await identity.login("acct-budi", "wrong password!!")
            assert refused.value.status == 401
        with pytest.raises(IdentityError) as locked:
            await identity.login("acct-budi", PASSWORD)
        assert locked.value.status == 429
        now[0] += timedelta(minutes=16)
        await identity.login("acct-budi", PASSWORD)
        await identity.set_grants("acct-budi", [Grant(role=Role.OPERATOR)], ADMIN)
        assert await identity.from_session(session.token) is None

    check(test)


def test_a_device_token_works_until_it_is_revoked_and_is_kept_only_as_a_hash(check: Callable[[Test], None]) -> None:
    async def test(identity: Identity, now: list[Any]) -> None:
        doc, token = await identity.enrol_device(name="HP gudang", grants=[Grant(role=Role.WAREHOUSE)], by=ADMIN)
        assert token not in str(await identity.store.device(doc["_id"]))
        found = await identity.from_token(token)
        assert found is not None and found.actor == f"device:{doc['_id']}"
        assert (await identity.store.device(doc["_id"]))["last_used_at"] is not None  # type: ignore[index]
        assert await identity.from_token(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
        revoked = await identity.revoke_device(doc["_id"], ADMIN)
        assert revoked["revoked_by"] == ADMIN.actor
        assert await identity.from_token(token) is None

    check(test)


def test_facts_wait_with_their_change_until_crossed_off_as_published(check: Callable[[Test], None]) -> None:
    async def test(identity: Identity, now: list[Any]) -> None:
        made = await identity.create_account(
            name="Siti", nip="198001012005011001", jabatan="Kepala", grants=[], password=PASSWORD, by=ADMIN
        )
        now[0] += timedelta(seconds=1)
        await identity.set_grants(made["_id"], [Grant(role=Role.AUDITOR)], ADMIN)
        now[0] += timedelta(seconds=1)
        doc, _ = await identity.enrol_device(name="HP gudang", grants=[Grant(role=Role.WAREHOUSE)], by=ADMIN)
        now[0] += timedelta(seconds=1)
        await identity.revoke_device(doc["_id"], ADMIN)
        assert "unpublished" not in made and "unpublished" not in doc
        account = await identity.store.account(made["_id"])
        assert account is not None and [g["role"] for g in account["grants"]] == ["auditor"]
        waiting = await identity.store.unpublished()
        assert sorted((k, d, f["type"]) for k, d, f in waiting) == [
            ("account", made["_id"], "id.serah.account.created.v1"),
            ("account", made["_id"], "id.serah.account.grants-changed.v1"),
            ("device", doc["_id"], "id.serah.device.enrolled.v1"),
            ("device", doc["_id"], "id.serah.device.revoked.v1"),
        ]
        sent: list[Any] = []

        async def publish(event: Any) -> None:
            sent.append(event)

        assert await Identity(identity.store, identity.clock, publish=publish).publish_unpublished() == 4
        assert [e.type.split(".")[2:4] for e in sent] == [
            ["account", "created"],
            ["account", "grants-changed"],
            ["device", "enrolled"],
            ["device", "revoked"],
        ]
        assert await identity.store.unpublished() == []
        assert (await identity.store.account(made["_id"])) is not None  # crossing off keeps the account

    check(test)


def test_a_sign_in_started_at_the_provider_is_taken_once_and_not_after_it_expires(
    check: Callable[[Test], None],
) -> None:
    async def test(identity: Identity, now: list[Any]) -> None:
        record = {"_id": "h1", "nonce": "n", "verifier": "v", "next": "/", "expires_at": NOW + timedelta(minutes=10)}
        await identity.start_federated(record)
        assert (await identity.take_federated("h1")) == record
        assert await identity.take_federated("h1") is None  # once
        await identity.start_federated({**record, "_id": "h2"})
        now[0] = NOW + timedelta(minutes=11)
        assert await identity.take_federated("h2") is None  # too late
        await identity.start_federated({**record, "_id": "h3", "expires_at": now[0] + timedelta(minutes=10)})
        assert await identity.store.take_sign_in("h2") is None  # cleared as a new one started

    check(test)


def test_a_federated_person_gets_one_account_kept_up_to_date_and_never_takes_a_local_one(
    check: Callable[[Test], None],
) -> None:
    from services.gateway.auth.model import Federated

    async def test(identity: Identity, now: list[Any]) -> None:
        issuer, nip = "https://sso.example/realms/x", "198001012005011009"
        who = Federated(issuer, "sub-1", "Siti", nip, "Kepala", (Grant(role=Role.AUDITOR, scope="73"),))
        first = await identity.sign_in_federated(who)
        doc = await identity.store.account(f"nip-{nip}")
        assert (
            doc is not None
            and "password_hash" not in doc
            and doc["federated"] == {"issuer": issuer, "subject": "sub-1"}
        )
        [created] = list(doc["unpublished"].values())
        assert created["type"] == "id.serah.account.created.v1" and created["data"]["provider"] == issuer
        assert created["actor"] == f"nip:{nip}"
        again = await identity.sign_in_federated(who)  # the same claims: no new fact, both sessions live
        assert len((await identity.store.account(f"nip-{nip}") or {})["unpublished"]) == 1
        assert await identity.from_session(first.token) is not None and await identity.from_session(again.token)
        promoted = Federated(issuer, "sub-1", "Siti R.", nip, None, (Grant(role=Role.ADMIN, scope="*"),))
        latest = await identity.sign_in_federated(promoted)
        doc = await identity.store.account(f"nip-{nip}")
        assert doc is not None and doc["grants"] == [{"role": "admin", "scope": "*"}] and doc["name"] == "Siti R."
        assert await identity.from_session(first.token) is None and await identity.from_session(latest.token)
        with pytest.raises(IdentityError) as refused:
            await identity.login(nip, PASSWORD)  # no password here
        assert refused.value.code == "sign_in_refused"
        # Another provider's person, or a local account, with the same NIP: refused.
        impostor = Federated("https://other.example", "sub-1", "X", nip, None, who.grants)
        with pytest.raises(IdentityError) as taken:
            await identity.sign_in_federated(impostor)
        assert taken.value.status == 409 and taken.value.code == "account_not_federated"
        await identity.create_account(
            name="Budi", nip="198001012005011010", jabatan=None, grants=who.grants, password=PASSWORD, by=ADMIN
        )
        local = Federated(issuer, "sub-2", "Budi", "198001012005011010", None, who.grants)
        with pytest.raises(IdentityError):
            await identity.sign_in_federated(local)
        # Without a NIP: an account named for the provider and subject, the same each time.
        nameless = Federated(issuer, "sub-3", "Tamu", None, None, who.grants)
        s1, s2 = await identity.sign_in_federated(nameless), await identity.sign_in_federated(nameless)
        assert s1.account_id == s2.account_id and s1.account_id.startswith("acct-sso-")

    check(test)


def test_a_key_ring_is_recorded_when_it_changes_and_going_back_is_a_change_of_its_own(
    check: Callable[[Test], None],
) -> None:
    async def test(identity: Identity, now: list[Any]) -> None:
        assert await identity.record_key_ring("label-signing", ["K1"], {"K1": "pub1"})
        assert not await identity.record_key_ring("label-signing", ["K1"], {"K1": "pub1"})  # a restart
        now[0] += timedelta(days=30)
        assert await identity.record_key_ring("label-signing", ["K2", "K1"], {"K2": "pub2", "K1": "pub1"})
        now[0] += timedelta(days=1)
        assert await identity.record_key_ring("label-signing", ["K1"], {"K1": "pub1"})  # rolled back
        assert await identity.record_key_ring("receipt-codes", ["R1"], {})
        facts = sorted((f for _, _, f in await identity.store.unpublished()), key=lambda f: f["time"] + f["id"])
        labels = [f for f in facts if f["subject"] == "key:label-signing"]
        assert [(f["data"]["active"], f["data"]["accepted"], f["data"]["previous"]) for f in labels] == [
            ("K1", ["K1"], []),
            ("K2", ["K2", "K1"], ["K1"]),
            ("K1", ["K1"], ["K2", "K1"]),
        ]
        assert len({f["id"] for f in labels}) == 3 and {f["actor"] for f in facts} == {"system:gateway"}
        assert all(f["type"] == "id.serah.key.ring-changed.v1" and f["subjectkind"] == "key" for f in facts)
        [codes] = [f for f in facts if f["subject"] == "key:receipt-codes"]
        assert codes["data"]["public_keys"] == {}  # the receipt codes' keys are secret: their ids only

    check(test)
