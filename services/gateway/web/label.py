"""What the public label page shows, the page a phone camera opens when it scans a
label: whether the label is genuine and what the laptop is, and no personal data;
or, for any label that is not the laptop's current genuine one, a warning saying why.
Indonesian first, English beside it."""

from __future__ import annotations

from dataclasses import dataclass

from events import labels
from events.catalog import RejectionReason
from services.gateway.bootstrap import Gateway

STATUS_TEXT = {
    "registered": ("Terdaftar di gudang", "Registered, in the warehouse"),
    "allocated": ("Dialokasikan ke kantor penerima", "Allocated to a recipient office"),
    "in_transit": ("Dalam pengiriman", "In transit"),
    "dispatched": ("Dalam pengiriman", "In transit"),
    "received": ("Diterima oleh kantor", "Received by the office"),
    "assigned": ("Diserahkan kepada pemegang", "Handed to a holder"),
    "in_use": ("Dipakai oleh pemegangnya", "In use by its holder"),
    "in_repair": ("Sedang diperbaiki", "Out for repair"),
    "lost": ("Dilaporkan hilang atau dicuri", "Reported lost or stolen"),
    "write_off_proposed": ("Diusulkan untuk dihapus dari BMN", "Proposed for write-off"),
    "written_off": ("Dihapus dari BMN", "Written off"),
}
# A genuine label of a laptop reported lost or stolen: whoever scanned it holds a laptop its
# office is looking for, which matters more than anything else the page says.
LOST = (
    ("PERHATIAN: laptop ini dilaporkan hilang atau dicuri", "ATTENTION: this laptop was reported lost or stolen"),
    (
        "Kantor pemiliknya sedang mencarinya. Serahkan laptop ini ke kantor tersebut atau ke polisi, "
        "dan jangan membelinya.",
        "Its office is looking for it. Take it to that office or to the police, and do not buy it.",
    ),
)


# Per reason: a headline and an explanation, in Indonesian (the main text) and English.
# A forged label is a matter for the police, a revoked one usually just an old sticker.
WARNINGS = {
    "label_forged": (
        ("PERINGATAN: label palsu", "WARNING: forged label"),
        (
            "Tanda tangan label ini tidak dibuat oleh Serah. Label ini bukan label resmi.",
            "This label's signature was not made by Serah. It is not an official label.",
        ),
    ),
    "label_unknown_key": (
        ("PERINGATAN: label tidak dikenal", "WARNING: unknown label"),
        (
            "Label ini ditandatangani dengan kunci yang tidak dikenal Serah.",
            "This label is signed with a key Serah does not know.",
        ),
    ),
    "label_revoked": (
        ("Label sudah dicabut", "Revoked label"),
        (
            "Laptop ini sudah mendapat label baru; label lama ini tidak berlaku lagi.",
            "This laptop has a newer label; this old one is no longer valid.",
        ),
    ),
    "label_malformed": (
        ("Label rusak atau tidak lengkap", "Damaged or incomplete label"),
        (
            "Isi kode QR tidak dapat dibaca sebagai label Serah.",
            "The QR code's content cannot be read as a Serah label.",
        ),
    ),
    "label_asset_mismatch": (
        ("Label tidak cocok", "Label does not match"),
        ("Label ini milik laptop lain.", "This label belongs to another laptop."),
    ),
    "written_off": (
        ("Laptop sudah dihapus dari BMN: label dicabut", "Written off: this label is revoked"),
        (
            "Laptop ini sudah dihapus dari daftar Barang Milik Negara dan labelnya tidak berlaku lagi. "
            "Laptop yang masih dipakai dengan label ini perlu dilaporkan.",
            "This laptop was written off the state's asset register and its label is no longer valid. "
            "A laptop still in use with this label needs to be reported.",
        ),
    ),
    "unknown_laptop": (
        ("Laptop tidak terdaftar", "Laptop not registered"),
        ("Laptop dengan kode ini tidak terdaftar di Serah.", "No laptop with this code is registered in Serah."),
    ),
}
NOT_VALID = (
    ("Label tidak sah", "Label not valid"),
    ("Label ini tidak dapat diperiksa.", "This label cannot be checked."),
)


@dataclass(frozen=True)
class Genuine:
    asset_id: str
    generation: int
    brand_model: str
    status: tuple[str, str]  # Indonesian, English
    office: str
    lost: tuple[tuple[str, str], tuple[str, str]] | None = None  # LOST, when it was reported lost or stolen


@dataclass(frozen=True)
class LabelWarning:
    reason: str  # the code, shown small for support
    headline: tuple[str, str]  # Indonesian, English
    why: tuple[str, str]
    status: int = 400  # a label that is not valid; 410 for one revoked with its laptop's write-off


async def judge(gw: Gateway, path: str) -> Genuine | LabelWarning:
    """The label at ``path`` (a label page's path exactly as requested), judged as a
    scan would judge it: well-formed, signed by a trusted key, of a registered laptop,
    and that laptop's current label."""
    try:
        claim = labels.parse_path(path)
        labels.verify(claim, gw.issuer.public_keys())
        view = await gw.reads.laptop(claim.asset_id)
        if view is None or view.get("status") in (None, "unknown"):
            raise labels.LabelError(RejectionReason.UNKNOWN_LAPTOP, "this laptop is not registered.")
        labels.check_current(claim, claim.asset_id, view["label_generation"])
    except labels.LabelError as exc:
        headline, why = WARNINGS.get(exc.reason.value, NOT_VALID)
        return LabelWarning(reason=exc.reason.value, headline=headline, why=why)
    if view.get("label_revoked") or view.get("status") == "written_off":
        # Its current label, revoked with the write-off: every later scan of it is an anomaly.
        headline, why = WARNINGS["written_off"]
        return LabelWarning(reason="written_off", headline=headline, why=why, status=410)
    return Genuine(
        asset_id=claim.asset_id,
        generation=claim.generation,
        brand_model=" ".join(str(view.get(k) or "") for k in ("brand", "model")).strip() or "—",
        status=STATUS_TEXT.get(view["status"], (view["status"], view["status"])),
        office=view.get("office_name") or "Gudang pusat / central warehouse",
        lost=LOST if view.get("status") == "lost" or view.get("lost_at") else None,
    )
