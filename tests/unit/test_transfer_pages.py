"""The giving office's transfer pages, in-process over fakes: the plan form offers only
the office's laptops free to leave, sends the API's transfer plan (the command a program
would send) and shows the receipt code once; a refusal, the form's own or the service's,
is shown beside the form with what was entered kept; another office is refused; closing
sends the transfer's close as the official the office's device names."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from typing import Any

import httpx

from events import codec
from events.catalog import CloseConsignment, ConsignmentPlanned, PlanConsignment
from events.envelope import Envelope
from services.audit import domain
from services.gateway.auth.model import Grant, Role
from services.gateway.web import transfer
from tests.builders import NOW
from tests.gateway_fakes import EmptyReads, client, rejecting

GIVER, TAKER = "73.71", "73.72"
PAGE = f"/kantor/{GIVER}/mutasi"
FREE, HELD, REPAIR = "SRHPPSKGESNAC", "SRHPPSKGESNAD", "SRHPPSKGESNAE"
RECEIVING = {"official_name": "Yusuf Hamzah", "official_nip": "198203032006041002", "official_jabatan": "Sekretaris"}
PLAN = {
    "consignment_id": "MUT-73.71-20270110-0A1B",
    "office_code": TAKER,
    **RECEIVING,
    "legal_kind": "transfer_decree",
    "legal_number": "KEP-MUT-3/2027",
    "legal_date": "2027-01-10",
    "asset": FREE,
}


class Office(EmptyReads):
    """Office 73.71 with three laptops (one free to leave, one held, one in repair) and one
    transfer planned from it."""

    async def label_views(self, query: dict[str, Any], limit: int) -> list[dict[str, Any]]:
        assert query == {"office_code": GIVER}
        base = {"status": "received", "office_code": GIVER, "brand": "Lenovo"}
        return [
            {**domain.empty_view(FREE), **base, "_id": FREE},
            {**domain.empty_view(HELD), **base, "_id": HELD, "status": "in_use", "holder_nip": "1" * 18},
            {**domain.empty_view(REPAIR), **base, "_id": REPAIR, "status": "in_repair"},
        ]

    async def plan(self, consignment_id: str) -> dict[str, Any] | None:
        if consignment_id == "MUT-OPEN":
            return {"from_office": GIVER, "office_code": TAKER}
        if consignment_id == "KSB-73.71-001":
            return {"from_office": None, "office_code": GIVER}
        return None

    async def summary(self, consignment_id: str) -> dict[str, Any] | None:
        if consignment_id != "MUT-OPEN":
            return None
        return {
            "status": "open",
            "office_code": TAKER,
            "office_name": "Kota Parepare",
            "plan": {"warehouse": None, "from_office": GIVER},
            "expected": [FREE],
            "scanned": [FREE],
            "missing": [],
            "expected_count": None,
            "missing_count": 0,
            "received": [],
            "in_transit": [],
            "receipts": [],
            "reminders": [],
            "receipt_code_generation": 1,
        }

    async def being_picked(self) -> list[dict[str, Any]]:
        return [
            {"consignment_id": "MUT-OPEN", **(await self.summary("MUT-OPEN") or {})},
            {"consignment_id": "KSB-OTHER", "plan": {"from_office": None}, "scanned": [], "missing_count": 3},
        ]


def planning(command: Envelope) -> Envelope:
    """A deciding service that accepts a transfer plan as sent."""
    if command.type != PlanConsignment.TYPE:
        return rejecting("invalid_command")(command)
    fact = ConsignmentPlanned(**{**command.data, "office_name": "Kota Parepare"})
    return codec.make(fact, subject=command.subject, source="/test", time=NOW, id=f"e-{command.id}")


def office(decide: Any = None, *grants: Grant) -> httpx.AsyncClient:
    views = Office()
    return client(decide or rejecting("invalid_command"), grants=grants, reads=views, consignments=views)


def test_the_plan_form_offers_the_offices_laptops_free_to_leave_and_its_transfers_under_way() -> None:
    async def go() -> None:
        async with office(None, Grant(role=Role.RECIPIENT, scope=GIVER)) as tablet:
            page = await tablet.get(PAGE)
            assert page.status_code == 200, page.text
            assert re.findall(r'name="asset" value="([A-Z0-9]+)"', page.text) == [FREE]
            assert f'<option value="{TAKER}">73.72 Kota Parepare</option>' in page.text
            assert f'<option value="{GIVER}"' not in page.text  # not to itself
            assert 'data-consignment="MUT-OPEN"' in page.text and "KSB-OTHER" not in page.text
            assert re.search(r'id="consignment_id" [^>]*value="MUT-73\.71-\d{8}-[0-9A-F]{4}"', page.text)

    asyncio.run(go())


def test_planning_sends_the_apis_transfer_and_shows_the_receipt_code_once() -> None:
    async def go() -> None:
        api = office(planning, Grant(role=Role.RECIPIENT, scope=GIVER))
        async with api as tablet:
            done = await tablet.post(PAGE, data=PLAN)
            assert done.status_code == 200, done.text
            [command] = api.gateway.bus.sent  # type: ignore[attr-defined]
            assert command.type == PlanConsignment.TYPE and command.subject == PLAN["consignment_id"]
            assert command.data["from_office"] == GIVER and command.data["office_code"] == TAKER
            assert command.data["expected"] == [FREE]
            assert command.data["officials"] == [
                {"name": "Yusuf Hamzah", "nip": "198203032006041002", "jabatan": "Sekretaris"}
            ]
            assert 'data-verdict="accepted" data-form="plan"' in done.text
            code = re.search(r'<code id="receipt-code">([^<]+)</code>', done.text)
            assert code and len(code[1].replace("-", "")) >= 8
            assert code[1] not in (await tablet.get(f"{PAGE}/MUT-OPEN")).text

    asyncio.run(go())


def test_a_refused_plan_is_shown_beside_the_form_with_what_was_entered_kept() -> None:
    async def go() -> None:
        api = office(None, Grant(role=Role.RECIPIENT, scope=GIVER))
        async with api as tablet:
            none_chosen = await tablet.post(PAGE, data={**PLAN, "asset": []})
            assert none_chosen.status_code == 422 and 'data-refusal="no_laptops"' in none_chosen.text
            bad_nip = await tablet.post(PAGE, data={**PLAN, "official_nip": "123"})
            assert bad_nip.status_code == 422 and 'data-refusal="invalid_form"' in bad_nip.text
            assert "officials.0.nip" in bad_nip.text
            assert api.gateway.bus.sent == []  # type: ignore[attr-defined]
            refused = await tablet.post(PAGE, data=PLAN)
            assert 'data-refusal="invalid_command"' in refused.text
            assert 'value="KEP-MUT-3/2027"' in refused.text and f'<option value="{TAKER}" selected>' in refused.text
            assert re.search(rf'value="{FREE}" checked', refused.text)

    asyncio.run(go())


def test_another_office_and_the_warehouse_are_refused_and_a_warehouse_consignment_is_not_a_transfer() -> None:
    async def go() -> None:
        async with office(None, Grant(role=Role.RECIPIENT, scope="74.05")) as elsewhere:
            page = await elsewhere.get(PAGE)
            assert page.status_code == 403 and 'data-refusal="not_your_office"' in page.text
            planned = await elsewhere.post(PAGE, data=PLAN)
            assert planned.status_code == 403 and 'data-refusal="not_your_office"' in planned.text
        async with office(None, Grant(role=Role.WAREHOUSE)) as warehouse:
            assert 'data-refusal="not_allowed"' in (await warehouse.get(PAGE)).text
        async with office(None, Grant(role=Role.RECIPIENT, scope=GIVER)) as tablet:
            other = await tablet.get(f"{PAGE}/KSB-73.71-001")
            assert other.status_code == 404 and 'data-refusal="unknown_transfer"' in other.text

    asyncio.run(go())


def test_closing_a_transfer_sends_its_close_as_the_official_the_device_names() -> None:
    async def go() -> None:
        api = office(None, Grant(role=Role.RECIPIENT, scope=GIVER))
        async with api as tablet:
            page = await tablet.get(f"{PAGE}/MUT-OPEN")
            assert page.status_code == 200, page.text
            assert 'href="/pindai?mode=transfer&amp;consignment=MUT-OPEN" id="scan"' in page.text
            close_id = re.search(r'name="close_id" value="([^"]+)"', page.text)
            assert close_id
            unnamed = await tablet.post(f"{PAGE}/MUT-OPEN/kirim", data={"close_id": close_id[1]})
            assert 'data-refusal="dispatcher_required"' in unnamed.text
            named = {"name": "Andi Pratama", "nip": "198001012005011001", "jabatan": "Kepala Badan"}
            await tablet.post(f"{PAGE}/MUT-OPEN/kirim", data={"close_id": close_id[1], **named})
            [command] = api.gateway.bus.sent  # type: ignore[attr-defined]
            assert command.type == CloseConsignment.TYPE and command.subject == "MUT-OPEN"
            assert command.data["from_office"] == GIVER and command.data["dispatcher"]["nip"] == named["nip"]
        async with office(None, Grant(role=Role.OPERATOR)) as operator:
            seen = await operator.get(f"{PAGE}/MUT-OPEN")  # an operator follows it; the office scans and closes
            assert seen.status_code == 200 and 'id="close"' not in seen.text and 'id="scan"' not in seen.text

    asyncio.run(go())


def test_a_suggested_transfer_number_names_the_office_and_the_day_in_western_indonesian_time() -> None:
    late = datetime(2027, 1, 9, 18, 30, tzinfo=UTC)  # 01.30 on 10 January in WIB
    assert re.fullmatch(r"MUT-73\.71-20270110-[0-9A-F]{4}", transfer.suggested_id("73.71", late))


def test_a_plan_still_being_decided_is_shown_as_pending_without_a_code() -> None:
    from tests.gateway_fakes import FakeWaiter

    async def go() -> None:
        views = Office()
        grants = (Grant(role=Role.RECIPIENT, scope=GIVER),)
        api = client(planning, grants=grants, decision_timeout_s=0.1, reads=views, consignments=views)
        api.gateway.bus.waiter = FakeWaiter()  # type: ignore[attr-defined]  # the decision never comes back
        async with api as tablet:
            r = await tablet.post(PAGE, data=PLAN)
            assert r.status_code == 200 and 'data-verdict="pending" data-form="plan"' in r.text
            assert 'id="receipt-code"' not in r.text

    asyncio.run(go())
