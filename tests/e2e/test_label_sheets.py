"""Label sheets through the real stack, checked like a printer and a phone would:
every QR on the rendered pages decodes to a genuine label of the right laptop
in the right position."""

from __future__ import annotations

import io
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from pypdf import PdfReader

from deploy.local.stack import Stack
from events import labels
from tests.conftest import eventually
from tests.sheets import decode_sheet


def allocated_laptops(api: httpx.Client, n: int) -> tuple[str, list[dict[str, Any]]]:
    """``n`` laptops with BMN fields in one consignment to Kabupaten Konawe Selatan."""
    tag = uuid.uuid4().hex[:6].upper()
    cons = f"KRM-{tag}"
    rows = [
        {
            "serial": f"SHT{tag}{i:02d}",
            "brand": "Asus",
            "model": "ExpertBook B1",
            "specs": {"cpu": "i5", "ram_gb": 8, "storage_gb": 512},
            "bmn": {"kode_barang": "3100102001", "nup": 100 + i, "acquisition_year": 2025},
        }
        for i in range(n)
    ]
    r = api.post("/api/v1/laptops/bulk", json={"laptops": rows})
    assert r.status_code == 200 and r.json()["registered"] == n, r.text
    assets = [x["asset_id"] for x in r.json()["results"]]
    for a in assets:
        eventually(lambda a=a: api.get(f"/api/v1/laptops/{a}").status_code == 200, what="view")
        assert (
            api.post(
                f"/api/v1/laptops/{a}/allocation", json={"office_code": "74.05", "consignment_id": cons}
            ).status_code
            == 200
        )
    eventually(
        lambda: (
            len(api.get("/api/v1/labels", params={"consignment_id": cons}).json()) == n
            and all(x["office_name"] for x in api.get("/api/v1/labels", params={"consignment_id": cons}).json())
        ),
        what=f"{n} allocated labels",
    )
    return cons, [dict(r, asset_id=a) for r, a in zip(rows, assets, strict=True)]


@pytest.fixture(scope="module")
def consignment(api: httpx.Client) -> tuple[str, list[dict[str, Any]]]:
    """26 laptops in one consignment, shared by the module's tests: none of them changes it."""
    return allocated_laptops(api, 26)


def keys(api: httpx.Client) -> dict[str, Any]:
    return api.get("/api/v1/label-keys.json").json()  # type: ignore[no-any-return]


@pytest.mark.parametrize("layout", ["a4-3x8", "a4-2x7", "thermal-50x30"])
def test_every_qr_on_a_printed_sheet_is_the_genuine_label_of_the_right_laptop_in_its_place(
    api: httpx.Client, consignment: tuple[str, list[dict[str, Any]]], layout: str
) -> None:
    cons, laptops = consignment
    wanted = sorted(laptops, key=lambda x: x["asset_id"])  # a consignment prints in asset-id order
    r = api.get("/api/v1/labels.pdf", params={"consignment_id": cons, "layout": layout})
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf", r.text[:300]
    found = decode_sheet(r.content, layout, len(wanted))
    key_file = keys(api)
    for slot, (texts, laptop) in enumerate(zip(found, wanted, strict=True)):
        assert len(texts) == 1, (slot, texts)
        claim = labels.verify_offline(texts[0], key_file)
        assert claim.asset_id == laptop["asset_id"], slot

    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(r.content)).pages)
    for laptop in wanted:
        assert laptop["asset_id"] in text and f"SN {laptop['serial']}" in text
        assert f"3100102001 NUP {laptop['bmn']['nup']}" in text
    assert text.count("Barang Milik Negara") == len(wanted)
    assert "Kabupaten Konawe" in text


def test_labels_print_in_the_order_the_asset_ids_are_given_and_a_reissued_label_prints_its_new_generation(
    api: httpx.Client,
) -> None:
    _, laptops = allocated_laptops(api, 3)  # its own: a re-issue changes a laptop's label for good
    chosen = [laptops[2]["asset_id"], laptops[0]["asset_id"], laptops[1]["asset_id"]]
    assert api.post(f"/api/v1/laptops/{chosen[1]}/label/reissue", json={"reason": "damaged"}).status_code == 200
    eventually(
        lambda: api.get(f"/api/v1/laptops/{chosen[1]}").json()["label_url"].split("/")[-2].startswith("2"),
        what="generation 2",
    )
    r = api.get("/api/v1/labels.pdf", params={"asset_id": chosen, "layout": "a4-2x7"})
    found = decode_sheet(r.content, "a4-2x7", 3)
    claims = [labels.verify_offline(t[0], keys(api)) for t in found]
    assert [c.asset_id for c in claims] == chosen
    assert [c.generation for c in claims] == [1, 2, 1]


def test_the_command_line_prints_an_office_sheet_with_a_progress_bar(
    api: httpx.Client, stack: Stack, consignment: tuple[str, list[dict[str, Any]]], tmp_path: Path
) -> None:
    _, laptops = consignment
    out = tmp_path / "office.pdf"
    ids = tmp_path / "ids.txt"
    ids.write_text("\n".join(x["asset_id"] for x in laptops[:4]) + "\n")
    run = subprocess.run(
        [
            sys.executable,
            "-c",
            "from services.cli.main import main; main()",
            "labels",
            "--asset-file",
            str(ids),
            "--layout",
            "thermal-50x30",
            "-o",
            str(out),
            "--url",
            stack.url,
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    assert "wrote 4 labels on 4 page(s)" in run.stdout
    found = decode_sheet(out.read_bytes(), "thermal-50x30", 4)
    assert [labels.parse(t[0]).asset_id for t in found] == [x["asset_id"] for x in laptops[:4]]


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({}, 422, "no_selection"),
        ({"asset_id": "nope"}, 422, "invalid_request"),
        ({"office_code": "99.99"}, 404, "no_labels"),
        ({"office_code": "x"}, 422, None),
        ({"consignment_id": "a", "layout": "a5"}, 422, None),
        ({"consignment_id": "a", "limit": 10_001}, 422, None),
    ],
)
def test_a_bad_label_selection_gets_a_clear_problem(
    api: httpx.Client, params: dict[str, Any], status: int, code: str | None
) -> None:
    r = api.get("/api/v1/labels.pdf", params=params)
    assert r.status_code == status and r.headers["content-type"].startswith("application/problem+json"), r.text
    assert r.json()["detail"] and (code is None or r.json()["code"] == code)


def test_an_office_s_and_a_consignment_s_labels_come_page_by_page_in_asset_id_order_from_the_store(
    api: httpx.Client, consignment: tuple[str, list[dict[str, Any]]]
) -> None:
    cons, laptops = consignment
    for params in ({"consignment_id": cons, "limit": 10}, {"office_code": "74.05", "limit": 10}):
        seen: list[str] = []
        r = api.get("/api/v1/labels", params=params)
        while True:
            assert r.status_code == 200, r.text
            page = [x["asset_id"] for x in r.json()]
            assert 0 < len(page) <= 10, (params, page)
            seen += page
            if "next" not in r.links:
                break
            r = api.get(r.links["next"]["url"])
        assert seen == sorted(set(seen)), params  # in order, none twice
        assert {x["asset_id"] for x in laptops} <= set(seen), params
    assert len(seen) >= 26
