"""The dispatch manifest (surat jalan) PDF for the driver: consignment,
recipient office, legal basis, the expected units, the one-time receipt code and
signature lines. Pure rendering; A4, printable, bilingual headings.

The receipt code is stored only as a keyed hash, so the server cannot print it by
itself: the operator who holds the code (from the plan response or the
``serah import-plan`` codes file) gives it, the gateway checks it against the
stored hash and prints it in its groups; without it the manifest has a blank, in
the same groups, to fill by hand.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape as x  # reportlab Paragraph text is markup; data is escaped

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from events import receipt_codes
from events.catalog import LEGAL_KINDS

# The code's groups as blanks, to write the code in by hand: ____-____-____-____
BLANK_CODE = "-".join(["_" * receipt_codes.GROUP_LENGTH] * receipt_codes.GROUPS)


@dataclass(frozen=True)
class Unit:
    asset_id: str
    serial: str
    brand_model: str
    kode_barang: str


@dataclass(frozen=True)
class Manifest:
    consignment_id: str
    office_code: str
    office_name: str
    legal_kind: str
    legal_number: str
    legal_date: str
    officials: list[tuple[str, str, str]]  # name, NIP, jabatan
    units: list[Unit]
    receipt_code: str | None  # as printed: grouped, K7Q2-M9XP-4RTW-HN3C
    expected_count: int | None = None  # a plan by count: how many the warehouse is to pick


def render(m: Manifest) -> bytes:
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out, pagesize=A4, invariant=1, title=f"Surat Jalan {m.consignment_id}", author="Serah",
        leftMargin=18 * mm, rightMargin=18 * mm, topMargin=15 * mm, bottomMargin=15 * mm,
    )  # fmt: skip
    ss = getSampleStyleSheet()
    body = ParagraphStyle("body", parent=ss["Normal"], fontSize=10, leading=13)
    head = ParagraphStyle("head", parent=ss["Title"], fontSize=13, leading=16, spaceAfter=2)
    centre = ParagraphStyle("centre", parent=body, alignment=1)
    code = m.receipt_code or f"{BLANK_CODE} (isi dari berkas kode / fill in from the codes file)"
    story: list[Flowable] = [
        Paragraph("SURAT JALAN PENGIRIMAN BARANG / DISPATCH MANIFEST", head),
        Paragraph(f"Konsinyasi / Consignment: {x(m.consignment_id)}", centre),
        Spacer(1, 5 * mm),
        Table(
            [
                ["Penerima / Recipient", f": {m.office_name} ({m.office_code})"],
                ["Dasar hukum / Legal basis", f": {LEGAL_KINDS.get(m.legal_kind, m.legal_kind)} {m.legal_number}"],
                ["Tanggal / Date", f": {m.legal_date}"],
                ["Jumlah unit / Units", f": {_units_line(m)}"],
                ["Kode penerimaan / Receipt code", f": {code}"],
            ],
            colWidths=[55 * mm, 119 * mm],
            style=[("FONTSIZE", (0, 0), (-1, -1), 10), ("FONTNAME", (0, 4), (-1, 4), "Helvetica-Bold")],
        ),
        Spacer(1, 3 * mm),
        Paragraph(
            "Pejabat yang berwenang menerima / Officials authorised to sign: "
            + x("; ".join(f"{n} (NIP {nip}), {j}" for n, nip, j in m.officials)),
            body,
        ),
        Spacer(1, 3 * mm),
    ]
    head_row = ["No", "Kode aset / Asset", "Nomor seri / Serial", "Merek/Tipe / Brand/model", "Kode barang"]
    rows: list[list[Any]] = [list(head_row)]
    cell = ParagraphStyle("cell", parent=body, fontSize=8, leading=10)
    # Brand/model and serial come from vendors' lists: wrapped, not cut or run into the next column.
    rows += [
        [str(i), u.asset_id, Paragraph(x(u.serial), cell), Paragraph(x(u.brand_model), cell), u.kode_barang]
        for i, u in enumerate(m.units, 1)
    ]
    story.append(
        Table(
            rows,
            colWidths=[10 * mm, 36 * mm, 40 * mm, 62 * mm, 26 * mm],
            repeatRows=1,
            style=TableStyle(
                [
                    ("GRID", (0, 0), (-1, -1), 0.4, colors.black),
                    ("FONTSIZE", (0, 0), (-1, -1), 8),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.lightgrey),
                ]
            ),
        )
    )
    story += [
        Spacer(1, 4 * mm),
        Paragraph(
            "Kode penerimaan hanya diberikan kepada pejabat penerima / Give the receipt code only to the receiving "
            "official.",
            body,
        ),
        Spacer(1, 8 * mm),
        Table(
            [
                ["Petugas Gudang / Warehouse", "Pengemudi / Driver", "Penerima / Recipient"],
                ["", "", ""],
                ["(____________________)", "(____________________)", "(____________________)"],
            ],
            colWidths=[58 * mm] * 3,
            rowHeights=[6 * mm, 20 * mm, 6 * mm],
            style=[("ALIGN", (0, 0), (-1, -1), "CENTER"), ("FONTSIZE", (0, 0), (-1, -1), 9)],
        ),
    ]
    doc.build(story)
    return out.getvalue()


def _units_line(m: Manifest) -> str:
    if m.expected_count is None:
        return str(len(m.units))
    return f"{len(m.units)} dari {m.expected_count} diambil / {len(m.units)} of {m.expected_count} picked"
