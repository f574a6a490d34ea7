"""Accounts and devices reach the audit like any subject: each has its own hash
chain, verified and exported like a laptop's, and its view is marked with its kind,
so nothing that counts laptops (roll-ups, due lists, anomaly rules) counts them."""

from __future__ import annotations

import asyncio
import secrets
from datetime import timedelta

from events import labels, proofs
from events.envelope import Envelope
from services.audit import domain, handlers
from services.gateway import rollups
from services.gateway.auth.model import Grant, Principal, Role
from services.gateway.auth.service import Identity
from tests.audit_data import export_of, laptop_history
from tests.builders import NOW
from tests.fakes import FakePublisher, audit_with_fakes
from tests.gateway_fakes import FakeIdentityStore

ADMIN = Principal(kind="person", id="nip-197001011995031001", name="Admin", nip="197001011995031001")


def identity_facts() -> tuple[str, str, list[Envelope]]:
    """An account created and re-granted, a device enrolled and revoked, as the gateway
    publishes them: the account's subject, the device's subject, the facts in order."""
    published: list[Envelope] = []
    now = [NOW]

    async def publish(event: Envelope) -> None:
        published.append(event)

    def clock() -> object:
        now[0] += timedelta(minutes=1)
        return now[0]

    async def go() -> tuple[str, str]:
        identity = Identity(FakeIdentityStore(), clock, publish=publish)  # type: ignore[arg-type]
        account = await identity.create_account(
            name="Siti Rahma",
            nip="198001012005011001",
            jabatan="Kepala",
            grants=[Grant(role=Role.RECIPIENT, scope="73.71")],
            password="kata sandi yang panjang",
            by=ADMIN,
        )
        await identity.set_grants(account["_id"], [Grant(role=Role.RECIPIENT, scope="73")], ADMIN)
        device, _ = await identity.enrol_device(name="HP gudang", grants=[Grant(role=Role.WAREHOUSE)], by=ADMIN)
        await identity.revoke_device(device["_id"], ADMIN)
        return f"account:{account['_id']}", f"device:{device['_id']}"

    account, device = asyncio.run(go())
    return account, device, published


def test_accounts_and_devices_are_chained_under_their_own_subject_and_marked_with_their_kind() -> None:
    publisher = FakePublisher()
    rt = audit_with_fakes(publisher=publisher)
    account, device, facts = identity_facts()
    asset, laptop = laptop_history("73.71", 4)
    for e in [*facts, *laptop]:
        asyncio.run(handlers.record_event(e, rt))
    for subject in (account, device):
        mine = [e for e in facts if e.subject == subject]
        chain = asyncio.run(rt.log.chain(subject))
        assert [link["_id"] for link in chain] == [e.id for e in mine] and len(chain) == 2
        prev = domain.GENESIS
        for link, event in zip(chain, mine, strict=True):
            assert link["hash"] == domain.link_hash(prev, event)
            prev = link["hash"]
    assert rt.views.views[account]["kind"] == "account" and rt.views.views[device]["kind"] == "device"
    assert rt.views.views[account]["events"] == 2 and rt.views.views[account]["status"] == "unknown"
    assert rt.views.views[asset]["kind"] == "laptop" and rt.views.views[asset]["status"] == "received"
    assert not [e for e in publisher.sent if e.subject in (account, device)]  # no laptop rule fires on them
    # a fact recorded twice is one link
    assert asyncio.run(handlers.record_event(facts[0], rt)) is False
    assert len(asyncio.run(rt.log.chain(account))) == 2


def test_roll_ups_and_due_lists_do_not_count_accounts_or_devices() -> None:
    rt = audit_with_fakes()
    _, _, facts = identity_facts()
    _, laptop = laptop_history("73.71", 4)
    for e in [*facts, *laptop]:
        asyncio.run(handlers.record_event(e, rt))
    views = list(rt.views.views.values())
    # even an identity view that somehow carried an office and a receipt is skipped
    views += [
        {**v, "office_code": "73.71", "status": "received", "attestation_due_at": "2020-04-01T00:00:00.000000Z"}
        for v in views
        if v["kind"] in ("account", "device")
    ]
    office = next(o for p in rollups.rollup(views, NOW) for o in p["offices"] if o["code"] == "73.71")
    assert office["planned"] == 1 and office["received"] == 1
    assert rollups.attestations(views, NOW, "overdue", None, 10_000.0) == []


def test_a_rebuild_gives_the_same_views_for_accounts_and_devices() -> None:
    rt = audit_with_fakes()
    _, _, facts = identity_facts()
    for e in facts:
        asyncio.run(handlers.record_event(e, rt))
    live = {k: dict(v) for k, v in rt.views.views.items()}
    asyncio.run(handlers.rebuild_views(rt))
    assert {k: dict(v) for k, v in rt.views.views.items()} == live


def test_an_export_with_identity_chains_verifies_and_proves_one_of_them_alone() -> None:
    seed = secrets.token_bytes(32)
    keys = {"A9": labels.public_key(seed)}
    account, device, facts = identity_facts()
    histories = [
        laptop_history("73.71", 3),
        (account, [e for e in facts if e.subject == account]),
        (device, [e for e in facts if e.subject == device]),
    ]
    full = export_of(histories, seed)
    report = proofs.verify_export(full, keys)
    assert report.intact, [f.sentence() for f in report.findings]
    assert {x["asset_id"] for x in full if x["kind"] == "event"} >= {account, device}
    part = export_of(histories, seed, subjects=[device])
    assert proofs.verify_export(part, keys, [device]).intact
    # and a changed grant in the account's chain is caught and named
    tampered = [dict(x) for x in full]
    line = next(x for x in tampered if x["kind"] == "event" and x["asset_id"] == account and x["seq"] == 2)
    line["event"] = {**line["event"], "data": {**line["event"]["data"], "grants": [{"role": "admin", "scope": "*"}]}}
    broken = proofs.verify_export(tampered, keys)
    assert not broken.intact and any(f.asset_id == account for f in broken.findings)
