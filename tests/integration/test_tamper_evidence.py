"""Tampering with MongoDB directly is caught by ``serah verify`` on an export,
which names the laptop and the event. Real MongoDB-wire server, real audit
handlers and adapters; the export is read the way the gateway reads it."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from deploy.local.stack import Stack
from events import codec, labels, proofs
from events.catalog import LaptopReceived
from services.audit import handlers
from services.audit.bootstrap import bootstrap
from services.audit.config import AuditSettings
from services.common.mongo import connect
from services.common.worker import FakePublisher
from services.gateway.adapters.audit_reads import AuditReads
from tests.audit_data import laptop_history

SEED = secrets.token_bytes(32)
KEYS = {"A9": labels.public_key(SEED)}
SETTINGS = AuditSettings(audit_signing_key=labels.format_keyring({"A9": SEED}))


class Store:
    """A fresh database per test on the session's server: tampering stays local."""

    def __init__(self, infra: Stack, mongo_client: Any) -> None:
        assert infra.store is not None
        self.url = infra.store.url
        self.name = f"tamper_{uuid.uuid4().hex[:8]}"
        self.db = mongo_client[self.name]

    def run(self, fn: Callable[[Any], Any]) -> Any:
        async def go() -> Any:
            client, db = connect(self.url, self.name)
            try:
                return await fn(bootstrap(db, SETTINGS, FakePublisher()))
            finally:
                await client.close()

        return asyncio.run(go())

    def export(self) -> list[dict[str, Any]]:
        async def go() -> list[dict[str, Any]]:
            client, db = connect(self.url, self.name)
            try:
                return [
                    orjson.loads(orjson.dumps(x))
                    async for x in AuditReads(db).export_lines("2026-11-28T00:00:00.000000Z")
                ]
            finally:
                await client.close()

        return asyncio.run(go())


@pytest.fixture
def store(infra: Stack, mongo: Any) -> Store:
    s = Store(infra, mongo.client)
    histories = [
        laptop_history("32.73", 5, location=(-6.91, 107.61)),
        laptop_history("74.05", 4),
        laptop_history("11", 3),
    ]

    async def record(rt: handlers.AuditRuntime) -> None:
        await rt.log.ensure_indexes()
        await rt.checkpoints.ensure_indexes()
        for _, events in histories:
            for e in events:
                await handlers.record_event(e, rt)
        await handlers.take_checkpoint(rt)

    s.run(record)
    s.assets = [a for a, _ in histories]  # type: ignore[attr-defined]
    return s


def verify(lines: list[dict[str, Any]]) -> proofs.Report:
    return proofs.verify_export(lines, KEYS)


def link(store: Store, asset: str, seq: int) -> dict[str, Any]:
    doc = store.db.event_log.find_one({"asset_id": asset, "seq": seq})
    assert doc is not None
    return doc  # type: ignore[no-any-return]


def only_finding(report: proofs.Report) -> proofs.Finding:
    assert not report.intact
    return report.findings[0]


def test_an_untouched_export_is_intact(store: Store) -> None:
    report = verify(store.export())
    assert report.intact, [f.sentence() for f in report.findings]
    assert (report.laptops, report.events, report.checkpoints) == (3, 12, 1)


def test_changing_a_field_of_a_stored_event_names_that_laptop_and_event(store: Store) -> None:
    asset = store.assets[0]  # type: ignore[attr-defined]
    victim = link(store, asset, 4)
    store.db.event_log.update_one({"_id": victim["_id"]}, {"$set": {"event.data.condition": "RB"}})
    f = only_finding(verify(store.export()))
    assert (f.asset_id, f.event_id, f.seq) == (asset, victim["_id"], 4)
    assert "changed" in f.problem


def test_deleting_an_event_names_the_laptop_and_where_the_gap_is(store: Store) -> None:
    asset = store.assets[1]  # type: ignore[attr-defined]
    store.db.event_log.delete_one({"_id": link(store, asset, 2)["_id"]})
    after = link(store, asset, 3)
    f = only_finding(verify(store.export()))
    assert (f.asset_id, f.event_id, f.seq) == (asset, after["_id"], 3)
    assert "deleted or reordered" in f.problem


def test_reordering_two_events_names_the_laptop_and_the_first_moved_event(store: Store) -> None:
    asset = store.assets[0]  # type: ignore[attr-defined]
    a, b = link(store, asset, 2), link(store, asset, 3)
    # Swap which event sits at seq 2 and 3 (the links keep their hashes).
    store.db.event_log.delete_many({"_id": {"$in": [a["_id"], b["_id"]]}})
    store.db.event_log.insert_one({**b, "seq": 2, "prev_hash": a["prev_hash"], "hash": a["hash"]})
    store.db.event_log.insert_one({**a, "seq": 3, "prev_hash": b["prev_hash"], "hash": b["hash"]})
    f = only_finding(verify(store.export()))
    assert (f.asset_id, f.event_id, f.seq) == (asset, b["_id"], 2)
    assert "changed" in f.problem


def test_a_forged_event_with_a_correctly_recomputed_hash_is_not_covered_by_the_checkpoint(store: Store) -> None:
    asset = store.assets[2]  # type: ignore[attr-defined]
    head = link(store, asset, 3)
    forged = {
        **head["event"],
        "id": str(uuid.uuid4()),
        "type": LaptopReceived.TYPE,
        "data": {"office_code": "11", "condition": "B", "note": ""},
    }
    store.db.event_log.insert_one(
        {
            **head,
            "_id": forged["id"],
            "seq": 4,
            "prev_hash": head["hash"],
            "hash": proofs.link_hash_of(head["hash"], forged),
            "event": forged,
        }
    )
    f = only_finding(verify(store.export()))
    assert (f.asset_id, f.event_id, f.seq) == (asset, forged["id"], 4)
    assert "not covered" in f.problem


def test_rolling_a_chain_back_to_an_earlier_head_is_caught_by_the_checkpoint(store: Store) -> None:
    asset = store.assets[0]  # type: ignore[attr-defined]
    removed = [link(store, asset, 5)["_id"], link(store, asset, 4)["_id"]]
    store.db.event_log.delete_many({"_id": {"$in": removed}})
    f = only_finding(verify(store.export()))
    assert f.asset_id == asset and f.seq == 3 and f.event_id == link(store, asset, 3)["_id"]
    assert "rolled back" in f.problem


def test_a_rewritten_checkpoint_fails_its_signature(store: Store) -> None:
    store.db.checkpoints.update_one({}, {"$set": {"root": hashlib.sha256(b"other").hexdigest()}})
    report = verify(store.export())
    assert any("signature that does not match" in f.problem for f in report.findings), [
        f.sentence() for f in report.findings
    ]


def test_serah_verify_says_intact_or_names_the_damage(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "export.jsonl"
    key = f"--key=A9:{proofs.b64(KEYS['A9'])}"
    path.write_bytes(b"".join(orjson.dumps(x) + b"\n" for x in store.export()))
    ok = subprocess.run(
        [sys.executable, "-m", "services.cli", "verify", str(path), key], capture_output=True, text=True
    )
    assert ok.returncode == 0 and ok.stdout.startswith("INTACT: 3 chains, 12 events, 1 checkpoint "), (
        ok.stdout + ok.stderr
    )

    asset = store.assets[1]  # type: ignore[attr-defined]
    victim = link(store, asset, 2)
    store.db.event_log.update_one({"_id": victim["_id"]}, {"$set": {"event.actor": "someone-else"}})
    path.write_bytes(b"".join(orjson.dumps(x) + b"\n" for x in store.export()))
    bad = subprocess.run(
        [sys.executable, "-m", "services.cli", "verify", str(path), key], capture_output=True, text=True
    )
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert f"laptop {asset}, event {victim['_id']} (seq 2)" in bad.stdout

    wrong_key = subprocess.run(
        [
            sys.executable,
            "-m",
            "services.cli",
            "verify",
            str(path),
            f"--key=A9:{proofs.b64(labels.public_key(secrets.token_bytes(32)))}",
        ],
        capture_output=True,
        text=True,
    )
    assert wrong_key.returncode == 1 and "signature that does not match" in wrong_key.stdout


def test_a_checkpoint_is_signed_only_when_a_chain_moved_and_its_proofs_lead_to_its_root(store: Store) -> None:
    assert store.run(lambda rt: handlers.take_checkpoint(rt)) is None
    lines = store.export()
    cp = next(x for x in lines if x["kind"] == "checkpoint")
    assert proofs.checkpoint_signature_ok(cp, KEYS) is None
    for p in (x for x in lines if x["kind"] == "proof"):
        assert proofs.root_from_path(proofs.leaf_hash(p["asset_id"], p["seq"], p["head"]), p["path"]) == cp["root"]
    assert codec  # the export's events are CloudEvents the codec reads
    assert all(codec.from_json(x["event"]) for x in lines if x["kind"] == "event")


def test_the_audit_service_refuses_to_sign_over_a_rewritten_history_and_raises_an_anomaly(store: Store) -> None:
    asset = store.assets[1]  # type: ignore[attr-defined]
    store.db.event_log.update_one({"asset_id": asset, "seq": 2}, {"$set": {"event.actor": "rewriter"}})
    untouched = store.assets[0]  # type: ignore[attr-defined]
    store.db.event_log.delete_one({"asset_id": untouched, "seq": 5})  # rolled back one event

    async def attempt(rt: handlers.AuditRuntime) -> tuple[list[str], list[Any]]:
        with pytest.raises(handlers.HistoryRewritten) as caught:
            await handlers.take_checkpoint(rt, force=True)
        return caught.value.assets, rt.publisher.sent

    rewritten, sent = store.run(attempt)
    # Changing a field leaves the stored head hash in place (only a re-verify sees it);
    # the rollback removes the signed head: that is what the checkpoint check catches.
    assert rewritten == [untouched]
    assert [(e.subject, e.data["rule"]) for e in sent] == [(untouched, "history_rewritten")]
    assert len(store.db.checkpoints.find_one() and list(store.db.checkpoints.find())) == 1  # nothing new signed
    accepted = store.run(lambda rt: handlers.take_checkpoint(rt, accept_rewritten=True))
    assert accepted is not None and accepted["laptops"] == 3
