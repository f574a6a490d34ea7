"""Every page a person uses, scanned by axe-core (from npm, installed by the set-up) in
Debian's Chromium against the real stack: no serious or critical accessibility violation
(labels, contrast, names, landmarks, language), in Indonesian at a phone's 360 px and in
English at desktop width. A screenshot of each goes to .serah/screenshots/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser

from deploy.local.stack import Stack
from tests.conftest import eventually, signed_in
from tests.e2e.test_consignment_journey import OFFICIAL
from tests.e2e.test_consignment_races import dispatched, receipt

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = ROOT / ".serah" / "screenshots"  # git-ignored: the test's artefacts


@pytest.fixture(scope="module")
def paths(stack: Stack, token: str) -> dict[str, str]:
    """One page of every kind, with something on it."""
    with httpx.Client(base_url=stack.url, timeout=30, headers=signed_in(token)) as api:
        received, code, units = dispatched(api, 3, [OFFICIAL])
        done = api.post(f"/api/v1/consignments/{received}/receipt", json=receipt(units, OFFICIAL, code))
        assert done.status_code == 200, done.text
        waiting, _, _ = dispatched(api, 2, [OFFICIAL])
        asset, moving, lost = (u["asset_id"] for u in units)
        for a in (asset, moving, lost):
            eventually(lambda a=a: api.get(f"/api/v1/laptops/{a}").json()["status"] == "received", what="received")
        eventually(lambda: api.get(f"/api/v1/audit/laptops/{asset}/timeline").status_code == 200, what="timeline")
        label = units[0]["label"]
        transfer = f"MUT-A11Y-{moving}"
        planned = api.post("/api/v1/transfers", json=transfer_plan(transfer, moving))
        assert planned.status_code == 201, planned.text
        loss = {"request_id": f"loss-{lost}", "kind": "stolen", "circumstances": "dicuri dari mobil dinas"}
        assert api.post(f"/api/v1/laptops/{lost}/loss", json=loss).status_code == 200
        eventually(lambda: api.get(f"/api/v1/laptops/{lost}").json()["status"] == "lost", what="lost")
        lost_label = units[2]["label"]
    office = "73.71"
    return {
        "home": "/",
        "sign-in": "/masuk",
        "label": label[label.upper().index("/L/") :],
        "BAST": f"/bast/{received}",
        "scanning": "/pindai",
        "arriving consignments": "/penerimaan",
        "receipt form": f"/penerimaan/{waiting}",
        "audit dashboard": "/audit",
        "anomalies": "/audit/anomali",
        "attestations": "/audit/atestasi",
        "unconfirmed consignments": "/audit/konsinyasi",
        "a laptop's history": f"/audit/laptop/{asset}",
        "an office laptop's desk": f"/kantor/laptop/{asset}",
        "an office's transfers": f"/kantor/{office}/mutasi",
        "a transfer": f"/kantor/{office}/mutasi/{transfer}",
        "an office's staff list": f"/kantor/{office}/pegawai",
        "a lost laptop's label": lost_label[lost_label.upper().index("/L/") :],
    }


def transfer_plan(transfer: str, asset: str) -> dict[str, Any]:
    """A transfer of ``asset`` from office 73.71 to 73.72."""
    return {
        "consignment_id": transfer,
        "from_office": "73.71",
        "office_code": "73.72",
        "officials": [OFFICIAL],
        "legal_basis": {"kind": "transfer_decree", "number": "KEP-MUT-1/2027", "date": "2027-01-10"},
        "expected": [asset],
    }


def violations(
    browser: Browser, stack: Stack, token: str, kind: str, path: str, lang: str, width: int
) -> list[dict[str, Any]]:
    """axe's serious and critical findings on the page; a screenshot of it on the way."""
    # axe is injected by the test, so this context ignores the pages' script policy (the
    # pages themselves are checked against it in test_edge_protection.py).
    context = browser.new_context(
        base_url=stack.url,
        bypass_csp=True,
        extra_http_headers=signed_in(token),
        viewport={"width": width, "height": 800},
    )
    page = context.new_page()
    page.goto(f"{path}{'&' if '?' in path else '?'}lang={lang}")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(
        path=str(SHOTS / f"{kind.replace(' ', '-').replace(chr(39), '')}-{width}-{lang}.png"), full_page=True
    )
    page.add_script_tag(path=str(AXE))
    found = page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ['violations']})).violations
            .filter(v => v.impact === 'serious' || v.impact === 'critical')
            .map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target.join(' '))}))"""
    )
    context.close()
    return found  # type: ignore[no-any-return]


# Indonesian on a phone, English on a desk: both languages, both widths.
@pytest.mark.parametrize(("lang", "width"), [("id", 360), ("en", 1280)])
def test_no_page_has_a_serious_or_critical_accessibility_violation(
    browser: Browser, stack: Stack, token: str, paths: dict[str, str], lang: str, width: int
) -> None:
    assert AXE.exists(), "axe-core is installed by the set-up (web/package.json): run make setup"
    found = {
        kind: v for kind, path in paths.items() if (v := violations(browser, stack, token, kind, path, lang, width))
    }
    assert found == {}, "\n".join(
        f"{k}: {v['id']} ({v['impact']}) {v['nodes'][:3]}" for k, vs in found.items() for v in vs
    )
