"""Draws the BAST PDF, in Indonesian government format.

Deterministic on purpose: the same receipt renders to the same bytes (reportlab's
``invariant`` mode fixes the creation date and document id), so the SHA-256 kept
in the ReceiptConfirmed event stays valid when the PDF is regenerated.
"""

from __future__ import annotations

import io
from typing import Any
from xml.sax.saxutils import escape as x  # reportlab Paragraph text is markup; data is escaped

from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from events.catalog import CONDITIONS, LEGAL_KINDS
from services.common.indonesian import tanggal
from services.handover.bast import ATTACH_OVER, Bast, Item, opening, rupiah, terbilang


def render(b: Bast) -> bytes:
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        invariant=1,
        title=f"BAST {b.number}",
        author="Serah",
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
    )
    ss = getSampleStyleSheet()
    body = ParagraphStyle("body", parent=ss["Normal"], fontSize=10, leading=13)
    small = ParagraphStyle("small", parent=body, fontSize=7.5, leading=9)
    head = ParagraphStyle("head", parent=ss["Title"], fontSize=13, leading=16, spaceAfter=2)
    centre = ParagraphStyle("centre", parent=body, alignment=1)
    story: list[Flowable] = [
        Paragraph("BERITA ACARA SERAH TERIMA BARANG MILIK NEGARA", head),
        *([Paragraph("(MUTASI ANTARKANTOR)", centre)] if b.transfer else []),
        Paragraph(f"Nomor: {x(b.number)}", centre),
        Spacer(1, 5 * mm),
        Paragraph(f"{opening(b.at)}, bertempat di {x(b.place)}, kami yang bertanda tangan di bawah ini:", body),
        Spacer(1, 2 * mm),
    ]
    for label, role, p in (("I", "PIHAK PERTAMA", b.first), ("II", "PIHAK KEDUA", b.second)):
        story.append(
            Table(
                [
                    [f"{label}.", "Nama", f": {p.name}"],
                    ["", "NIP", f": {p.nip}"],
                    ["", "Jabatan", f": {p.jabatan}"],
                    ["", "Instansi", Paragraph(f": {x(p.office)}", body)],
                ],
                colWidths=[8 * mm, 25 * mm, 140 * mm],
                hAlign="LEFT",
                style=TableStyle([("FONTSIZE", (0, 0), (-1, -1), 10), ("VALIGN", (0, 0), (-1, -1), "TOP")]),
            )
        )
        story.append(Paragraph(f"selanjutnya disebut <b>{role}</b>.", body))
        story.append(Spacer(1, 2 * mm))
    kind = LEGAL_KINDS.get(b.legal_kind, b.legal_kind)
    story += [
        Paragraph(
            f"Berdasarkan {x(kind)} Nomor {x(b.legal_number)} tanggal {x(tanggal(b.legal_date))}, "
            "PIHAK PERTAMA menyerahkan kepada PIHAK KEDUA, dan PIHAK KEDUA menerima dari PIHAK PERTAMA, "
            "barang milik negara berupa "
            f"{len(b.items)} ({terbilang(len(b.items))}) unit laptop "
            f"({'mutasi' if b.transfer else 'konsinyasi'} {x(b.consignment_id)}) "
            + (
                "sebagaimana tercantum dalam Lampiran Berita Acara ini:"
                if len(b.items) > ATTACH_OVER
                else "dengan rincian sebagai berikut:"
            ),
            body,
        ),
        Spacer(1, 2 * mm),
    ]
    table = _items_table(b.items, small)
    if len(b.items) <= ATTACH_OVER:
        story += [table, Spacer(1, 3 * mm)]
    damaged = [i for i in b.items if i.condition in ("RR", "RB")]
    story.append(Paragraph("<b>Pengecualian yang ditemukan pada pemeriksaan (exceptions):</b>", body))
    if not damaged and not b.missing:
        story.append(Paragraph("Tidak ada.", body))
    for i in b.missing:
        story.append(
            Paragraph(f"- TIDAK DITERIMA (missing): {x(i.serial)} ({i.asset_id}); tetap dalam pengiriman.", body)
        )
    for i in damaged:
        story.append(Paragraph(f"- {CONDITIONS[i.condition]}: {x(i.serial)} ({i.asset_id}) {x(i.note)}", body))
    story += [
        Spacer(1, 3 * mm),
        Paragraph(
            "Dengan ditandatanganinya Berita Acara ini, tanggung jawab atas barang tersebut beralih dari PIHAK PERTAMA "
            "kepada PIHAK KEDUA.",
            body,
        ),
        Paragraph(
            f"Berita Acara ini dibuat dalam {b.originals} ({terbilang(b.originals)}) rangkap asli, masing-masing "
            "mempunyai kekuatan hukum yang sama.",
            body,
        ),
        Spacer(1, 6 * mm),
        Table(
            [
                ["PIHAK KEDUA", "PIHAK PERTAMA"],
                ["Yang Menerima,", "Yang Menyerahkan,"],
                ["", ""],
                ["", ""],
                [b.second.name, b.first.name],
                [f"NIP {b.second.nip}", f"NIP {b.first.nip}"],
            ],
            colWidths=[85 * mm, 85 * mm],
            rowHeights=[5 * mm, 5 * mm, 10 * mm, 10 * mm, 5 * mm, 5 * mm],
            style=TableStyle([("ALIGN", (0, 0), (-1, -1), "CENTER"), ("FONTSIZE", (0, 0), (-1, -1), 10)]),
        ),
        Spacer(1, 4 * mm),
        Table(
            [[_qr(b.verify_url), Paragraph(f"Verifikasi / verify: {x(b.verify_url)}", small)]],
            colWidths=[30 * mm, 140 * mm],
            hAlign="LEFT",
            style=TableStyle([("VALIGN", (0, 0), (-1, -1), "MIDDLE")]),
        ),
    ]
    if len(b.items) > ATTACH_OVER:
        story += [
            PageBreak(),
            Paragraph(f"LAMPIRAN Berita Acara Serah Terima Nomor {x(b.number)}", head),
            Paragraph(f"Daftar unit yang diterima ({len(b.items)} unit)", centre),
            Spacer(1, 3 * mm),
            table,
        ]
    doc.build(story)
    return out.getvalue()


def _items_table(items: list[Item], style: ParagraphStyle) -> Table:
    head = ["No", "Nama Barang", "Merek/Tipe", "Nomor Seri", "Kode Barang", "NUP", "Kondisi", "Nilai", "Keterangan"]
    rows: list[list[Any]] = [[Paragraph(f"<b>{h}</b>", style) for h in head]]
    for n, i in enumerate(items, 1):
        rows.append(
            [
                str(n),
                i.name,
                Paragraph(x(i.brand_type), style),
                i.serial,
                i.kode_barang,
                i.nup,
                i.condition,
                rupiah(i.value),
                Paragraph(x(i.note) or "-", style),
            ]
        )
    # The total is what the receiving office books into its BMN ledger; units
    # without a known value are named so the sum is not mistaken for complete.
    known = [i.value for i in items if i.value is not None]
    unknown = len(items) - len(known)
    total = rupiah(sum(known)) + (f" (+{unknown} unit tanpa nilai)" if unknown else "")
    rows.append(["", Paragraph(f"<b>Jumlah: {len(items)} unit</b>", style), "", "", "", "", "", total, ""])
    return Table(
        rows,
        repeatRows=1,
        # A note may be 1,000 characters: in its narrow column that row is taller than
        # a page, and a row that may not split makes the whole BAST unrenderable.
        splitInRow=1,
        colWidths=[8 * mm, 17 * mm, 28 * mm, 28 * mm, 19 * mm, 11 * mm, 14 * mm, 22 * mm, 27 * mm],
        style=TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.4, colors.black),
                ("FONTSIZE", (0, 0), (-1, -1), 7.5),
                ("BACKGROUND", (0, 0), (-1, 0), colors.lightgrey),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("SPAN", (1, -1), (6, -1)),
                ("SPAN", (7, -1), (8, -1)),
            ]
        ),
    )


def _qr(url: str) -> Drawing:
    widget = QrCodeWidget(url)
    x0, y0, x1, y1 = widget.getBounds()
    size = 26 * mm
    drawing = Drawing(size, size, transform=[size / (x1 - x0), 0, 0, size / (y1 - y0), 0, 0])
    drawing.add(widget)
    return drawing
