"""The office's desk for one laptop, in-process over fakes: who sees which forms, what a
form sends the API's route (the command a program would send), and that a refusal —
the form's own or the service's — is shown on the page with nothing else sent."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx

from events.catalog import AssignLaptop, ReportLoss
from services.audit import domain
from services.gateway.auth.model import Grant, Role
from tests.gateway_fakes import EmptyReads, client, rejecting

ASSET = "SRHPPSKGESNAC"
PAGE = f"/kantor/laptop/{ASSET}"
OFFICIAL = {"official_name": "Andi Pratama", "official_nip": "198001012005011001", "official_jabatan": "Kepala Badan"}
HOLDER = {
    "holder_name": "Rina Wulandari",
    "holder_nip": "199002022015032001",
    "holder_jabatan": "Analis Kebijakan",
    "holder_unit": "Bidang Politik",
}


class AtOffice(EmptyReads):
    """One laptop, received at office 73.71: the audit's own view shape, so it cannot lack a field."""

    async def laptop(self, asset_id: str) -> dict[str, Any] | None:
        if asset_id != ASSET:
            return None
        return {**domain.empty_view(ASSET), "status": "received", "office_code": "73.71", "brand": "Lenovo"}


def desk(*grants: Grant) -> httpx.AsyncClient:
    return client(rejecting("invalid_command"), grants=grants, reads=AtOffice())


def forms_on(page: str) -> list[str]:
    return re.findall(r'<form method="post" action="[^"]+" id="([a-z-]+)"', page)


def request_id(page: str, form: str) -> str:
    found = re.search(
        rf'id="{form}"><input type="hidden" name="csrf_token" value="[^"]*">'
        r'<input type="hidden" name="request_id" value="([^"]+)"',
        page,
    )
    assert found, form
    return found[1]


def test_an_offices_device_sees_the_offices_forms_and_names_the_official_who_signs() -> None:
    async def go() -> None:
        async with desk(Grant(role=Role.RECIPIENT, scope="73.71")) as tablet:
            page = await tablet.get(PAGE)
            assert page.status_code == 200, page.text
            assert forms_on(page.text) == ["holder", "loss", "write-off"]  # no decision: that is an operator's
            assert 'name="official_nip"' in page.text  # a shared device names who signs
            assert 'data-status="received"' in page.text

    asyncio.run(go())


def test_another_offices_official_and_the_warehouse_are_refused_the_desk() -> None:
    async def go() -> None:
        async with desk(Grant(role=Role.RECIPIENT, scope="74.05")) as elsewhere:
            page = await elsewhere.get(PAGE)
            assert page.status_code == 403 and 'data-refusal="not_your_office"' in page.text
            assert forms_on(page.text) == []
        async with desk(Grant(role=Role.WAREHOUSE)) as warehouse:
            page = await warehouse.get(PAGE)
            assert page.status_code == 403 and 'data-refusal="not_allowed"' in page.text

    asyncio.run(go())


def test_handing_out_sends_the_apis_command_and_a_refusal_is_shown_on_the_page() -> None:
    async def go() -> None:
        api = desk(Grant(role=Role.RECIPIENT, scope="73.71"))
        async with api as tablet:
            page = await tablet.get(PAGE)
            rid = request_id(page.text, "holder")
            unnamed = await tablet.post(f"{PAGE}/pemegang", data={"request_id": rid, **HOLDER})
            assert unnamed.status_code == 422 and 'data-refusal="invalid_form"' in unnamed.text
            assert api.gateway.bus.sent == []  # type: ignore[attr-defined]

            refused = await tablet.post(f"{PAGE}/pemegang", data={"request_id": rid, **HOLDER, **OFFICIAL})
            assert 'data-refusal="invalid_command"' in refused.text and 'data-form="holder"' in refused.text
            [command] = api.gateway.bus.sent  # type: ignore[attr-defined]
            assert command.type == AssignLaptop.TYPE and command.id == rid and command.subject == ASSET
            assert command.data["holder"]["nip"] == HOLDER["holder_nip"]
            assert command.data["assigned_by"]["nip"] == OFFICIAL["official_nip"]

    asyncio.run(go())


def test_a_loss_report_carries_the_police_report_and_a_bad_date_is_refused_before_sending() -> None:
    async def go() -> None:
        api = desk(Grant(role=Role.RECIPIENT, scope="73.71"))
        async with api as tablet:
            report = {"request_id": "loss-1", "kind": "stolen", "circumstances": "dicuri dari mobil dinas"}
            bad = await tablet.post(f"{PAGE}/kehilangan", data={**report, "lost_on": "kemarin"})
            assert bad.status_code == 422 and "lost_on" in bad.text
            assert api.gateway.bus.sent == []  # type: ignore[attr-defined]
            await tablet.post(f"{PAGE}/kehilangan", data={**report, "police_report": "LP/123/XI/2026"})
            [command] = api.gateway.bus.sent  # type: ignore[attr-defined]
            assert command.type == ReportLoss.TYPE and command.data["police_report"] == "LP/123/XI/2026"
            assert command.data["kind"] == "stolen"

    asyncio.run(go())


def test_only_an_operator_in_person_decides_a_write_off() -> None:
    async def go() -> None:
        async with desk(Grant(role=Role.OPERATOR)) as device:
            page = await device.get(PAGE)
            assert page.status_code == 200 and "approval" not in forms_on(page.text)
            refused = await device.post(f"{PAGE}/penghapusan/setuju", data={"request_id": "w-1"})
            assert refused.status_code == 403 and 'data-refusal="person_required"' in refused.text

    asyncio.run(go())
