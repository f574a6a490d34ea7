"""The scanning page of the warehouse and the recipient office, and the service worker
that keeps it working without a network.

The page (``/pindai``) is HTML with data attributes; everything it does runs in the
browser from ``static/build/scan.js`` (built from ``web/src/`` by the set-up): it reads a
label with the camera or a keyboard-wedge scanner, checks the label's signature on the
device with the published keys, queues each scan in IndexedDB under its scan id and
sends it to the scan routes of the API, which decide it exactly once per scan id.

The service worker is served from ``/pindai/sw.js`` rather than from the static files:
a worker controls only pages under its own path, and its script must be fetched fresh
for a new release to replace the old one."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from services.gateway.auth.model import Principal, Role
from services.gateway.deps import GW, SESSION_COOKIE, Anyone, page_allow
from services.gateway.protection.headers import content_security_policy
from services.gateway.web import STATIC, render

router = APIRouter()
PAGE = "/pindai"
WORKER = PAGE + "/sw.js"
BUILD = STATIC + "/build"
# What a scan does, by mode: the route that decides it, the roles that route lets in (the
# page offers a mode to whoever holds one of them), and what the person fills in beside
# the scan (``condition``, ``note``, ``vendor``, ``reason``), the same fields the route takes.
# A consignment's scans go to the consignment's own route (the script puts the consignment
# chosen on the page in its ``{consignment_id}``): a warehouse's, or a transfer's at the
# office it leaves from.


@dataclass(frozen=True)
class Mode:
    route: str
    roles: tuple[Role, ...]
    fields: tuple[str, ...] = ()


MODES: dict[str, Mode] = {
    "consignment": Mode("/api/v1/consignments/{consignment_id}/scans", (Role.WAREHOUSE,)),
    "dispatch": Mode("/api/v1/scans/dispatch", (Role.WAREHOUSE,)),
    "receipt": Mode("/api/v1/scans/receipt", (Role.RECIPIENT,), ("condition",)),
    "attestation": Mode("/api/v1/scans/attestation", (Role.RECIPIENT, Role.HOLDER), ("condition",)),
    "assignment": Mode("/api/v1/scans/assignment", (Role.HOLDER,)),
    "holder-return": Mode("/api/v1/scans/holder-return", (Role.RECIPIENT,), ("condition", "note")),
    "repair-out": Mode("/api/v1/scans/repair-out", (Role.RECIPIENT,), ("vendor", "reason", "condition")),
    "repair-back": Mode("/api/v1/scans/repair-back", (Role.RECIPIENT,), ("condition", "note")),
    "recovery": Mode("/api/v1/scans/recovery", (Role.RECIPIENT,), ("condition", "note")),
    "warehouse-return": Mode("/api/v1/scans/warehouse-return", (Role.WAREHOUSE,), ("condition", "note")),
    "transfer": Mode("/api/v1/transfers/{consignment_id}/scans", (Role.RECIPIENT,)),
}
# The QR decoder some browsers need is WebAssembly, which a page may compile only when
# its policy says so ('wasm-unsafe-eval' allows WebAssembly, not eval of scripts).
SCAN_POLICY = content_security_policy(script_src="'wasm-unsafe-eval'")

MODE_NAMES: dict[str, tuple[str, str]] = {
    "consignment": ("Masuk ke kiriman", "Into a consignment"),
    "dispatch": ("Kirim satuan", "Dispatch on its own"),
    "receipt": ("Terima satuan", "Receive on its own"),
    "attestation": ("Kesaksian pemakaian", "Attest use"),
    "assignment": ("Saya menerima laptop ini (pemegang)", "I hold this laptop (holder)"),
    "holder-return": ("Dikembalikan pemegang", "Given back by its holder"),
    "repair-out": ("Kirim ke perbaikan", "Send for repair"),
    "repair-back": ("Kembali dari perbaikan", "Back from repair"),
    "recovery": ("Laptop hilang ditemukan", "A lost laptop found"),
    "warehouse-return": ("Kembali ke gudang", "Back into the warehouse"),
    "transfer": ("Masuk ke mutasi (kantor pengirim)", "Into a transfer (giving office)"),
}
# What the page's script says, in both languages side by side (``Words.tr`` picks one):
# a verdict's title by category, then its reason by the API's reason code or the device's
# own finding. The page carries them as data attributes; the script holds no wording.
WORDS: tuple[tuple[str, str, str], ...] = (
    ("accepted", "Diterima", "Accepted"),
    ("already", "Sudah dipindai", "Already scanned"),
    ("other_consignment", "Kiriman lain", "Another consignment"),
    ("forged", "Label palsu", "Forged label"),
    ("revoked", "Label dicabut", "Revoked label"),
    ("unknown", "Tidak dikenal", "Unknown"),
    ("rejected", "Ditolak", "Refused"),
    ("waiting", "Menunggu dikirim", "Waiting to be sent"),
    ("pending", "Menunggu keputusan", "Awaiting the decision"),
    ("r_genuine", "Tanda tangan asli (diperiksa di perangkat ini).", "Genuine signature (checked on this device)."),
    ("r_recorded", "Dicatat oleh server.", "Recorded by the server."),
    ("r_label_malformed", "Ini bukan label Serah: pindai labelnya lagi.", "This is not a Serah label: scan it again."),
    (
        "r_label_forged",
        "Tanda tangan label tidak cocok: bukan terbitan Serah. Sisihkan laptop ini dan laporkan.",
        "The label's signature does not match: Serah did not issue it. Set the laptop aside and report it.",
    ),
    (
        "r_label_unknown_key",
        "Label ditandatangani dengan kunci yang tidak dipercaya. Sisihkan laptop ini dan laporkan.",
        "The label was signed with a key Serah does not trust. Set the laptop aside and report it.",
    ),
    (
        "r_label_revoked",
        "Label ini sudah diganti label baru: pakai label baru dan laporkan yang lama.",
        "This label was replaced by a new one: use the new label and report the old one.",
    ),
    ("r_label_asset_mismatch", "Label ini milik laptop lain.", "This label belongs to another laptop."),
    ("r_unknown_laptop", "Laptop ini tidak terdaftar di Serah.", "This laptop is not registered in Serah."),
    ("r_here_already", "Sudah dipindai di perangkat ini.", "Already scanned on this device."),
    ("r_duplicate", "Laptop ini sudah ada di kiriman ini.", "This laptop is already in this consignment."),
    ("r_already_in_consignment", "Laptop ini sudah ada di kiriman ini.", "This laptop is already in this consignment."),
    ("r_already_dispatched", "Laptop ini sudah dikirim.", "This laptop was dispatched already."),
    ("r_already_received", "Laptop ini sudah diterima.", "This laptop was received already."),
    (
        "r_belongs_to_other_consignment",
        "Laptop ini milik kiriman lain: jangan dimasukkan ke kiriman ini.",
        "This laptop belongs to another consignment: keep it out of this one.",
    ),
    (
        "r_in_consignment",
        "Laptop ini berjalan dalam kiriman: pindai ke kirimannya.",
        "This laptop travels in a consignment: scan it into that consignment.",
    ),
    ("r_not_expected", "Laptop ini tidak ada dalam rencana kiriman.", "This laptop is not in the consignment's plan."),
    ("r_not_allocated", "Laptop ini belum dialokasikan ke kantor.", "This laptop is not allocated to an office yet."),
    ("r_not_dispatched", "Laptop ini belum dikirim.", "This laptop has not been dispatched."),
    ("r_not_received", "Laptop ini belum diterima kantor.", "This laptop has not been received by an office."),
    ("r_consignment_closed", "Kiriman ini sudah ditutup.", "This consignment is closed."),
    ("r_consignment_full", "Kiriman ini sudah penuh.", "This consignment is full."),
    ("r_unknown_consignment", "Kiriman ini tidak ada: periksa ID-nya.", "No such consignment: check its id."),
    (
        "r_held_by_holder",
        "Laptop ini dipegang seseorang: terima kembali darinya dulu.",
        "Someone holds this laptop: take it back from them first.",
    ),
    ("r_not_assigned", "Laptop ini tidak dipegang siapa pun.", "No one holds this laptop."),
    ("r_already_confirmed", "Pemegang sudah mengonfirmasi laptop ini.", "Its holder confirmed it already."),
    ("r_not_the_holder", "Laptop ini diserahkan kepada orang lain.", "This laptop was handed to someone else."),
    ("r_in_repair", "Laptop ini sedang diperbaiki.", "This laptop is out for repair."),
    ("r_not_in_repair", "Laptop ini tidak sedang diperbaiki.", "This laptop is not out for repair."),
    (
        "r_lost",
        "Laptop ini dilaporkan hilang: pindai dengan mode \u201cLaptop hilang ditemukan\u201d.",
        "This laptop was reported lost: scan it as \u201cA lost laptop found\u201d.",
    ),
    ("r_not_lost", "Laptop ini tidak dilaporkan hilang.", "This laptop was not reported lost."),
    ("r_write_off_pending", "Penghapusan laptop ini sedang diusulkan.", "A write-off of this laptop is proposed."),
    ("r_written_off", "Laptop ini sudah dihapus dari BMN.", "This laptop was written off."),
    ("r_not_at_office", "Laptop ini tidak ada di kantor ini.", "This laptop is not at this office."),
    (
        "r_wrong_sender",
        "Kiriman ini berangkat dari gudang, bukan dari kantor ini.",
        "This consignment leaves from the warehouse, not from this office.",
    ),
    ("r_not_your_office", "Laptop ini milik kantor lain.", "This laptop belongs to another office."),
    ("fill_fields", "Isi dulu kolom di atas.", "Fill in the fields above first."),
    ("r_sign_in", "Masuk lagi agar pindaian terkirim.", "Sign in again so the scans can be sent."),
    ("r_server", "Server menolak:", "The server refused:"),
    ("no_consignment", "Pilih kiriman dulu.", "Choose a consignment first."),
    ("no_camera", "Kamera tidak tersedia di sini: pakai kotak kode.", "No camera here: use the code box."),
    ("camera_on", "Kamera menyala", "Camera on"),
    ("camera_off", "Kamera mati", "Camera off"),
    ("online", "daring", "online"),
    ("offline", "luring: pindaian disimpan di perangkat", "offline: scans are kept on this device"),
    ("unknown_keys", "Kunci label belum dimuat: sambungkan sekali.", "Label keys not loaded yet: connect once."),
)
Scanner = Annotated[Principal, Depends(page_allow(Role.WAREHOUSE, Role.RECIPIENT, Role.HOLDER))]


def modes_for(roles: set[Role]) -> list[str]:
    return [name for name, mode in MODES.items() if roles & set(mode.roles)]


@router.get(PAGE, include_in_schema=False)
async def scan_page(who: Scanner, request: Request, gw: GW) -> Response:
    """The modes of the caller's roles. The page carries the session's CSRF token (its
    scans are changes made with the cookie)."""
    modes = modes_for(who.roles())
    csrf = ""
    if who.kind == "person" and (token := request.cookies.get(SESSION_COOKIE)):
        session = await gw.identity.from_session(token)
        csrf = session[1] if session else ""
    page = render(
        request,
        "scan.html",
        modes=[(mode, MODES[mode], *MODE_NAMES[mode]) for mode in modes],
        words=WORDS,
        csrf=csrf,
        build=BUILD,
        worker=WORKER,
    )
    page.headers["Content-Security-Policy"] = SCAN_POLICY
    # A page with this person's token: never kept by a shared cache, revalidated by the browser.
    page.headers["Cache-Control"] = "private, no-cache"
    return page


@router.get(WORKER, include_in_schema=False)
async def service_worker(who: Anyone) -> Response:
    """The worker may control everything under ``/pindai`` (its own folder is ``/pindai/``)."""
    built = resources.files("services.gateway.web").joinpath("static", "build", "sw.js")
    if not built.is_file():
        return Response("The pages' scripts are not built: run make setup.\n", status_code=404, media_type="text/plain")
    return Response(
        built.read_bytes(),
        media_type="text/javascript",
        headers={"Service-Worker-Allowed": PAGE, "Cache-Control": "no-cache"},
    )
