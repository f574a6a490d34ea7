"""Audit test data: laptops' event histories written straight through the
audit handlers (the same code the audit worker runs), fast enough for thousands."""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta
from typing import Any

from events import codec, offices
from events.catalog import (
    LabelRef,
    LaptopAllocated,
    LaptopDescription,
    LaptopDispatched,
    LaptopReceived,
    LaptopRegistered,
    Location,
    Payload,
    Specs,
    UsageAttested,
)
from events.envelope import Envelope
from tests.builders import NOW, new_asset


def event(body: Payload, asset: str, at: datetime, source: str = "/serah/test", actor: str = "tester") -> Envelope:
    return codec.make(
        body,
        subject=asset,
        source=source,
        time=at,
        id=str(uuid.uuid4()),
        causation_id=f"scan-{uuid.uuid4().hex[:12]}",
        actor=actor,
    )


def laptop_history(
    office: str,
    stage: int,
    start: datetime = NOW,
    location: tuple[float, float] | None = None,
    attested_at: datetime | None = None,
) -> tuple[str, list[Envelope]]:
    """stage 1 registered, 2 allocated, 3 dispatched, 4 received, 5 attested."""
    serial, asset = new_asset()
    desc = LaptopDescription(
        serial=serial, brand="HP", model="ProBook 440", specs=Specs(cpu="i5", ram_gb=8, storage_gb=256)
    )
    loc = Location(lat=location[0], lon=location[1]) if location else None
    out = [event(LaptopRegistered(laptop=desc, label=LabelRef(generation=1, key_id="K1")), asset, start)]
    o = offices.get(office)
    assert o is not None
    if stage >= 2:
        out.append(event(LaptopAllocated(office_code=office, office_name=o.name), asset, start + timedelta(hours=1)))
    if stage >= 3:
        out.append(event(LaptopDispatched(office_code=office), asset, start + timedelta(days=1)))
    if stage >= 4:
        out.append(
            event(LaptopReceived(office_code=office, condition="B", location=loc), asset, start + timedelta(days=4))
        )
    if stage >= 5:
        out.append(
            event(
                UsageAttested(office_code=office, condition="RR", note="=cmd|' /C calc'!A0", location=loc),
                asset,
                attested_at or start + timedelta(days=30),
            )
        )
    return asset, out


def spread(n: int, provinces: tuple[str, ...], seed: int = 5) -> list[tuple[str, int]]:
    rnd = random.Random(seed)
    codes = [o.code for o in offices.all_offices() if o.province_code in provinces]
    return [(rnd.choice(codes), rnd.randint(1, 5)) for _ in range(n)]


def as_lines(items: Any) -> list[dict[str, Any]]:
    import orjson

    return [orjson.loads(orjson.dumps(x)) for x in items]


def export_of(
    histories: list[tuple[str, list[Envelope]]],
    seed: bytes,
    key_id: str = "A9",
    subjects: list[str] | None = None,
    checkpoint_id: str = "cp-20261128T000000000000Z",
) -> list[dict[str, Any]]:
    """An export as ``AuditReads.export_lines`` writes it (same line builders, no store):
    the histories chained, one checkpoint signed over every head, then the chain list
    (``subjects`` None) or the named chains' inclusion proofs. Lines as parsed JSON."""
    import orjson

    from events import proofs

    chains: dict[str, list[dict[str, Any]]] = {}
    for asset, events in histories:
        prev = proofs.GENESIS
        for seq, e in enumerate(events, start=1):
            doc = codec.to_json(e)
            h = proofs.link_hash_of(prev, doc)
            chains.setdefault(asset, []).append(
                {"asset_id": asset, "seq": seq, "prev_hash": prev, "hash": h, "event": doc}
            )
            prev = h
    leaves = [[a, len(links), links[-1]["hash"]] for a, links in sorted(chains.items())]
    index = proofs.ProofIndex(checkpoint_id, leaves)
    created_at = "2026-11-28T00:00:00.000000Z"
    cp = {
        "checkpoint_id": checkpoint_id,
        "created_at": created_at,
        "laptops": len(leaves),
        "root": index.root(),
        "key_id": key_id,
        "signature": proofs.sign_checkpoint(seed, checkpoint_id, created_at, len(leaves), index.root()),
    }
    lines: list[dict[str, Any]] = [proofs.header_line(), proofs.checkpoint_public(cp)]
    wanted = sorted(chains) if subjects is None else sorted(set(subjects))
    for a in wanted:
        lines += [proofs.event_line(link) for link in chains.get(a, [])]
    if subjects is None:
        lines += list(index.leaves_lines())
    else:
        lines += [p for a in wanted if (p := index.proof(a)) is not None]
    return [orjson.loads(orjson.dumps(x)) for x in lines]
