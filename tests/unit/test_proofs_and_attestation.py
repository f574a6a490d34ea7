"""Merkle proofs, the CSV guard, usage attestation decisions."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from events import proofs
from events.catalog import AttestUsage, UsageAttested
from services.gateway.api.audit import safe_cell
from services.handover import handlers
from tests.builders import allocate, cmd, dispatch, label_for, new_asset, receive, register
from tests.unit.test_handover import World


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8, 13])
def test_every_leaf_has_a_path_to_the_root_and_a_changed_leaf_does_not(n: int) -> None:
    leaves = [[f"SRH{i:010d}", i + 1, f"{i:064x}"] for i in range(n)]
    index = proofs.ProofIndex("cp", leaves)
    for a, s, h in leaves:
        p = index.proof(a)
        assert p is not None
        assert proofs.root_from_path(proofs.leaf_hash(a, s, h), p["path"]) == index.root()
        assert proofs.root_from_path(proofs.leaf_hash(a, s + 1, h), p["path"]) != index.root()


def test_a_checkpoint_signature_covers_every_field() -> None:
    import secrets

    from events import labels

    seed = secrets.token_bytes(32)
    cp = {
        "checkpoint_id": "cp-1",
        "created_at": "2026-11-28T09:00:00.000000Z",
        "laptops": 2,
        "root": "ab" * 32,
        "key_id": "A1",
    }
    cp["signature"] = proofs.sign_checkpoint(seed, cp["checkpoint_id"], cp["created_at"], cp["laptops"], cp["root"])
    keys = {"A1": labels.public_key(seed)}
    assert proofs.checkpoint_signature_ok(cp, keys) is None
    for field, value in (("laptops", 3), ("root", "cd" * 32), ("created_at", "2027-01-01T00:00:00.000000Z")):
        assert proofs.checkpoint_signature_ok({**cp, field: value}, keys) is not None
    assert "did not give as trusted" in (proofs.checkpoint_signature_ok({**cp, "key_id": "B1"}, keys) or "")


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@SUM(A1)", "=cmd|' /C calc'!A0"])
def test_csv_cells_that_a_spreadsheet_would_run_as_formulas_are_quoted(text: str) -> None:
    assert safe_cell(text) == "'" + text


def test_csv_cells_that_are_plain_stay_as_they_are() -> None:
    assert [safe_cell(x) for x in ("Layar tergores", "32.73", 4, None)] == ["Layar tergores", "32.73", "4", ""]


def test_a_received_laptop_can_be_attested_and_one_in_transit_cannot() -> None:
    w = World()
    serial, asset = new_asset()
    for c in (register(serial, asset), allocate(asset, "74.05"), dispatch(asset)):
        w.tell(c)
    early = asyncio.run(handlers.handle(cmd(AttestUsage(label=label_for(asset)), asset), w.hand))
    assert early[0].data["reason"] == "not_received"
    w.receipt(receive(asset))
    [ok] = asyncio.run(
        handlers.handle(cmd(AttestUsage(label=label_for(asset), condition="RR", in_use=False), asset), w.hand)
    )
    assert ok.type == UsageAttested.TYPE and ok.data["office_code"] == "74.05" and ok.data["in_use"] is False


def test_an_attestation_with_a_forged_label_is_refused() -> None:
    import secrets

    w = World()
    serial, asset = new_asset()
    for c in (register(serial, asset), allocate(asset), dispatch(asset)):
        w.tell(c)
    w.receipt(receive(asset))
    forged = label_for(asset, seed=secrets.token_bytes(32))
    [e] = asyncio.run(handlers.handle(cmd(AttestUsage(label=forged), asset), w.hand))
    assert e.data["reason"] == "label_forged"


def test_due_and_overdue_lists_follow_the_interval_from_receipt_or_last_attestation() -> None:
    from datetime import timedelta

    from services.audit import domain, rules
    from services.gateway import rollups
    from tests.audit_data import laptop_history
    from tests.builders import NOW

    def view(office: str, stage: int, **kw: Any) -> dict[str, Any]:
        asset, events = laptop_history(office, stage, **kw)
        return {"_id": asset, **domain.view(asset, events, rules.Thresholds(attestation_interval_days=90))}

    received = view("32.73", 4)  # received NOW+4d, due NOW+94d
    attested = view("32.73", 5, attested_at=NOW + timedelta(days=60))  # due NOW+150d
    elsewhere = view("11.01", 4)
    in_transit = view("32.73", 3)
    views = [received, attested, elsewhere, in_transit]

    def ids(at_days: int, state: str, office: str | None = "32.73") -> list[str]:
        got = rollups.attestations(views, NOW + timedelta(days=at_days), state, office, 14)
        return [x["asset_id"] for x in got]

    assert ids(85, "due") == [received["_id"]] and ids(85, "overdue") == []
    assert ids(100, "overdue") == [received["_id"]]
    assert ids(140, "due") == [attested["_id"]]
    assert ids(200, "overdue") == [received["_id"], attested["_id"]]
    assert set(ids(200, "overdue", None)) == {received["_id"], attested["_id"], elsewhere["_id"]}


def test_serah_verify_refuses_unusable_input_with_a_sentence_saying_what_to_do(tmp_path: Any) -> None:
    from typer.testing import CliRunner

    from services.cli.main import app

    runner = CliRunner()
    garbage = tmp_path / "garbage.jsonl"
    garbage.write_text("{not json\n")
    key = "--key=A1:" + proofs.b64(b"\x01" * 32)
    no_key = runner.invoke(app, ["verify", str(garbage)])
    assert no_key.exit_code == 2 and "--key" in no_key.output
    bad = runner.invoke(app, ["verify", str(garbage), key])
    assert bad.exit_code == 2 and "line 1" in bad.output
    other = tmp_path / "other.jsonl"
    other.write_text('{"hello": "world"}\n')
    not_export = runner.invoke(app, ["verify", str(other), key])
    assert not_export.exit_code == 1 and f"not a {proofs.EXPORT_FORMAT} file" in not_export.output
