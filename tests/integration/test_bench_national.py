"""``serah bench-national`` loads lifecycles the product's own reads accept: every
laptop counted once by the roll-up, its timeline and history found and verified,
the consignments in transit seen by the sweep and none reminded early, and the
export intact for ``serah verify``. Two small sizes on the session's store; the
figures it prints are not looked at."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from deploy.local.stack import Stack
from services.cli import bench_national
from services.common.mongo import connect


def test_the_national_load_is_read_back_whole_by_every_measure(infra: Stack) -> None:
    assert infra.store is not None
    name = f"national_{uuid.uuid4().hex[:8]}"

    async def go() -> list[dict[str, Any]]:
        client, db = connect(infra.store.url, name)  # type: ignore[union-attr]
        try:
            world = bench_national._World(db, uuid.uuid4().hex[:4].upper())  # noqa: SLF001
            await world.handover_consignments.ensure_indexes()
            await world.audit.log.ensure_indexes()
            rows = []
            for lo, hi in ((0, 50), (50, 250)):
                await world.add(lo, hi)
                rows.append(await bench_national._measure(world, hi, samples=5))  # noqa: SLF001
            return rows
        finally:
            await client.drop_database(name)
            await client.close()

    rows = asyncio.run(go())
    assert [r["laptops"] for r in rows] == [50, 250]
    # a consignment of 25 received: 25 x 5 laptop events + planned, 25 scans, dispatched,
    # receipt = 153; one still in transit (the first of every ten): 25 x 3 + 27 = 102
    assert [r["events"] for r in rows] == [102 + 153, 102 + 9 * 153]
    assert [r["sweep_consignments_late"] for r in rows] == [1, 1]
