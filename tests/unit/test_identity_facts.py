"""Who may act is part of the history: creating an account, changing its grants,
enrolling and revoking a device are facts the gateway publishes on serah.events,
with the administrator who did it as their actor, never carrying a password, a
token or a hash of either; a fact Kafka did not take waits in the store and is
published again, as the same message, when the gateway starts."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from events import codec, topics
from events.catalog import (
    AccountCreated,
    AccountGrantsChanged,
    CloseConsignment,
    DeviceEnrolled,
    DeviceRevoked,
    RejectionReason,
)
from events.envelope import Envelope
from services.gateway.auth.model import Grant, Principal, Role
from services.gateway.auth.service import Identity, digest
from tests.builders import NOW
from tests.gateway_fakes import FakeBus, FakeIdentityStore, client, rejecting

PASSWORD = "kata sandi yang panjang"
NIP = "198001012005011001"
SITI = {"name": "Siti Rahma", "nip": NIP, "jabatan": "Kepala Kesbangpol"}
ADMIN = Principal(kind="person", id="acct-admin", name="Admin")


def run(test: Any, **kw: Any) -> None:
    async def go() -> None:
        async with client(rejecting(RejectionReason.INVALID_COMMAND), **kw) as api:
            await test(api, api.gateway)  # type: ignore[attr-defined]

    asyncio.run(go())


async def administer(api: httpx.AsyncClient) -> tuple[str, str, str]:
    """An account created and re-granted, a device enrolled and revoked: the caller's
    actor, the new device's id and its token."""
    me = (await api.get("/api/v1/me")).json()["actor"]
    made = await api.post(
        "/api/v1/accounts", json={**SITI, "grants": [{"role": "recipient", "scope": "73.71"}], "password": PASSWORD}
    )
    assert made.status_code == 201, made.text
    regranted = await api.put(f"/api/v1/accounts/nip-{NIP}/grants", json={"grants": [{"role": "auditor"}]})
    assert regranted.status_code == 200, regranted.text
    enrolled = await api.post("/api/v1/devices", json={"name": "HP gudang 1", "grants": [{"role": "warehouse"}]})
    assert enrolled.status_code == 201, enrolled.text
    device = enrolled.json()
    assert (await api.delete(f"/api/v1/devices/{device['id']}")).status_code == 200
    return me, device["id"], device["token"]


def test_what_an_administrator_changes_is_published_with_the_administrator_as_actor() -> None:
    async def test(api: httpx.AsyncClient, gw: Any) -> None:
        me, device_id, _ = await administer(api)
        facts = gw.bus.published
        assert [e.type for e in facts] == [
            AccountCreated.TYPE,
            AccountGrantsChanged.TYPE,
            DeviceEnrolled.TYPE,
            DeviceRevoked.TYPE,
        ]
        assert all(e.actor == me and me.startswith("device:") for e in facts)
        assert all(codec.payload(e) is not None and e.source == "/serah/gateway" for e in facts)
        assert all(type(codec.payload(e)).TOPIC == topics.EVENTS for e in facts)
        created, regranted, enrolled, revoked = facts
        assert (created.subject, created.subjectkind) == (f"account:nip-{NIP}", "account")
        assert created.data == {**SITI, "account_id": f"nip-{NIP}", "grants": [{"role": "recipient", "scope": "73.71"}]}
        assert regranted.subject == created.subject and regranted.data["grants"] == [{"role": "auditor", "scope": "*"}]
        assert (enrolled.subject, enrolled.subjectkind) == (f"device:{device_id}", "device")
        assert enrolled.data == {
            "device_id": device_id,
            "name": "HP gudang 1",
            "grants": [{"role": "warehouse", "scope": "*"}],
        }
        assert revoked.subject == enrolled.subject and revoked.data == {"device_id": device_id, "name": "HP gudang 1"}
        # published, so nothing waits in the store
        assert await gw.identity.store.unpublished() == []
        # revoking again changes nothing, and records nothing
        assert (await api.delete(f"/api/v1/devices/{device_id}")).status_code == 200
        assert len(gw.bus.published) == 4

    run(test)


def test_no_identity_fact_carries_a_password_a_token_or_a_hash_of_either() -> None:
    async def test(api: httpx.AsyncClient, gw: Any) -> None:
        _, device_id, token = await administer(api)
        account = await gw.identity.store.account(f"nip-{NIP}")
        device = await gw.identity.store.device(device_id)
        secrets = [PASSWORD, account["password_hash"], token, digest(token), device["token_hash"], "argon2"]
        for fact in gw.bus.published:
            wire = codec.encode(fact).decode()
            assert not [s for s in secrets if s in wire], fact.type
            assert not {"password", "password_hash", "token", "token_hash"} & set(fact.data)

    run(test)


class Down(FakeBus):
    """Kafka not taking anything."""

    async def publish(self, event: Envelope) -> None:
        raise ConnectionError("broker unavailable")


def test_a_fact_kafka_did_not_take_waits_in_the_store_and_is_published_as_the_same_message_at_start() -> None:
    async def go() -> None:
        store = FakeIdentityStore()
        down = Identity(store, lambda: NOW, publish=Down(None, None).publish)  # type: ignore[arg-type]
        made = await down.create_account(
            name="Siti Rahma", nip=NIP, jabatan="Kepala", grants=[Grant(role=Role.AUDITOR)], password=PASSWORD, by=ADMIN
        )
        assert made["_id"] == f"nip-{NIP}"  # the change stands
        [(kind, doc_id, waiting)] = await store.unpublished()
        assert (kind, doc_id, waiting["type"]) == ("account", f"nip-{NIP}", AccountCreated.TYPE)
        # the gateway starts again, Kafka is back
        published: list[Envelope] = []

        async def up(event: Envelope) -> None:
            published.append(event)

        restarted = Identity(store, lambda: NOW, publish=up)
        assert await restarted.publish_unpublished() == 1
        assert codec.to_json(published[0]) == waiting  # the same envelope, the same id
        assert await store.unpublished() == [] and await restarted.publish_unpublished() == 0
        # a second start-up after a crash before the crossing-off publishes the same id again
        await store.update_account(f"nip-{NIP}", {}, waiting)
        await restarted.publish_unpublished()
        assert published[1].id == published[0].id and codec.encode(published[1]) == codec.encode(published[0])

    asyncio.run(go())


def test_the_gateway_publishes_what_waits_when_it_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    from services.gateway.bootstrap import Gateway

    async def go() -> None:
        api = client(rejecting(RejectionReason.INVALID_COMMAND))
        gw = api.gateway  # type: ignore[attr-defined]
        left = Identity(gw.identity.store, lambda: NOW)  # a shell without Kafka
        _, _ = await left.enrol_device(
            name="HP gudang 2", grants=[Grant(role=Role.WAREHOUSE)], by=Principal(kind="shell", id="root", name="root")
        )
        assert len(await gw.identity.store.unpublished()) == 1 and gw.bus.published == []
        monkeypatch.setattr("deploy.topics.ensure_topics", lambda *a: None)
        await Gateway.start(gw)  # the real start-up, over the fakes
        fact, *rings = gw.bus.published  # what waited first, then the key rings it started with
        assert fact.type == DeviceEnrolled.TYPE and fact.actor == "shell:root"
        assert {r.subject for r in rings} == {"key:label-signing", "key:receipt-codes"}  # no checkpoint keys here
        assert await gw.identity.store.unpublished() == []
        published = len(gw.bus.published)
        await Gateway.start(gw)  # started again with the same keys: nothing new
        assert len(gw.bus.published) == published
        await api.aclose()

    asyncio.run(go())


def test_a_fact_kafka_did_not_take_is_published_while_the_gateway_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    from services.gateway.bootstrap import Gateway

    async def go() -> None:
        api = client(rejecting(RejectionReason.INVALID_COMMAND))
        gw = api.gateway  # type: ignore[attr-defined]
        monkeypatch.setattr("deploy.topics.ensure_topics", lambda *a: None)
        gw.republish_every_s = 0.05
        await Gateway.start(gw)
        real, down = gw.bus.publish, [True]

        async def flaky(event: Envelope) -> None:
            if down[0]:
                raise ConnectionError("Kafka is away")
            await real(event)

        gw.identity.publish = flaky
        before = len(gw.bus.published)
        shell = Principal(kind="shell", id="root", name="root")
        await gw.identity.enrol_device(name="HP gudang 3", grants=[Grant(role=Role.WAREHOUSE)], by=shell)
        assert len(await gw.identity.store.unpublished()) == 1  # the device is enrolled; its fact waits
        await asyncio.sleep(0.2)  # rounds while Kafka is still away: the fact keeps waiting
        assert len(gw.bus.published) == before and len(await gw.identity.store.unpublished()) == 1
        down[0] = False
        for _ in range(100):
            if not await gw.identity.store.unpublished():
                break
            await asyncio.sleep(0.05)
        [fact] = gw.bus.published[before:]
        assert fact.type == DeviceEnrolled.TYPE and await gw.identity.store.unpublished() == []
        await Gateway.stop(gw)
        await api.aclose()

    asyncio.run(go())


# --- who dispatches: the BAST's first party ---


def close_as(
    grants: tuple[Grant, ...] | None, body: dict[str, Any] | None, person: dict[str, Any] | None = None
) -> Any:
    """Close a consignment as a device holding ``grants``, or as a signed-in ``person``
    (an account made with these details and a warehouse grant): the answer and what was sent."""

    async def go() -> tuple[httpx.Response, list[Envelope]]:
        async with client(rejecting(RejectionReason.CONSIGNMENT_EMPTY), grants=grants) as api:
            gw = api.gateway  # type: ignore[attr-defined]
            headers: dict[str, str] = {}
            if person is not None:
                await gw.identity.create_account(
                    **person, grants=[Grant(role=Role.WAREHOUSE)], password=PASSWORD, by=ADMIN
                )
                signed = await api.post(
                    "/api/v1/session", json={"account": person["nip"] or "acct-budi", "password": PASSWORD}
                )
                assert signed.status_code == 200, signed.text
                headers = {"X-CSRF-Token": signed.json()["csrf_token"]}
            kw = {"json": body} if body is not None else {}
            r = await api.post("/api/v1/consignments/KSB-1/close", headers=headers, **kw)
            return r, [c for c in gw.bus.sent if c.type == CloseConsignment.TYPE]

    return asyncio.run(go())


WAREHOUSE_DEVICE = (Grant(role=Role.WAREHOUSE),)
DEWI = {"name": "Dewi Lestari", "nip": "198507152010122002", "jabatan": "Kepala Seksi Distribusi"}


def test_a_device_closing_a_consignment_must_name_the_dispatching_official() -> None:
    for body in (None, {}, {"dispatcher": None}):
        r, sent = close_as(WAREHOUSE_DEVICE, body)
        assert r.status_code == 422 and r.json()["code"] == "dispatcher_required" and sent == [], r.text
    r, sent = close_as(WAREHOUSE_DEVICE, {"dispatcher": {**DEWI, "nip": "12345"}})
    assert r.status_code == 422 and sent == []
    r, [cmd] = close_as(WAREHOUSE_DEVICE, {"dispatcher": DEWI})
    assert r.json()["code"] == "consignment_empty"  # past the door, decided by allocation
    assert cmd.data["dispatcher"] == DEWI and cmd.actor.startswith("device:")


def test_a_signed_in_official_dispatches_as_themselves() -> None:
    r, [cmd] = close_as(None, None, person={**DEWI})
    assert r.json()["code"] == "consignment_empty", r.text
    assert cmd.data["dispatcher"] == DEWI and cmd.actor == f"nip:{DEWI['nip']}"
    r, [cmd] = close_as(None, {"dispatcher": DEWI}, person={**DEWI})
    assert cmd.data["dispatcher"] == DEWI
    r, sent = close_as(None, {"dispatcher": {**DEWI, "nip": NIP}}, person={**DEWI})
    assert r.status_code == 403 and r.json()["code"] == "not_yourself" and sent == []


def test_a_person_without_a_nip_or_jabatan_cannot_be_the_dispatching_official() -> None:
    r, sent = close_as(None, None, person={"name": "Budi", "nip": None, "jabatan": None})
    assert r.status_code == 422 and r.json()["code"] == "dispatcher_unknown" and sent == []


# --- who acted, in the history ---


class History:
    """A laptop's recorded chain, its events by the given actors (port ``Views.history``)."""

    def __init__(self, actors: list[str]) -> None:
        from events import proofs
        from tests.audit_data import event, laptop_history

        self.asset, events = laptop_history("73.71", len(actors))
        self.links: list[dict[str, Any]] = []
        prev = proofs.GENESIS
        for seq, (e, actor) in enumerate(zip(events, actors, strict=True), start=1):
            doc = codec.to_json(event(codec.payload(e), self.asset, e.time, actor=actor))
            h = proofs.link_hash_of(prev, doc)
            self.links.append({"asset_id": self.asset, "seq": seq, "prev_hash": prev, "hash": h, "event": doc})
            prev = h

    async def history(self, asset_id: str) -> list[dict[str, Any]]:
        return self.links if asset_id == self.asset else []

    async def chain(self, asset_id: str) -> list[dict[str, Any]]:
        return await self.history(asset_id)


def test_the_history_and_the_timeline_say_who_acted_by_name_and_nip() -> None:
    from tests.gateway_fakes import EmptyReads

    class Reads(History, EmptyReads):
        pass

    async def test(api: httpx.AsyncClient, gw: Any) -> None:
        me = (await api.get("/api/v1/me")).json()
        await gw.identity.create_account(**SITI, grants=[Grant(role=Role.RECIPIENT)], password=PASSWORD, by=ADMIN)
        actors = [me["actor"], f"nip:{NIP}", "system", "nip:199001012015011001", "shell:root"]
        reads.links = History(actors).links
        reads.asset = reads.links[0]["asset_id"]
        expected = [
            (me["name"], None),  # a device, by its name
            ("Siti Rahma", NIP),  # a person, by the account's name and NIP
            ("system", None),  # no one: the actor itself
            ("nip:199001012015011001", "199001012015011001"),  # a NIP with no account here
            ("shell:root", None),
        ]
        history = (await api.get(f"/api/v1/laptops/{reads.asset}/history")).json()
        assert [(e["actor_name"], e["actor_nip"]) for e in history["events"]] == expected
        assert [e["actor"] for e in history["events"]] == actors
        timeline = (await api.get(f"/api/v1/audit/laptops/{reads.asset}/timeline")).json()
        assert [(e["actor_name"], e["actor_nip"]) for e in timeline["events"]] == expected

    reads = Reads(["system"])
    run(test, reads=reads, audit=reads)
