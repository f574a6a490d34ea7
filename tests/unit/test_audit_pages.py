"""The auditor's pages, in-process: every anomaly rule the audit raises has a name on
the page, and the pages' refusals are pages."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

from services.audit import consignment
from services.gateway.auth.model import Grant, Role
from services.gateway.web.audit import RULES
from tests.gateway_fakes import EmptyReads, client, rejecting

AUDIT = Path(__file__).resolve().parents[2] / "services" / "audit"


def test_every_rule_the_audit_raises_has_a_name_in_both_languages() -> None:
    raised = {
        code
        for source in AUDIT.rglob("*.py")
        for code in re.findall(r'Anomaly\(\s*"([a-z_]+)"', source.read_text(encoding="utf-8"))
    }
    assert raised and raised <= set(RULES), raised - set(RULES)
    assert all(id_ and en and id_ != en for id_, en in RULES.values())


def test_an_auditor_page_with_a_bad_filter_is_refused_and_an_empty_store_reads_as_nothing_yet() -> None:
    async def go() -> None:
        async with client(rejecting("invalid_command"), grants=(Grant(role=Role.AUDITOR),)) as desk:
            empty = await desk.get("/audit")
            assert empty.status_code == 200 and "Belum ada laptop." in empty.text
            assert 'data-total="received">0<' in empty.text
            bad = await desk.get("/audit/anomali", params={"province": "7"})
            assert bad.status_code == 422
            blank = await desk.get("/audit/anomali", params={"rule": "", "province": "", "office": ""})
            assert blank.status_code == 200 and 'id="anomalies"' in blank.text  # a form's empty fields
            unknown = await desk.get("/audit/laptop/SRHPPSKGESNAC")
            assert unknown.status_code == 404 and 'data-refusal="unknown_laptop"' in unknown.text
            found = await desk.get("/audit/laptop", params={"asset_id": " srhppskgesnac "})
            assert found.status_code == 303 and found.headers["location"] == "/audit/laptop/SRHPPSKGESNAC"

    asyncio.run(go())


def test_every_event_of_the_contract_has_a_name_on_a_laptops_page() -> None:
    from events.catalog import EVENTS
    from services.gateway.web.audit import EVENTS as NAMED

    assert {cls.TYPE for cls in EVENTS} <= set(NAMED), {cls.TYPE for cls in EVENTS} - set(NAMED)


def test_the_receipt_pages_answer_a_device_of_the_office_and_refuse_an_unknown_consignment() -> None:
    async def go() -> None:
        async with client(rejecting("invalid_command"), grants=(Grant(role=Role.RECIPIENT, scope="73.71"),)) as tablet:
            listed = await tablet.get("/penerimaan")
            assert listed.status_code == 200 and "Tidak ada konsinyasi" in listed.text
            unknown = await tablet.get("/penerimaan/KSB-73.71-001")
            assert unknown.status_code == 404 and 'data-refusal="unknown_consignment"' in unknown.text
            posted = await tablet.post("/penerimaan/KSB-73.71-001", data={"receipt_code": "x"})
            assert posted.status_code == 404

    asyncio.run(go())


class OneConsignment(EmptyReads):
    """The audit's summary of one dispatched consignment of two laptops to 73.71."""

    SUMMARY = {
        **consignment.empty(),  # every field the audit's fold writes, so the fake cannot lack one
        "status": "dispatched",
        "office_code": "73.71",
        "office_name": "Kota Makassar",
        "in_transit": ["SRHPPSKGESNAC", "SRHPPSKGESNAD"],
        "received": [],
        "plan": {"officials": [{"name": "Andi", "nip": "198001012005011001", "jabatan": "Kepala"}]},
    }

    async def summary(self, consignment_id: str) -> dict[str, Any] | None:
        return self.SUMMARY if consignment_id == "KSB-73.71-001" else None

    async def unconfirmed(self) -> list[dict[str, Any]]:
        return [{"consignment_id": "KSB-73.71-001", "dispatched_at": "2026-11-20T08:00:00+07:00", **self.SUMMARY}]

    async def plan(self, consignment_id: str) -> dict[str, Any] | None:
        return dict(self.SUMMARY["plan"]) if consignment_id == "KSB-73.71-001" else None  # type: ignore[call-overload]


def test_the_receipt_form_sends_the_api_what_a_program_would_and_keeps_what_was_entered_on_a_refusal() -> None:
    async def go() -> None:
        api = client(
            rejecting("receipt_code_invalid"),
            grants=(Grant(role=Role.RECIPIENT, scope="73.71"),),
            consignments=OneConsignment(),
        )
        async with api as tablet:
            form = await tablet.get("/penerimaan/KSB-73.71-001")
            assert form.status_code == 200 and form.text.count('name="asset"') == 2
            rid = re.search(r'name="receipt_id" value="([^"]+)"', form.text)
            assert rid
            sent = {
                "receipt_id": rid[1],
                "asset": ["SRHPPSKGESNAC", "SRHPPSKGESNAD"],
                "condition-SRHPPSKGESNAC": "RB",
                "note-SRHPPSKGESNAC": "Layar pecah",
                "missing-SRHPPSKGESNAD": "1",
                "official": "198001012005011001",
                "receipt_code": "AAAA-BBBB-CCCC-DDDD",
            }
            refused = await tablet.post("/penerimaan/KSB-73.71-001", data=sent)
            assert refused.status_code == 403 and 'data-refusal="receipt_code_invalid"' in refused.text
            assert '<option value="RB" selected>' in refused.text and 'value="Layar pecah"' in refused.text
            assert 'name="missing-SRHPPSKGESNAD" value="1" checked' in refused.text
            [command] = api.gateway.bus.sent  # type: ignore[attr-defined]
            assert command.id and command.actor.startswith("device:") and command.subject == "KSB-73.71-001"
            assert command.data["lines"] == [{"asset_id": "SRHPPSKGESNAC", "condition": "RB", "note": "Layar pecah"}]
            assert command.data["missing"] == ["SRHPPSKGESNAD"]
            assert command.data["official"]["nip"] == "198001012005011001"
            nobody = await tablet.post("/penerimaan/KSB-73.71-001", data={**sent, "official": "1" * 18})
            assert nobody.status_code == 422 and "Choose the official" in nobody.text
            assert 'data-refusal="official_required"' in nobody.text
            long_note = {**sent, "note-SRHPPSKGESNAC": "x" * 1001}
            too_long = await tablet.post("/penerimaan/KSB-73.71-001", data=long_note)
            assert too_long.status_code == 422 and "note: String should have at most 1000 characters" in too_long.text
            assert len(api.gateway.bus.sent) == 1  # neither refusal sent anything  # type: ignore[attr-defined]

    asyncio.run(go())


def test_the_lists_of_consignments_on_their_way_show_one() -> None:
    async def go() -> None:
        grants = (Grant(role=Role.AUDITOR), Grant(role=Role.RECIPIENT, scope="73"), Grant(role=Role.WAREHOUSE))
        async with client(rejecting("invalid_command"), grants=grants, consignments=OneConsignment()) as desk:
            for path in ("/audit/konsinyasi", "/penerimaan", "/gudang"):
                page = await desk.get(path)
                assert page.status_code == 200 and "KSB-73.71-001" in page.text, path
                assert ">2<" in page.text, path  # two laptops on their way

    asyncio.run(go())


class Anomalies(EmptyReads):
    """Two anomalies as the audit records them: one names its office, one does not (the
    event leaves out what it does not know)."""

    async def anomalies(self, rule: Any, office: Any, province: Any, limit: int) -> list[dict[str, Any]]:
        def found(n: int, **data: Any) -> dict[str, Any]:
            event = {"time": "2026-11-30T20:00:00Z", "data": {"rule": "received_twice", "detail": "twice", **data}}
            return {"asset_id": f"SRHPPSKGESNA{n}", "_id": f"a-{n}", "event": event}

        return [found(1, office_code="73.71"), found(2)]


def test_the_anomaly_list_shows_anomalies_with_and_without_an_office() -> None:
    async def go() -> None:
        async with client(rejecting("x"), grants=(Grant(role=Role.AUDITOR),), audit=Anomalies()) as desk:
            page = await desk.get("/audit/anomali")
            assert page.status_code == 200, page.text[:500]
            assert page.text.count('data-rule="received_twice"') == 2 and "Diterima dua kali" in page.text
            assert "1 Desember 2026" in page.text  # 20:00 UTC is already the next day in WIB

    asyncio.run(go())


def test_a_shared_warehouse_device_that_names_no_official_is_told_to_and_nothing_leaves() -> None:
    async def go() -> None:
        api = client(rejecting("invalid_command"), grants=(Grant(role=Role.WAREHOUSE),), consignments=OneConsignment())
        async with api as device:
            page = await device.post("/gudang/KSB-73.71-001/kirim", data={"name": "Budi", "nip": "123"})
            assert page.status_code == 422 and 'data-refusal="dispatcher_required"' in page.text
            assert "18-digit NIP" in page.text
            assert api.gateway.bus.sent == []  # type: ignore[attr-defined]

    asyncio.run(go())
