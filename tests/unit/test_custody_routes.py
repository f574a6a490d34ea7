"""The custody and transfer routes in-process, over fakes: who may act for which office,
who signs (a person as themselves; a device names the official), and what the command
sent to the deciding service carries. The decisions themselves are the services' (see
test_custody_table.py); here every command is refused so only the door is exercised."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from events.envelope import Envelope
from services.gateway.auth.model import Grant, Role
from tests.builders import label_for
from tests.gateway_fakes import EmptyReads, client, rejecting
from tests.lifecycle_world import APPROVER, HOLDER

ASSET = "SRHPPSKGESNAC"
LABEL = label_for(ASSET)
OFFICIAL = {"name": "Andi Pratama", "nip": "198001012005011001", "jabatan": "Kepala Badan"}
PASSWORD = "kata sandi yang panjang"


class AtOffice(EmptyReads):
    """One laptop at office 73.71 (or at none: in the warehouse); one transfer from 73.71,
    one warehouse consignment; one issued document."""

    def __init__(self, office: str | None = "73.71") -> None:
        self.office = office

    async def laptop(self, asset_id: str) -> dict[str, Any] | None:
        return {"status": "received", "office_code": self.office} if asset_id == ASSET else None

    async def plan(self, consignment_id: str) -> dict[str, Any] | None:
        return {"MUT-1": {"from_office": "73.71"}, "KSB-1": {"warehouse": None}}.get(consignment_id)

    async def document(self, document_id: str) -> dict[str, Any] | None:
        if document_id != f"{ASSET}-assignment-1":
            return None
        return {
            "asset_id": ASSET,
            "kind": "assignment",
            "number": "001/BA-PEMEGANG/X",
            "issued_at": "2026-11-28T09:00:00+00:00",
            "office_code": "73.71",
            "recorded_sha256": hashlib.sha256(b"%PDF the one").hexdigest(),
            "pdf": b"%PDF the one",
        }


def device(*grants: Grant, office: str | None = "73.71") -> httpx.AsyncClient:
    views = AtOffice(office)
    return client(rejecting("invalid_command"), grants=grants, reads=views, consignments=views)


def sent(api: httpx.AsyncClient) -> Envelope:
    return api.gateway.bus.sent[-1]  # type: ignore[attr-defined,no-any-return]


def code(r: httpx.Response) -> tuple[int, str]:
    return r.status_code, r.json().get("code", "")


def recipient(scope: str = "73.71") -> Grant:
    return Grant(role=Role.RECIPIENT, scope=scope)


def scan(**extra: Any) -> dict[str, Any]:
    return {"scan_id": "s-1", "label": LABEL, **extra}


def test_an_offices_official_acts_for_its_laptops_and_another_office_is_refused() -> None:
    doors = [
        (f"/api/v1/laptops/{ASSET}/holder", {"request_id": "a-1", "holder": HOLDER, "assigned_by": OFFICIAL}),
        ("/api/v1/scans/holder-return", scan()),
        ("/api/v1/scans/repair-out", scan(vendor="CV Servis", reason="layar mati")),
        ("/api/v1/scans/repair-back", scan()),
        ("/api/v1/scans/recovery", scan()),
        (f"/api/v1/laptops/{ASSET}/loss", {"request_id": "l-1", "kind": "lost", "circumstances": "hilang"}),
        (f"/api/v1/laptops/{ASSET}/write-off", {"request_id": "w-1", "reason": "obsolete", "proposer": OFFICIAL}),
        ("/api/v1/scans/attestation", scan()),
    ]

    async def go() -> None:
        async with device(recipient("73.72")) as elsewhere, device(recipient("73")) as province:
            for url, body in doors:
                assert code(await elsewhere.post(url, json=body)) == (403, "not_your_office"), url
                mine = await province.post(url, json=body)  # a province's grant reaches its offices
                assert code(mine) == (422, "invalid_command"), (url, mine.text)  # the fake service's refusal

    asyncio.run(go())


def test_a_device_names_the_official_who_hands_out_or_proposes() -> None:
    async def go() -> None:
        async with device(recipient()) as tablet:
            r = await tablet.post(f"/api/v1/laptops/{ASSET}/holder", json={"request_id": "a-1", "holder": HOLDER})
            assert code(r) == (422, "official_required")
            r = await tablet.post(f"/api/v1/laptops/{ASSET}/write-off", json={"request_id": "w-1", "reason": "lost"})
            assert code(r) == (422, "official_required")
            await tablet.post(
                f"/api/v1/laptops/{ASSET}/holder", json={"request_id": "a-2", "holder": HOLDER, "assigned_by": OFFICIAL}
            )
            assert sent(tablet).data["assigned_by"] == OFFICIAL and sent(tablet).data["holder"] == HOLDER

    asyncio.run(go())


def as_person(
    grants: list[dict[str, str]], test: Callable[[httpx.AsyncClient, str], Awaitable[None]], **kw: Any
) -> None:
    """``test`` gets a client signed in as a person (NIP OFFICIAL's) with ``grants``, and its CSRF token."""

    async def go() -> None:
        views = AtOffice(kw.get("office", "73.71"))
        async with client(
            rejecting("invalid_command"), grants=(Grant(role=Role.ADMIN),), reads=views, consignments=views
        ) as admin:
            made = await admin.post(
                "/api/v1/accounts",
                json={**{k: OFFICIAL[k] for k in ("name", "nip", "jabatan")}, "grants": grants, "password": PASSWORD},
            )
            assert made.status_code == 201, made.text
            async with httpx.AsyncClient(transport=admin._transport, base_url="http://gateway.test") as person:
                r = await person.post("/api/v1/session", json={"account": OFFICIAL["nip"], "password": PASSWORD})
                assert r.status_code == 200, r.text
                person.gateway = admin.gateway  # type: ignore[attr-defined]
                person.headers["X-CSRF-Token"] = r.json()["csrf_token"]
                await test(person, r.json()["csrf_token"])

    asyncio.run(go())


def test_the_holder_confirms_in_person_as_themselves() -> None:
    async def go() -> None:
        async with device(Grant(role=Role.HOLDER, scope="73.71")) as tablet:
            assert code(await tablet.post("/api/v1/scans/assignment", json=scan())) == (403, "person_required")

    asyncio.run(go())

    async def holder(person: httpx.AsyncClient, csrf: str) -> None:
        r = await person.post("/api/v1/scans/assignment", json=scan())
        assert code(r) == (422, "invalid_command"), r.text
        assert sent(person).data["holder_nip"] == OFFICIAL["nip"]
        r = await person.post("/api/v1/scans/attestation", json=scan(attested_by=APPROVER))
        assert sent(person).data["attested_by"]["nip"] == OFFICIAL["nip"], "a person attests as themselves"

    as_person([{"role": "holder", "scope": "73.71"}], holder)


def test_a_write_off_is_decided_by_an_operator_in_person() -> None:
    async def go() -> None:
        async with device(Grant(role=Role.OPERATOR)) as script:
            r = await script.post(f"/api/v1/laptops/{ASSET}/write-off/approval", json={"request_id": "ap-1"})
            assert code(r) == (403, "person_required")
            r = await script.post(f"/api/v1/laptops/{ASSET}/write-off/decline", json={"request_id": "d", "reason": "x"})
            assert code(r) == (403, "person_required")

    asyncio.run(go())

    async def operator(person: httpx.AsyncClient, csrf: str) -> None:
        r = await person.post(f"/api/v1/laptops/{ASSET}/write-off/approval", json={"request_id": "ap-1"})
        assert code(r) == (422, "invalid_command"), r.text
        assert sent(person).data["approver"]["nip"] == OFFICIAL["nip"]
        r = await person.post(
            f"/api/v1/laptops/{ASSET}/write-off", json={"request_id": "w-1", "reason": "obsolete", "proposer": APPROVER}
        )
        assert code(r) == (403, "not_yourself")

    as_person([{"role": "operator", "scope": "*"}], operator)


def test_a_laptop_at_no_office_is_proposed_for_write_off_by_the_centre_only() -> None:
    async def go() -> None:
        body = {"request_id": "w-1", "reason": "obsolete", "proposer": OFFICIAL}
        async with device(recipient(), office=None) as office, device(Grant(role=Role.OPERATOR), office=None) as centre:
            assert code(await office.post(f"/api/v1/laptops/{ASSET}/write-off", json=body)) == (403, "not_your_office")
            assert code(await centre.post(f"/api/v1/laptops/{ASSET}/write-off", json=body)) == (422, "invalid_command")

    asyncio.run(go())


def test_a_transfer_is_planned_scanned_and_closed_by_the_giving_office() -> None:
    plan = {
        "consignment_id": "MUT-2",
        "from_office": "73.71",
        "office_code": "73.72",
        "officials": [OFFICIAL],
        "legal_basis": {"kind": "transfer_decree", "number": "KEP-1", "date": "2026-11-01"},
        "expected": [ASSET],
    }

    async def go() -> None:
        async with device(recipient("73.72")) as receiver, device(recipient()) as giver:
            assert code(await receiver.post("/api/v1/transfers", json=plan)) == (403, "not_your_office")
            assert code(await receiver.post("/api/v1/transfers/MUT-1/scans", json=scan())) == (403, "not_your_office")
            assert code(await giver.post("/api/v1/transfers", json=plan)) == (422, "invalid_command")
            assert sent(giver).data["from_office"] == "73.71" and sent(giver).subject == "MUT-2"
            await giver.post("/api/v1/transfers/MUT-1/scans", json=scan())
            assert sent(giver).data["from_office"] == "73.71" and sent(giver).subject == "MUT-1"
            await giver.post("/api/v1/transfers/MUT-1/close", json={"dispatcher": OFFICIAL})
            assert sent(giver).data == {"dispatcher": OFFICIAL, "from_office": "73.71"}
            assert code(await giver.post("/api/v1/transfers/KSB-1/scans", json=scan())) == (409, "wrong_sender")
            unknown = await giver.post("/api/v1/transfers/NONE-1/close", json={"dispatcher": OFFICIAL})
            assert code(unknown) == (404, "unknown_consignment")
        async with device(Grant(role=Role.WAREHOUSE)) as warehouse:
            await warehouse.post("/api/v1/consignments/MUT-1/scans", json=scan())
            assert sent(warehouse).data.get("from_office") is None, "the warehouse's scan says it is made there"

    asyncio.run(go())


def test_a_warehouse_grant_scans_returns_into_its_own_warehouse() -> None:
    async def go() -> None:
        async with device(Grant(role=Role.WAREHOUSE, scope="G-JKT1")) as jakarta:
            r = await jakarta.post("/api/v1/scans/warehouse-return", json=scan())
            assert code(r) == (403, "not_your_warehouse")
            r = await jakarta.post("/api/v1/scans/warehouse-return", json=scan(warehouse="G-SBY2"))
            assert code(r) == (403, "not_your_warehouse")
            r = await jakarta.post("/api/v1/scans/warehouse-return", json=scan(warehouse="G-JKT1"))
            assert code(r) == (422, "invalid_command")

    asyncio.run(go())


def test_an_offices_staff_list_is_its_own_officials_or_the_centres_to_record() -> None:
    async def go() -> None:
        body = {"members": [HOLDER]}
        async with device(recipient("73.72")) as elsewhere, device(recipient()) as mine:
            assert code(await elsewhere.post("/api/v1/offices/73.71/roster", json=body)) == (403, "not_your_office")
            assert code(await mine.post("/api/v1/offices/73.71/roster", json=body)) == (422, "invalid_command")
            assert sent(mine).subject == "office:73.71" and sent(mine).data["members"] == [HOLDER]

    asyncio.run(go())


def test_a_documents_record_is_public_its_pdf_needs_sign_in_and_a_copy_can_be_checked() -> None:
    async def go() -> None:
        views = AtOffice()
        async with client(rejecting("invalid_command"), grants=None, consignments=views) as anyone:
            record = await anyone.get(f"/api/v1/documents/{ASSET}-assignment-1")
            assert record.status_code == 200 and record.json()["number"] == "001/BA-PEMEGANG/X"
            assert "pdf" not in record.json() and record.json()["pdf_url"].endswith("/pdf")
            assert (await anyone.get(f"/api/v1/documents/{ASSET}-assignment-1/pdf")).status_code == 401
            same = await anyone.post(f"/api/v1/documents/{ASSET}-assignment-1/verify", content=b"%PDF the one")
            assert same.json()["matches"] is True
            other = await anyone.post(f"/api/v1/documents/{ASSET}-assignment-1/verify", content=b"%PDF another")
            assert other.json()["matches"] is False
            assert code(await anyone.get(f"/api/v1/documents/{ASSET}-write-off-9")) == (404, "unknown_document")

    asyncio.run(go())
