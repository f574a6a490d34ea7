"""A warehouse's grant reaches only the consignments picked at that warehouse; a grant of
every warehouse (``*``) reaches all and costs no read. In-process, over fakes."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from events.catalog import ConsignmentPlanned, PlanConsignment
from services.gateway.auth.model import Grant, Role
from tests.builders import code_hash
from tests.gateway_fakes import EmptyReads, client, rejecting

SCAN = {"scan_id": "s-1", "label": "x"}
OFFICIAL = {"name": "Andi", "nip": "198001012005011001", "jabatan": "Kepala Gudang"}


class Plans(EmptyReads):
    """Two planned consignments: one picked at G-JKT1, one that names no warehouse."""

    def __init__(self) -> None:
        self.reads = 0

    async def plan(self, consignment_id: str) -> dict[str, Any] | None:
        self.reads += 1
        found = {"C-JKT": {"warehouse": "G-JKT1"}, "C-ANY": {}}
        return found.get(consignment_id)


def as_warehouse(scope: str, plans: Plans) -> httpx.AsyncClient:
    return client(rejecting("invalid_command"), grants=(Grant(role=Role.WAREHOUSE, scope=scope),), consignments=plans)


def test_a_warehouse_grant_reaches_its_own_consignments_and_those_that_name_none() -> None:
    async def go() -> None:
        plans = Plans()
        async with as_warehouse("G-SBY2", plans) as surabaya:
            other = await surabaya.post("/api/v1/consignments/C-JKT/scans", json=SCAN)
            assert other.status_code == 403 and other.json()["code"] == "not_your_warehouse"
            assert "G-JKT1" in other.json()["detail"] and "G-SBY2" in other.json()["detail"]
            closed = await surabaya.post("/api/v1/consignments/C-JKT/close", json={"dispatcher": OFFICIAL})
            assert closed.status_code == 403 and closed.json()["code"] == "not_your_warehouse"
            manifest = await surabaya.post("/api/v1/consignments/C-JKT/manifest.pdf", json={})
            assert manifest.status_code == 403 and manifest.json()["code"] == "not_your_warehouse"
            anywhere = await surabaya.post("/api/v1/consignments/C-ANY/scans", json=SCAN)
            assert anywhere.status_code != 403  # no warehouse named: decided by the deciding service
            alone = await surabaya.post("/api/v1/scans/dispatch", json=SCAN)
            assert alone.status_code == 403 and alone.json()["code"] == "not_your_warehouse"
        async with as_warehouse("G-JKT1", plans) as jakarta:
            mine = await jakarta.post("/api/v1/consignments/C-JKT/scans", json=SCAN)
            assert mine.status_code != 403, mine.text

    asyncio.run(go())


def test_a_grant_of_every_warehouse_is_not_asked_and_reads_nothing_more() -> None:
    async def go() -> None:
        plans = Plans()
        async with as_warehouse("*", plans) as central:
            r = await central.post("/api/v1/consignments/C-JKT/scans", json=SCAN)
            assert r.status_code != 403 and plans.reads == 0
            assert (await central.post("/api/v1/scans/dispatch", json=SCAN)).status_code != 403

    asyncio.run(go())


def test_only_the_warehouse_role_is_scoped_to_a_warehouse_and_the_plan_carries_it() -> None:
    assert Grant(role=Role.WAREHOUSE, scope="G-JKT1").covers("G-JKT1")
    assert not Grant(role=Role.WAREHOUSE, scope="G-JKT1").covers("G-SBY2")
    for role in (Role.RECIPIENT, Role.AUDITOR, Role.OPERATOR, Role.ADMIN):
        with pytest.raises(ValidationError):
            Grant(role=role, scope="G-JKT1")
    with pytest.raises(ValidationError):
        Grant(role=Role.WAREHOUSE, scope="G-jkt")
    planned = PlanConsignment(
        office_code="73.71",
        officials=[OFFICIAL],  # type: ignore[list-item]
        legal_basis={"kind": "contract", "number": "1", "date": "2026-10-01"},  # type: ignore[arg-type]
        expected=["SRHPPSKGESNAC"],
        receipt_code_hash=code_hash(),
        warehouse="G-JKT1",
    )
    assert planned.warehouse == "G-JKT1" and "warehouse" in ConsignmentPlanned.model_fields
    with pytest.raises(ValidationError) as wrong:
        PlanConsignment.model_validate({**planned.model_dump(mode="json"), "warehouse": "JKT"})
    assert [e["loc"] for e in wrong.value.errors()] == [("warehouse",)]
