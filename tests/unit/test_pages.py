"""The pages people read, rendered in-process: readable on a phone, Indonesian
first with English beside it, nothing loaded from another site, no bare codes as
messages, and the BAST record page saying what the BAST records."""

from __future__ import annotations

import asyncio
import re
from html.parser import HTMLParser
from typing import Any

import httpx
import pytest

from events.catalog import RejectionReason
from tests.builders import label_for, new_asset
from tests.gateway_fakes import EmptyReads, client, rejecting

OFFICIAL = {"name": "Andi Pratama", "nip": "198001012005011001", "jabatan": "Kepala Badan Kesbangpol"}
DISPATCHER = {"name": "Budi Santoso", "nip": "197501012000031001", "jabatan": "Kepala Gudang"}


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.viewport = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.urls += [v for k, v in attrs if k in ("src", "href", "action") and v]
        if tag == "meta" and a.get("name") == "viewport" and "width=device-width" in (a.get("content") or ""):
            self.viewport = True


def parsed(html: str) -> Links:
    p = Links()
    p.feed(html)
    return p


class Consignment(EmptyReads):
    """A consignment received in full, with its BAST."""

    def __init__(self, asset: str) -> None:
        self.asset = asset

    async def bast(self, cid: str, seq: int) -> dict[str, Any] | None:
        return {"number": "BAST/001/KSB/2026", "recorded_sha256": "ab" * 32} if seq == 1 else None

    async def receipt(self, cid: str, seq: int) -> dict[str, Any]:
        return {
            "office_code": "73.71",
            "official": OFFICIAL,
            "seq": 1,
            "lines": [{"asset_id": self.asset, "condition": "RR", "note": "layar tergores"}],
            "missing": [],
            "confirmed_at": "2026-11-01T20:30:00Z",  # 2 November in WIB
        }

    async def summary(self, cid: str) -> dict[str, Any]:
        return {"status": "received", "dispatcher": DISPATCHER}

    async def plan(self, cid: str) -> dict[str, Any]:
        return {
            "office_code": "73.71",
            "office_name": "Kesbangpol Kota Makassar",
            "officials": [OFFICIAL],
            "legal_basis": {"kind": "allocation_decree", "number": "KEP-734/SJ/2026", "date": "2026-10-01"},
        }


class Laptops(EmptyReads):
    async def label_views(self, query: dict[str, Any], limit: int) -> list[dict[str, Any]]:
        return [{"_id": a, "label_generation": 1, "label_key_id": "K1"} for a in query["_id"]["$in"]]


def get(path: str, signed_in: bool = True, **views: Any) -> httpx.Response:
    async def run() -> httpx.Response:
        grants = {} if signed_in else {"grants": None}
        async with client(rejecting(RejectionReason.INVALID_COMMAND), **grants, **views) as api:
            return await api.get(path)

    return asyncio.run(run())


def forged_path() -> str:
    _, asset = new_asset()
    label = label_for(asset)
    head, sig = label.rsplit("/", 1)
    return head[head.index("/L/") :] + "/" + ("A" if sig[0] != "A" else "B") + sig[1:]


PAGES = {
    "home": lambda: get("/"),
    "sign-in": lambda: get("/masuk"),
    "forged label": lambda: get(forged_path()),
    "damaged label": lambda: get("/L/SRH0000000000/1K1/x"),
    "BAST": lambda: get("/bast/KSB-73.71-001", consignments=Consignment(new_asset()[1]), reads=Laptops()),
    "BAST, not signed in": lambda: get(
        "/bast/KSB-73.71-001", signed_in=False, consignments=Consignment(new_asset()[1]), reads=Laptops()
    ),
    "no BAST yet": lambda: get("/bast/KSB-73.71-002?seq=2", consignments=Consignment("SRH0000000000")),
    "API docs": lambda: get("/docs"),
    "API reference": lambda: get("/redoc"),
}


@pytest.mark.parametrize("name", PAGES)
def test_every_page_sets_a_phone_viewport_and_loads_nothing_from_another_site(name: str) -> None:
    r = PAGES[name]()
    page = parsed(r.text)
    assert page.viewport, name
    foreign = [u for u in page.urls if re.match(r"(?i)^(https?:)?//", u) and not u.startswith("http://gateway.test")]
    assert foreign == [], name


def test_the_api_reference_script_names_no_other_site() -> None:
    src = [u for u in parsed(get("/redoc").text).urls if u.endswith(".js")]
    script = get(src[0]).text
    assert re.findall(r"""(?:src|href)\s*[:=]\s*["']https?://[^"']+""", script) == []


def test_a_forged_label_is_explained_in_indonesian_first_and_its_code_is_only_a_small_note() -> None:
    r = get(forged_path())
    assert r.status_code == 400
    headline = re.search(r'<h2 id="headline">(.*?)</h2>', r.text)
    why = re.search(r'<span id="why">(.*?)</span>', r.text)
    assert headline and headline.group(1) == "PERINGATAN: label palsu"
    assert why and "bukan label resmi" in why.group(1)
    assert re.search(r'<p class="en" lang="en">Label not valid\. This label&#x27;s signature was not made', r.text)
    # the code is shown once, small, for support; never as the message
    assert r.text.count("label_forged") == 2  # the data attribute and the support note
    assert re.search(
        r'<p class="support">[^<]*<span lang="en">/ code for support</span>:\s*<code id="code">label_forged', r.text
    )


@pytest.mark.parametrize(
    "reason",
    [
        "label_forged",
        "label_unknown_key",
        "label_revoked",
        "label_malformed",
        "label_asset_mismatch",
        "unknown_laptop",
        "written_off",
    ],
)
def test_every_label_warning_has_indonesian_and_english_words_of_its_own(reason: str) -> None:
    from services.gateway.web.label import WARNINGS

    (head_id, head_en), (why_id, why_en) = WARNINGS[reason]
    for text in (head_id, head_en, why_id, why_en):
        assert text and "_" not in text
    assert head_id != head_en and why_id != why_en


def test_the_bast_page_says_what_the_bast_records_to_someone_signed_in() -> None:
    _, asset = new_asset()
    r = get("/bast/KSB-73.71-001", consignments=Consignment(asset), reads=Laptops())
    text = r.text
    assert "<b id='number'>BAST/001/KSB/2026</b>" in text
    assert "<span id='date'>2 November 2026</span>" in text
    assert "Kesbangpol Kota Makassar (73.71)" in text
    assert "data-received='1' data-missing='0'" in text
    assert "<span id='dispatcher'>Budi Santoso, Kepala Gudang (NIP 197501012000031001)</span>" in text
    assert "Andi Pratama, Kepala Badan Kesbangpol (NIP 198001012005011001)" in text
    assert "Keputusan Alokasi Nomor KEP-734/SJ/2026 tanggal 1 Oktober 2026" in text
    assert re.search(rf"<a href='/L/{asset}/1K1/[^']+'>{asset}</a>", text)
    assert "Rusak Ringan (RR)" in text and "layar tergores" in text
    assert "href='/api/v1/consignments/KSB-73.71-001/bast.pdf?seq=1'" in text
    assert "href='/api/v1/consignments/KSB-73.71-001'" in text
    assert "sign-in-for-more" not in text


def test_the_bast_page_shows_no_names_or_nips_to_someone_not_signed_in() -> None:
    _, asset = new_asset()
    r = get("/bast/KSB-73.71-001", signed_in=False, consignments=Consignment(asset), reads=Laptops())
    text = r.text
    assert r.status_code == 200
    # what anyone holding the paper may check
    assert "<b id='number'>BAST/001/KSB/2026</b>" in text
    assert "<span id='date'>2 November 2026</span>" in text
    assert "Kesbangpol Kota Makassar (73.71)" in text
    assert "data-received='1' data-missing='0'" in text
    assert f"<code id='sha'>{'ab' * 32}</code>" in text
    assert "<input type='file' name='file'" in text
    # and nothing that names a person, the legal basis or the laptops
    for name_or_nip in ("Andi Pratama", "198001012005011001", "Budi Santoso", "197501012000031001", "Kepala"):
        assert name_or_nip not in text
    assert "KEP-734" not in text and asset not in text and "bast.pdf" not in text
    assert "href='/masuk?next=/bast/KSB-73.71-001%3Fseq%3D1'" in text


class Laptop(EmptyReads):
    """A registered laptop whose record holds markup in every field a label page shows."""

    async def laptop(self, asset_id: str) -> dict[str, Any]:
        return {
            "_id": asset_id,
            "status": "allocated",
            "label_generation": 1,
            "brand": "<script>alert(1)</script>",
            "model": 'O\'Neil "X" & co',
            "office_name": "<b>Kantor</b>",
        }


def test_what_a_laptop_record_holds_is_shown_as_text_on_its_label_page() -> None:
    _, asset = new_asset()
    label = label_for(asset)
    r = get(label[label.index("/L/") :], reads=Laptop())
    assert r.status_code == 200 and 'data-verdict="genuine"' in r.text
    assert "<script>" not in r.text and "<b>Kantor" not in r.text
    assert '<dd id="model">&lt;script&gt;alert(1)&lt;/script&gt; O&#x27;Neil &quot;X&quot; &amp; co</dd>' in r.text
    assert '<dd id="office">&lt;b&gt;Kantor&lt;/b&gt;</dd>' in r.text


class AfterReceipt(EmptyReads):
    """A laptop at its office, in the state (and with the view fields) the audit's fold gives it."""

    def __init__(self, **view: Any) -> None:
        self.view = view

    async def laptop(self, asset_id: str) -> dict[str, Any]:
        from services.audit import domain

        base = {**domain.empty_view(asset_id), "status": "received", "label_generation": 1}
        return {**base, "office_code": "73.71", "office_name": "Kota Makassar", **self.view}


def test_a_lost_or_stolen_laptops_label_says_so_first_in_both_languages() -> None:
    _, asset = new_asset()
    label = label_for(asset)
    r = get(label[label.index("/L/") :], reads=AfterReceipt(status="lost", lost_at="2026-11-02T01:00:00Z"))
    assert r.status_code == 200 and 'data-verdict="genuine"' in r.text  # the label itself is genuine
    alert = re.search(r'<div class="mark warn" role="alert" id="lost" data-alert="lost">(.*?)</div>', r.text, re.S)
    assert alert, r.text
    assert "dilaporkan hilang atau dicuri" in alert[1] and "reported lost or stolen" in alert[1]
    assert r.text.index('id="lost"') < r.text.index('data-verdict="genuine"')  # before anything else
    assert 'Dilaporkan hilang atau dicuri <span class="en">/ Reported lost or stolen' in r.text
    found = get(label[label.index("/L/") :], reads=AfterReceipt(status="received"))
    assert 'id="lost"' not in found.text  # recovered: no alert


def test_a_written_off_laptops_label_is_shown_revoked_in_both_languages() -> None:
    _, asset = new_asset()
    label = label_for(asset)
    reads = AfterReceipt(status="written_off", label_revoked=True, written_off_at="2027-01-10T01:00:00Z")
    r = get(label[label.index("/L/") :], reads=reads)
    assert r.status_code == 410
    assert 'data-verdict="written_off"' in r.text and 'data-verdict="genuine"' not in r.text
    assert "dihapus dari BMN: label dicabut" in r.text and "Written off: this label is revoked" in r.text
    assert '<code id="code">written_off</code>' in r.text


def test_the_stylesheet_is_in_every_page_and_served_from_this_site_with_a_cache_header() -> None:
    css = get("/static/web/serah.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert "max-age=" in css.headers["cache-control"]
    assert css.text.strip() in get("/").text  # inlined: a page is one request on a poor link


def test_the_built_scripts_go_gzipped_to_a_browser_that_takes_gzip_and_plain_to_one_that_does_not() -> None:
    from pathlib import Path

    build = Path(__file__).parents[2] / "services" / "gateway" / "web" / "static" / "build"

    async def run() -> list[httpx.Response]:
        async with client(rejecting(RejectionReason.INVALID_COMMAND)) as api:
            packed = await api.get("/static/web/build/scan.js", headers={"Accept-Encoding": "gzip"})
            plain = await api.get("/static/web/build/scan.js", headers={"Accept-Encoding": "identity"})
            again = await api.get(
                "/static/web/build/scan.js",
                headers={"Accept-Encoding": "gzip", "If-None-Match": packed.headers["etag"]},
            )
            wasm = await api.get("/static/web/build/zxing_reader.wasm", headers={"Accept-Encoding": "gzip, br"})
            return [packed, plain, again, wasm]

    packed, plain, again, wasm = asyncio.run(run())
    script = (build / "scan.js").read_bytes()
    assert packed.headers["content-encoding"] == "gzip" and packed.headers["vary"] == "Accept-Encoding"
    assert int(packed.headers["content-length"]) == (build / "scan.js.gz").stat().st_size < len(script)
    assert packed.headers["content-type"].startswith("text/javascript")
    assert packed.content == script  # what the browser unpacks is the script itself
    assert "content-encoding" not in plain.headers and plain.content == script
    assert again.status_code == 304  # revalidated by the packed file's own ETag
    assert wasm.headers["content-type"] == "application/wasm" and wasm.headers["content-encoding"] == "gzip"


def test_every_template_and_static_file_ships_in_the_installed_package() -> None:
    import tomllib
    from pathlib import Path

    root = Path(__file__).parents[2]
    web = root / "services" / "gateway" / "web"
    globs = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    shipped = {p for g in globs["services.gateway.web"] for p in web.glob(g) if p.is_file()}
    assets = {p for p in web.rglob("*") if p.is_file() and p.suffix not in (".py", ".pyc")}
    assert assets and assets <= shipped, sorted(str(p.relative_to(web)) for p in assets - shipped)
