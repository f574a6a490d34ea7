"""An office's staff list, in-process over fakes: the API reads the list as last recorded
with who holds which laptop; the page shows it (and a laptop held by someone not on it),
replaces it with the file ``serah import-holders`` takes (a file with a bad row records
nothing and says which line and what to fix), and adds or removes one person, refusing a
change to a list other than the one the page showed."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx

from events import codec
from events.catalog import AssignLaptop, OfficeRosterRecorded, RecordOfficeRoster
from events.envelope import Envelope
from services.audit import domain
from services.gateway.auth.model import Grant, Role
from tests.builders import NOW
from tests.gateway_fakes import EmptyReads, client, rejecting

OFFICE = "73.71"
PAGE = f"/kantor/{OFFICE}/pegawai"
RINA = {"name": "Rina Wulandari", "nip": "199002022015032001", "jabatan": "Analis Kebijakan", "unit": "Politik"}
BUDI = {"name": "Budi Hartono", "nip": "198805052010011002", "jabatan": "Pranata Komputer", "unit": "Umum"}
GONE = "197001012000011001"  # holds a laptop, not on the list
HEADER = "office_code,nip,name,jabatan,unit,asset_id,condition\n"


class Office(EmptyReads):
    """Office 73.71's list as last recorded (Rina), and two laptops: Rina's and one held by GONE."""

    def __init__(self, members: list[dict[str, str]] | None = None) -> None:
        self.members = [RINA] if members is None else members

    async def history(self, asset_id: str) -> list[dict[str, Any]]:
        if asset_id != f"office:{OFFICE}":
            return []
        event = {"id": "roster-1", "type": OfficeRosterRecorded.TYPE, "time": "2026-11-02T01:00:00Z"}
        return [{"seq": 1, "event": {**event, "data": {"office_code": OFFICE, "members": self.members}}}]

    async def label_views(self, query: dict[str, Any], limit: int) -> list[dict[str, Any]]:
        assert query == {"office_code": OFFICE}
        return [
            {**domain.empty_view("SRHPPSKGESNAC"), "_id": "SRHPPSKGESNAC", "holder_nip": RINA["nip"]},
            {**domain.empty_view("SRHPPSKGESNAD"), "_id": "SRHPPSKGESNAD", "holder_nip": GONE},
            {**domain.empty_view("SRHPPSKGESNAE"), "_id": "SRHPPSKGESNAE"},
        ]


def recording(command: Envelope) -> Envelope:
    """A deciding service that records any list as sent and refuses anything else."""
    if command.type != RecordOfficeRoster.TYPE:
        return rejecting("not_at_office")(command)
    fact = OfficeRosterRecorded(**command.data)
    return codec.make(fact, subject=command.subject, source="/test", time=NOW, id=f"e-{command.id}")


def office(*grants: Grant, members: list[dict[str, str]] | None = None) -> httpx.AsyncClient:
    return client(recording, grants=grants or (Grant(role=Role.RECIPIENT, scope=OFFICE),), reads=Office(members))


def sent_lists(api: httpx.AsyncClient) -> list[list[str]]:
    bus = api.gateway.bus  # type: ignore[attr-defined]
    return [[m["nip"] for m in c.data["members"]] for c in bus.sent if c.type == RecordOfficeRoster.TYPE]


def test_the_api_reads_the_list_as_last_recorded_and_who_holds_which_laptop() -> None:
    async def go() -> None:
        async with office() as tablet:
            r = await tablet.get(f"/api/v1/offices/{OFFICE}/roster")
            assert r.status_code == 200, r.text
            assert r.json() == {
                "office_code": OFFICE,
                "members": [RINA],
                "recorded_at": "2026-11-02T01:00:00Z",
                "laptops": {RINA["nip"]: ["SRHPPSKGESNAC"], GONE: ["SRHPPSKGESNAD"]},
            }
        async with office(Grant(role=Role.RECIPIENT, scope="74.05")) as elsewhere:
            r = await elsewhere.get(f"/api/v1/offices/{OFFICE}/roster")
            assert r.status_code == 403 and r.json()["code"] == "not_your_office"
        async with client(recording, reads=EmptyReads()) as operator:
            r = await operator.get(f"/api/v1/offices/{OFFICE}/roster")
            assert r.json()["members"] == [] and r.json()["recorded_at"] is None

    asyncio.run(go())


def test_the_page_shows_the_list_with_the_laptops_held_and_a_laptop_held_by_someone_not_on_it() -> None:
    async def go() -> None:
        async with office() as tablet:
            page = await tablet.get(PAGE)
            assert page.status_code == 200, page.text
            row = re.search(rf'<tr data-nip="{RINA["nip"]}">(.*?)</tr>', page.text, re.S)
            assert row and "Analis Kebijakan" in row[1] and "Politik" in row[1]
            assert '<a href="/kantor/laptop/SRHPPSKGESNAC">' in row[1]
            unlisted = re.search(r'<div class="mark warn" id="unlisted">(.*?)</div>', page.text, re.S)
            assert unlisted and GONE in unlisted[1] and "SRHPPSKGESNAD" in unlisted[1]
            assert page.text.count('name="list_id" value="roster-1"') == 2  # the add and the remove forms

    asyncio.run(go())


def test_a_file_with_a_bad_row_records_nothing_and_says_which_line_and_what_to_fix() -> None:
    async def go() -> None:
        api = office()
        async with api as tablet:
            text = (
                HEADER
                + f"{OFFICE},{RINA['nip']},{RINA['name']},{RINA['jabatan']},{RINA['unit']},,\n"
                + f"{OFFICE},12345,Tanpa NIP,Staf,Umum,,\n"
                + f"74.05,{BUDI['nip']},{BUDI['name']},{BUDI['jabatan']},{BUDI['unit']},,\n"
            )
            r = await tablet.post(PAGE, files={"file": ("pegawai.csv", text.encode(), "text/csv")})
            assert r.status_code == 422 and 'data-refusal="rows_refused"' in r.text
            lines = re.findall(r'<tr data-line="(\d+)" data-code="([a-z_]+)">.*?<td lang="en">([^<]+)</td>', r.text)
            assert [(line, code) for line, code, _ in lines] == [("3", "invalid_value"), ("4", "other_office")]
            assert "18-digit NIP" in lines[0][2] and f"set office_code to {OFFICE}" in lines[1][2]
            assert sent_lists(api) == []
            header_only = await tablet.post(PAGE, files={"file": ("x.csv", b"nama,nip\n", "text/csv")})
            assert 'data-refusal="invalid_file"' in header_only.text and sent_lists(api) == []

    asyncio.run(go())


def test_a_good_file_replaces_the_list_and_hands_out_the_laptops_it_names() -> None:
    async def go() -> None:
        api = office()
        async with api as tablet:
            text = (
                "kode kantor;nip;nama;jabatan;unit kerja;kode aset;kondisi\n"
                + f"{OFFICE};{RINA['nip']};{RINA['name']};{RINA['jabatan']};{RINA['unit']};;\n"
                + f"{OFFICE};{BUDI['nip']};{BUDI['name']};{BUDI['jabatan']};{BUDI['unit']};SRHPPSKGESNAE;RR\n"
            )
            unnamed = await tablet.post(PAGE, files={"file": ("p.csv", text.encode(), "text/csv")})
            assert 'data-refusal="official_required"' in unnamed.text and sent_lists(api) == []
            official = {"official_name": "Andi", "official_nip": "198001012005011001", "official_jabatan": "Kepala"}
            r = await tablet.post(PAGE, data=official, files={"file": ("p.csv", text.encode(), "text/csv")})
            assert r.status_code == 200 and 'data-verdict="accepted" data-form="file"' in r.text
            assert sent_lists(api) == [[RINA["nip"], BUDI["nip"]]]
            [assign] = [c for c in api.gateway.bus.sent if c.type == AssignLaptop.TYPE]  # type: ignore[attr-defined]
            assert assign.subject == "SRHPPSKGESNAE" and assign.data["holder"]["nip"] == BUDI["nip"]
            assert assign.data["condition"] == "RR" and assign.data["assigned_by"]["nip"] == official["official_nip"]
            refused = re.search(r'<li data-line="3" data-verdict="rejected">(.*?)</li>', r.text)
            assert refused and "refused: not_at_office" in refused[1]
            assert f'<tr data-nip="{BUDI["nip"]}">' in r.text  # the list as just recorded

    asyncio.run(go())


def test_one_person_is_added_or_removed_on_the_list_the_page_showed_and_only_that_list() -> None:
    async def go() -> None:
        api = office()
        async with api as tablet:
            await tablet.post(f"{PAGE}/tambah", data={**BUDI, "list_id": "roster-1"})
            twice = await tablet.post(f"{PAGE}/tambah", data={**RINA, "list_id": "roster-1"})
            assert 'data-refusal="already_listed"' in twice.text
            await tablet.post(f"{PAGE}/hapus", data={"nip": RINA["nip"], "list_id": "roster-1"})
            assert sent_lists(api) == [[RINA["nip"], BUDI["nip"]], []]
            bad = await tablet.post(f"{PAGE}/tambah", data={**BUDI, "nip": "1", "list_id": "roster-1"})
            assert 'data-refusal="invalid_form"' in bad.text and "nip" in bad.text

    asyncio.run(go())


def test_a_change_to_a_list_that_changed_since_the_page_was_shown_is_refused(monkeypatch: Any) -> None:
    from services.gateway.web import roster

    monkeypatch.setattr(roster, "CATCH_UP_S", 0.3)

    async def go() -> None:
        api = office()
        async with api as tablet:
            stale = await tablet.post(f"{PAGE}/tambah", data={**BUDI, "list_id": "roster-0"})
            assert stale.status_code == 409 and 'data-refusal="list_changed"' in stale.text
            assert sent_lists(api) == []

    asyncio.run(go())


def test_another_office_and_the_warehouse_are_refused_the_list() -> None:
    async def go() -> None:
        async with office(Grant(role=Role.RECIPIENT, scope="74.05")) as elsewhere:
            page = await elsewhere.get(PAGE)
            assert page.status_code == 403 and 'data-refusal="not_your_office"' in page.text
            added = await elsewhere.post(f"{PAGE}/tambah", data={**BUDI, "list_id": "roster-1"})
            assert added.status_code == 403
        async with office(Grant(role=Role.WAREHOUSE)) as warehouse:
            assert 'data-refusal="not_allowed"' in (await warehouse.get(PAGE)).text

    asyncio.run(go())
