"""Registration at scale through the real stack: ``serah import`` → bulk API →
Kafka → allocation → audit views. Re-imports, and an import killed mid-run and run
again, end in the same state as one clean run."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx

from deploy.local.stack import Stack
from events import labels
from services.cli import importer
from tests.conftest import eventually
from tests.settle import settled

HEADER = (
    "serial;brand;model;cpu;ram_gb;storage_gb;warranty_end;kode_barang;nup;acquisition_year;acquisition_value;condition"
)


def vendor_file(path: Path, serials: list[str], bad: list[str] = ()) -> Path:  # type: ignore[assignment]
    lines = [HEADER]
    lines += [
        f"{s};Lenovo;ThinkPad E14;i5-1335U;16;512;2029-12-31;3100102001;{i + 1};2025;14.500.000;B"
        for i, s in enumerate(serials)
    ]
    lines += list(bad)
    path.write_bytes(("\ufeff" + "\r\n".join(lines) + "\r\n").encode())
    return path


def registered_events(api: httpx.Client, asset: str) -> int:
    r = api.get(f"/api/v1/laptops/{asset}/history")
    return sum(e["type"] == "id.serah.laptop.registered.v1" for e in r.json()["events"]) if r.status_code == 200 else 0


def test_an_import_registers_good_rows_rejects_bad_ones_and_a_second_run_registers_nothing(
    api: httpx.Client, stack: Stack, tmp_path: Path, mongo: Any
) -> None:
    tag = uuid.uuid4().hex[:6].upper()
    serials = [f"IMP{tag}{i:03d}" for i in range(40)]
    bad = [
        f"IMP{tag}BAD1;Lenovo;X;i5;lots;512;;;;;;B",
        f"{serials[0]};Lenovo;dup;i5;8;256;;;;;;B",
        '=HYPERLINK("http://x");Lenovo;X;i5;8;256;;;;;;B',
    ]
    csv_path = vendor_file(tmp_path / "laptops.csv", serials, bad)
    rejects = tmp_path / "rejects.csv"

    first = importer.run_import(csv_path, stack.url, rejects, chunk_rows=16, progress=False, batch=f"B-{tag}")
    assert (first.registered, first.already_present, first.rejected, first.pending) == (40, 0, 3, 0)
    text = rejects.read_text(encoding="utf-8-sig")
    assert text.startswith("line,code,reason,serial")
    assert "invalid_value" in text and "duplicate_serial" in text and "'=HYPERLINK" in text
    assert [r.line for r in first.rejects] == [42, 43, 44]

    again = importer.run_import(csv_path, stack.url, rejects, chunk_rows=7, progress=False)
    assert (again.registered, again.already_present, again.rejected) == (0, 40, 3)

    assets = [labels.asset_id_for_serial(s) for s in serials]
    eventually(
        lambda: mongo.laptop_views.count_documents({"_id": {"$in": assets}, "status": "registered"}) == 40,
        what="40 laptop views",
    )
    assert {registered_events(api, a) for a in assets[:5]} == {1}
    batch = eventually(
        lambda: (b := api.get("/api/v1/labels", params={"import_batch": f"B-{tag}"}).json()) and len(b) == 40 and b,
        what="the batch's labels",
    )
    assert sorted(x["asset_id"] for x in batch) == sorted(assets)
    view = api.get(f"/api/v1/laptops/{assets[3]}").json()
    assert (view["brand"], view["model"], view["status"]) == ("Lenovo", "ThinkPad E14", "registered")


def test_an_import_killed_mid_run_and_run_again_registers_every_row_exactly_once(
    api: httpx.Client, stack: Stack, tmp_path: Path, mongo: Any
) -> None:
    tag = uuid.uuid4().hex[:6].upper()
    serials = [f"INT{tag}{i:03d}" for i in range(300)]
    full = vendor_file(tmp_path / "full.csv", serials)
    assets = [labels.asset_id_for_serial(s) for s in serials]

    # Small chunks one at a time, in file order, so the run is still going when it is killed.
    first = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from pathlib import Path; from services.cli import importer; "
            "importer.run_import(Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3]), "
            "chunk_rows=5, parallel=1, progress=False)",
            str(full),
            stack.url,
            str(tmp_path / "r1.csv"),
        ],
        start_new_session=True,
    )
    try:
        decided = lambda i: mongo.allocation_laptops.find_one({"_id": assets[i]}) is not None  # noqa: E731
        eventually(lambda: decided(20) or first.poll() is not None, what="20 rows registered", timeout_s=120)
        assert first.poll() is None, "the import finished before it could be killed: give it more rows"
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(30)
    assert first.returncode == -signal.SIGKILL
    settled(stack)  # whatever it had sent is decided
    at_kill = mongo.allocation_laptops.count_documents({"_id": {"$in": assets}})
    assert 20 <= at_kill < len(serials), at_kill

    # The operator runs the whole file again, with the command line.
    out = subprocess.run(
        [sys.executable, "-c", "from services.cli.main import main; main()", "import", str(full), "--url", stack.url],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr + out.stdout
    counts = re.search(r"registered (\d+), already present (\d+), rejected 0, pending 0", out.stdout)
    assert counts is not None, out.stdout
    assert (int(counts[1]), int(counts[2])) == (len(serials) - at_kill, at_kill), out.stdout
    assert "import batch: full" in out.stdout

    settled(stack)
    assert mongo.allocation_laptops.count_documents({"_id": {"$in": assets}}) == len(serials)
    registered = list(mongo.event_log.find({"asset_id": {"$in": assets}, "type": "id.serah.laptop.registered.v1"}))
    assert sorted(e["asset_id"] for e in registered) == sorted(assets)  # each exactly once
    assert mongo.laptop_views.count_documents({"_id": {"$in": assets}}) == len(serials)


def test_a_file_with_the_wrong_delimiter_is_refused_with_a_clear_message(stack: Stack, tmp_path: Path) -> None:
    path = tmp_path / "tabs.csv"
    path.write_text(HEADER.replace(";", "\t") + "\nA\tB\tC\tD\t8\t256\t\t\t\t\t\tB\n")
    out = subprocess.run(
        [sys.executable, "-c", "from services.cli.main import main; main()", "import", str(path), "--url", stack.url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 1 and "missing column(s)" in out.stderr and "commas or semicolons" in out.stderr


def test_the_bulk_endpoint_judges_each_row_and_refuses_hostile_requests(api: httpx.Client) -> None:
    serial = "BLK" + uuid.uuid4().hex[:8].upper()
    good = {"serial": serial, "brand": "HP", "model": "240 G9", "specs": {"cpu": "i3", "ram_gb": 8, "storage_gb": 256}}
    r = api.post("/api/v1/laptops/bulk", json={"laptops": [good, {"serial": "x"}, good, {**good, "serial": "$bad"}]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert [x["result"] for x in body["results"]] == ["registered", "rejected", "rejected", "rejected"]
    assert [x["code"] for x in body["results"]][1:] == ["invalid_row", "duplicate_in_request", "invalid_row"]
    assert (body["registered"], body["rejected"]) == (1, 3)
    again = api.post("/api/v1/laptops/bulk", json={"laptops": [good]}).json()
    assert again["results"][0]["result"] == "already_present"

    for hostile, status in (
        ({"laptops": []}, 422),
        ({"laptops": [good] * 501}, 422),
        ({"laptops": "x"}, 422),
        ({"laptops": [1]}, 422),
        ({"laptops": [good], "extra": 1}, 422),
    ):
        r = api.post("/api/v1/laptops/bulk", json=hostile)
        assert r.status_code in (status, 413), (hostile if len(str(hostile)) < 200 else "big", r.text[:200])
        assert r.headers["content-type"].startswith("application/problem+json") and r.json()["code"]
    r = api.post(
        "/api/v1/laptops/bulk",
        content=b'{"laptops": [' + b'{"serial": "A"},' * 10_000 + b"{}]}",
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 413 and r.json()["code"]
