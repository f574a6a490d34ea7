"""The scanning page in a real browser (Debian Chromium through Playwright) against the
real stack, signed in as a warehouse person: a fake camera fed a video of a label the
stack issued, decoded by the bundled library (Chromium on Linux has no BarcodeDetector)
and, separately, by a native BarcodeDetector the page prefers; a consignment's running
count; and a round offline — scans kept on the device, a forged and a revoked label
flagged before any network, each scan stored exactly once with the right decision when
the network returns, even when an answer is lost on the way back."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from playwright.sync_api import Browser, BrowserContext, Page, Route, sync_playwright

from deploy.local.stack import Stack
from events.catalog import (
    AssignmentConfirmed,
    LaptopDispatched,
    LaptopReceived,
    RepairFinished,
    RepairStarted,
    UsageAttested,
)
from tests.conftest import device_token, eventually, signed_in
from tests.e2e.conftest import CHROMIUM_ARGS, register
from tests.e2e.test_consignment_journey import LEGAL, OFFICIAL, laptops
from tests.e2e.test_sign_in import PASSWORD, admin_from_the_shell

PAGE_BUDGET_BYTES = 200 * 1024
WAIT_MS = 30_000


def camera_video(png: bytes, path: Path) -> Path:
    """A Y4M video (what Chromium's fake camera plays, looping) of the label's QR code
    on a white page, as a phone held over a sticker sees it."""
    qr = Image.open(io.BytesIO(png)).convert("L")
    side = 360
    qr = qr.resize((side, side), Image.Resampling.NEAREST)
    frame = Image.new("L", (640, 480), 255)
    frame.paste(qr, ((640 - side) // 2, (480 - side) // 2))
    chroma = bytes([128]) * (320 * 240)
    with path.open("wb") as out:
        out.write(b"YUV4MPEG2 W640 H480 F10:1 Ip A1:1 C420jpeg\n")
        for _ in range(10):
            out.write(b"FRAME\n" + frame.tobytes() + chroma + chroma)
    return path


def allocated(api: httpx.Client) -> tuple[str, str]:
    """A laptop ready for a dispatch scan: (asset id, its label)."""
    asset = register(api)["subject"]
    r = api.post(f"/api/v1/laptops/{asset}/allocation", json={"office_code": "74.05"})
    assert r.status_code == 200, r.text
    label = eventually(lambda: api.get(f"/api/v1/laptops/{asset}").json().get("label_url"), what="laptop view")
    return asset, label


def recorded(api: httpx.Client, asset: str, scan_id: str) -> list[dict[str, Any]] | None:
    """The laptop's history once it holds what ``scan_id`` caused."""
    events: list[dict[str, Any]] = api.get(f"/api/v1/laptops/{asset}/history").json()["events"]
    return events if any(e["command_id"] == scan_id for e in events) else None


def forged(label: str) -> str:
    head, sig = label.rsplit("/", 1)
    return f"{head}/{sig[:10]}{'A' if sig[10] != 'A' else 'B'}{sig[11:]}"


@pytest.fixture(scope="module")
def warehouse_person(stack: Stack) -> str:
    return admin_from_the_shell(stack, "Budi Santoso", ["warehouse"])


def signed_in_context(browser: Browser, stack: Stack, nip: str, **options: Any) -> BrowserContext:
    context = browser.new_context(base_url=stack.url, viewport={"width": 360, "height": 780}, **options)
    r = context.request.post("/api/v1/session", data={"account": nip, "password": PASSWORD})
    assert r.status == 200, r.text()
    return context


def open_scanner(context: BrowserContext, query: str) -> Page:
    page = context.new_page()
    page.goto(f"/pindai?{query}")
    page.wait_for_selector("#scanner[data-keys]:not([data-keys='0'])", timeout=WAIT_MS)
    return page


def scan_item(page: Page, asset: str) -> Any:
    return page.locator(f"#scans li[data-asset='{asset}']")


def decided(page: Page, asset: str) -> dict[str, str]:
    item = scan_item(page, asset)
    item.and_(page.locator("[data-state=done]")).wait_for(timeout=WAIT_MS)
    return {k: item.get_attribute(f"data-{k}") or "" for k in ("scan-id", "category", "state")}


@pytest.fixture(scope="module")
def playwright() -> Iterator[Any]:
    """One Playwright for the module: the camera tests start browsers of their own (a fake
    camera is chosen at launch), the others share ``browser``."""
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright: Any) -> Iterator[Browser]:
    b: Browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
    yield b
    b.close()


def camera_browser(playwright: Any, video: Path) -> Browser:
    args = [
        *CHROMIUM_ARGS,
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
    ]
    browser: Browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=args)
    return browser


def test_the_camera_reads_a_label_the_stack_issued_with_the_bundled_decoder_and_the_dispatch_is_recorded(
    api: httpx.Client, stack: Stack, warehouse_person: str, playwright: Any, tmp_path: Path
) -> None:
    asset, _ = allocated(api)
    png = api.get(f"/api/v1/laptops/{asset}/qr.png")
    assert png.status_code == 200
    browser = camera_browser(playwright, camera_video(png.content, tmp_path / "label.y4m"))
    try:
        context = signed_in_context(browser, stack, warehouse_person, permissions=["camera"])
        page = open_scanner(context, "mode=dispatch")
        loaded: list[str] = []
        page.on("request", lambda r: loaded.append(r.url))
        page.click("#camera-toggle")
        verdict = decided(page, asset)
        assert page.get_attribute("#scanner", "data-decoder") == "library"  # no BarcodeDetector here
        assert any(u.endswith("/static/web/build/zxing_reader.wasm") for u in loaded)  # from this site
        assert all(u.startswith(stack.url) for u in loaded)
        assert verdict["category"] == "accepted"
        assert page.get_attribute("#verdict", "data-category") == "accepted"
        assert "Diterima" in page.inner_text("#verdict")
        status = api.get(f"/api/v1/scans/{verdict['scan-id']}").json()
        assert status["decision"] == "accepted" and status["event"]["type"] == LaptopDispatched.TYPE
        assert status["event"]["actor"].startswith("nip:")  # the signed-in person, not a device
    finally:
        browser.close()


# Stands in for a phone browser's own detector: it reports the label the fake camera shows.
NATIVE_DETECTOR = """
window.BarcodeDetector = class {
  static async getSupportedFormats() { return ["qr_code"]; }
  constructor(options) { window.__nativeFormats = options.formats; }
  async detect(video) { return video.videoWidth ? [{ rawValue: window.__label, format: "qr_code" }] : []; }
};
"""


def test_a_browser_with_a_barcode_detector_uses_it_and_the_consignment_count_runs(
    api: httpx.Client, stack: Stack, warehouse_person: str, playwright: Any, tmp_path: Path
) -> None:
    units = laptops(api, 3)
    planned, stray = units[:2], units[2]
    cid, other = f"PINDAI-{uuid.uuid4().hex[:8].upper()}", f"PINDAI-{uuid.uuid4().hex[:8].upper()}"
    for consignment, unit_list in ((cid, planned), (other, [stray])):
        body = {
            "consignment_id": consignment,
            "office_code": "73.71",
            "officials": [OFFICIAL],
            "legal_basis": LEGAL,
            "expected": [u["asset_id"] for u in unit_list],
        }
        assert api.post("/api/v1/consignments", json=body).status_code == 201
    into_other = {"scan_id": f"s-{uuid.uuid4()}", "label": stray["label"]}
    assert api.post(f"/api/v1/consignments/{other}/scans", json=into_other).status_code == 200
    png = api.get(f"/api/v1/laptops/{planned[0]['asset_id']}/qr.png").content
    browser = camera_browser(playwright, camera_video(png, tmp_path / "label.y4m"))
    try:
        context = signed_in_context(browser, stack, warehouse_person, permissions=["camera"])
        context.add_init_script(NATIVE_DETECTOR + f"window.__label = {json.dumps(planned[0]['label'])};")
        page = open_scanner(context, f"mode=consignment&consignment={cid}")
        page.wait_for_selector("#count-expected:text('2')", timeout=WAIT_MS)
        loaded: list[str] = []
        page.on("request", lambda r: loaded.append(r.url))
        page.click("#camera-toggle")
        assert decided(page, planned[0]["asset_id"])["category"] == "accepted"
        assert page.get_attribute("#scanner", "data-decoder") == "native"
        assert page.evaluate("window.__nativeFormats") == ["qr_code"]
        assert not any("decoder.js" in u or u.endswith(".wasm") for u in loaded)  # the library never loaded
        page.click("#camera-toggle")  # off: the rest come from a keyboard-wedge scanner
        page.fill("#code", stray["label"])
        page.press("#code", "Enter")
        assert decided(page, stray["asset_id"])["category"] == "other_consignment"
        assert "kiriman" in page.inner_text("#verdict-reason")
        page.fill("#code", planned[0]["label"])
        page.press("#code", "Enter")  # the same laptop again: said at once, not sent
        page.wait_for_selector("#verdict[data-category=already]")
        page.wait_for_selector("#count-unexpected:text('1')")
        counts = {k: page.inner_text(f"#count-{k}") for k in ("expected", "scanned", "missing", "unexpected")}
        assert counts == {"expected": "2", "scanned": "1", "missing": "1", "unexpected": "1"}
        server = api.get(f"/api/v1/consignments/{cid}").json()
        assert server["scanned"] == [planned[0]["asset_id"]] and server["missing"] == [planned[1]["asset_id"]]
    finally:
        browser.close()


def test_offline_scans_wait_on_the_device_bad_labels_are_flagged_at_once_and_each_is_stored_once(
    api: httpx.Client, stack: Stack, warehouse_person: str, browser: Browser
) -> None:
    good = [allocated(api) for _ in range(3)]
    fake_asset, genuine = allocated(api)
    old_asset, old_label = allocated(api)
    r = api.post(f"/api/v1/laptops/{old_asset}/label/reissue", json={"reason": "damaged"})
    assert r.status_code == 200, r.text
    eventually(
        lambda: any(x["asset_id"] == old_asset for x in api.get("/api/v1/label-revocations").json()),
        what="the re-issue in the revocation list",
    )
    context = signed_in_context(browser, stack, warehouse_person)
    page = open_scanner(context, "mode=dispatch")
    page.wait_for_selector("#scanner[data-offline=ready]", timeout=WAIT_MS)
    eventually(lambda: page.evaluate("!!navigator.serviceWorker.controller"), what="the page under its worker")

    context.set_offline(True)
    page.reload()  # the page itself loads without a network
    page.wait_for_selector("#scanner[data-ready]", timeout=WAIT_MS)
    assert "luring" in page.inner_text("#network")
    for asset, label in [*good, (fake_asset, forged(genuine)), (old_asset, old_label)]:
        page.fill("#code", label)
        page.press("#code", "Enter")
        scan_item(page, asset).wait_for()
    page.wait_for_selector("#waiting:text('5')")
    # Judged on the device, before any network: the forgery and the revoked label stand out.
    assert scan_item(page, fake_asset).get_attribute("data-category") == "forged"
    assert scan_item(page, old_asset).get_attribute("data-category") == "revoked"
    assert all(scan_item(page, a).get_attribute("data-category") == "waiting" for a, _ in good)
    assert page.get_attribute("#verdict", "data-category") == "revoked"

    # The first answer is lost on the way back: the page must send the same scan id again.
    lost: list[str] = []

    def lose_first_answer(route: Route) -> None:
        if not lost:
            route.fetch()  # the server receives and decides it
            lost.append(json.loads(route.request.post_data or "{}")["scan_id"])
            route.abort()
        else:
            route.continue_()

    context.route("**/api/v1/scans/dispatch", lose_first_answer)
    context.set_offline(False)
    page.wait_for_selector("#waiting:text('0')", timeout=60_000)

    expected = {a: "accepted" for a, _ in good} | {fake_asset: "label_forged", old_asset: "label_revoked"}
    for asset, outcome in expected.items():
        shown = decided(page, asset)
        status = api.get(f"/api/v1/scans/{shown['scan-id']}").json()
        assert (status["decision"] if outcome == "accepted" else status["reason"]) == outcome, status
        assert shown["category"] == {"label_forged": "forged", "label_revoked": "revoked"}.get(outcome, outcome)
        # The history (the audit service's view) follows the decision within moments.
        history = eventually(
            lambda asset=asset, scan_id=shown["scan-id"]: recorded(api, asset, scan_id), what="history"
        )
        dispatches = [e for e in history if e["type"] == LaptopDispatched.TYPE]
        assert len(dispatches) == (1 if outcome == "accepted" else 0), history
        assert len([e for e in history if e["command_id"] == shown["scan-id"]]) == 1  # one fact per scan
    assert lost and lost[0] in [decided(page, a)["scan-id"] for a, _ in good]


# A browser whose WebCrypto has no Ed25519 (older Safari and Firefox, or a page outside a
# secure context): importing an Ed25519 key fails as such browsers fail it.
NO_WEBCRYPTO_ED25519 = """
const importKey = crypto.subtle.importKey.bind(crypto.subtle);
crypto.subtle.importKey = (format, key, algorithm, ...rest) =>
  (algorithm && (algorithm === "Ed25519" || algorithm.name === "Ed25519"))
    ? Promise.reject(new DOMException("Algorithm: Unrecognized name", "NotSupportedError"))
    : importKey(format, key, algorithm, ...rest);
"""


def test_a_browser_without_webcrypto_ed25519_checks_labels_with_the_bundled_library(
    api: httpx.Client, stack: Stack, warehouse_person: str, browser: Browser
) -> None:
    asset, genuine = allocated(api)
    fake_asset, other = allocated(api)
    context = signed_in_context(browser, stack, warehouse_person)
    context.add_init_script(NO_WEBCRYPTO_ED25519)
    fetched: list[str] = []
    context.on("request", lambda r: fetched.append(r.url))
    page = open_scanner(context, "mode=dispatch")
    # The server is out of reach at first, so what the page shows is its own judgement.
    context.route("**/api/v1/scans/dispatch", lambda route: route.abort())
    for asset_id, label in ((asset, genuine), (fake_asset, forged(other))):
        page.fill("#code", label)
        page.press("#code", "Enter")
        scan_item(page, asset_id).wait_for()
    assert scan_item(page, fake_asset).get_attribute("data-category") == "forged"
    assert scan_item(page, asset).get_attribute("data-category") == "waiting"  # genuine: queued to send
    assert any(url.endswith("/ed25519.js") for url in fetched), "the library was loaded"
    context.unroute("**/api/v1/scans/dispatch")
    assert decided(page, asset)["category"] == "accepted"
    context.close()


def test_the_scanning_page_weighs_less_than_200_kb_on_the_wire(
    api: httpx.Client, stack: Stack, warehouse_person: str, browser: Browser
) -> None:
    context = signed_in_context(browser, stack, warehouse_person, service_workers="block")
    page = context.new_page()
    sizes: dict[str, int] = {}

    def weigh(request: Any) -> None:
        size = request.sizes()
        sizes[request.url] = size["responseBodySize"] + size["responseHeadersSize"]

    page.on("requestfinished", weigh)
    page.goto("/pindai")
    page.wait_for_selector("#scanner[data-keys]", timeout=WAIT_MS)
    page.wait_for_load_state("networkidle")
    total = sum(sizes.values())
    print(f"scanning page: {total} bytes over {len(sizes)} requests: {sizes}")
    assert total < PAGE_BUDGET_BYTES, sizes
    assert not any("decoder.js" in u or u.endswith(".wasm") for u in sizes)  # loaded only for the camera


def test_an_office_receives_with_a_condition_and_later_attests_use_by_scanning(
    api: httpx.Client, stack: Stack, browser: Browser
) -> None:
    asset, label = allocated(api)  # allocated to 74.05
    sent = api.post("/api/v1/scans/dispatch", json={"scan_id": f"d-{asset}", "label": label})
    assert sent.status_code in (200, 201), sent.text
    office = browser.new_context(
        base_url=stack.url,
        viewport={"width": 360, "height": 780},
        extra_http_headers=signed_in(device_token(stack, ("recipient",), "74.05", "tablet kantor 74.05")),
    )
    try:
        page = open_scanner(office, "mode=receipt")
        page.select_option("#condition", "RR")
        page.fill("#code", label)
        page.press("#code", "Enter")
        receipt = decided(page, asset)
        assert receipt["category"] == "accepted"
        page = open_scanner(office, "mode=attestation")
        page.fill("#code", label)
        page.press("#code", "Enter")
        # The device keeps its earlier scans in its list: the attestation is the new one.
        item = page.locator(
            f"#scans li[data-asset='{asset}'][data-state=done]:not([data-scan-id='{receipt['scan-id']}'])"
        )
        item.wait_for(timeout=WAIT_MS)
        attested = {k: item.get_attribute(f"data-{k}") or "" for k in ("scan-id", "category")}
        assert attested["category"] == "accepted"
    finally:
        office.close()
    events = eventually(lambda: recorded(api, asset, attested["scan-id"]), what="the attestation in the history")
    received = next(e for e in events if e["type"] == LaptopReceived.TYPE)
    use = next(e for e in events if e["type"] == UsageAttested.TYPE)
    assert received["data"]["condition"] == "RR" and received["command_id"] == receipt["scan-id"]
    assert use["actor"].startswith("device:") and use["command_id"] == attested["scan-id"]


def in_mode(page: Page, asset: str, mode: str) -> dict[str, str]:
    """The decided scan of ``asset`` in ``mode`` (the list keeps the scans of other modes)."""
    item = page.locator(f"#scans li[data-asset='{asset}'][data-mode='{mode}'][data-state=done]")
    item.wait_for(timeout=WAIT_MS)
    return {k: item.get_attribute(f"data-{k}") or "" for k in ("scan-id", "category")}


def scan_label(page: Page, label: str) -> None:
    page.fill("#code", label)
    page.press("#code", "Enter")


def test_an_office_sends_a_laptop_for_repair_and_back_and_its_holder_confirms_it_by_scanning(
    api: httpx.Client, stack: Stack, browser: Browser
) -> None:
    asset, label = allocated(api)  # allocated to 74.05
    sent = api.post("/api/v1/scans/dispatch", json={"scan_id": f"d-{asset}", "label": label})
    assert sent.status_code in (200, 201), sent.text
    token = device_token(stack, ("recipient",), "74.05", "tablet kantor 74.05 perawatan")
    with httpx.Client(base_url=stack.url, timeout=30, headers=signed_in(token)) as desk:
        got = desk.post("/api/v1/scans/receipt", json={"scan_id": f"r-{asset}", "label": label})
        assert got.status_code == 200 and got.json()["decision"] == "accepted", got.text
    office = browser.new_context(
        base_url=stack.url, viewport={"width": 360, "height": 780}, extra_http_headers=signed_in(token)
    )
    try:
        page = open_scanner(office, "mode=repair-out")
        assert page.is_visible("#vendor") and page.is_visible("#reason") and not page.is_visible("#note")
        scan_label(page, label)  # without the repair shop and the fault: asked for them, nothing sent
        assert page.get_attribute("#verdict", "data-category") == "rejected"
        assert page.locator("#scans li").count() == 0
        page.fill("#vendor", "CV Mitra Servis Makassar")
        page.fill("#reason", "layar mati")
        page.select_option("#condition", "RR")
        scan_label(page, label)
        out = in_mode(page, asset, "repair-out")
        assert out["category"] == "accepted"
        page.check("input[name=mode][value=repair-back]")
        assert page.is_visible("#note") and not page.is_visible("#vendor")
        page.select_option("#condition", "B")
        scan_label(page, label)
        back = in_mode(page, asset, "repair-back")
        assert back["category"] == "accepted"
    finally:
        office.close()

    history = eventually(lambda: recorded(api, asset, back["scan-id"]), what="the repair in the history")
    [started] = [e for e in history if e["command_id"] == out["scan-id"]]
    [finished] = [e for e in history if e["command_id"] == back["scan-id"]]
    assert started["type"] == RepairStarted.TYPE and finished["type"] == RepairFinished.TYPE

    # Handed to a holder at the office's desk; the holder confirms with their own phone.
    holder_nip = admin_from_the_shell(stack, "Rina Wulandari", ["holder"])
    holder = {"name": "Rina Wulandari", "nip": holder_nip, "jabatan": "Analis Kebijakan", "unit": "Bidang Politik"}
    with httpx.Client(base_url=stack.url, timeout=30, headers=signed_in(token)) as desk:
        given = desk.post(
            f"/api/v1/laptops/{asset}/holder",
            json={"request_id": f"a-{asset}", "holder": holder, "assigned_by": OFFICIAL},
        )
        assert given.status_code == 200 and given.json()["decision"] == "accepted", given.text
    person = signed_in_context(browser, stack, holder_nip)
    try:
        page = open_scanner(person, "mode=assignment")
        assert page.eval_on_selector_all("input[name=mode]", "els => els.map(e => e.value)") == [
            "attestation",
            "assignment",
        ]
        scan_label(page, label)
        confirmed = in_mode(page, asset, "assignment")
        assert confirmed["category"] == "accepted"
    finally:
        person.close()
    history = eventually(lambda: recorded(api, asset, confirmed["scan-id"]), what="the confirmation in the history")
    [fact] = [e for e in history if e["command_id"] == confirmed["scan-id"]]
    assert fact["type"] == AssignmentConfirmed.TYPE
