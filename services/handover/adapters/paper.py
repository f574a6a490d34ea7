"""What every official document Serah draws shares: an A4 page in reportlab's
``invariant`` mode (a fixed creation date and document id, so the same content renders
to the same bytes and the SHA-256 kept in its fact stays valid), the type styles, the
table of items with its BMN fields and total, the signature block and the verification
QR. The BAST (``bast_pdf``), the holder's berita acara and the write-off proposal
(``document_pdf``) are built from these."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape as x  # reportlab Paragraph text is markup; data is escaped

from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Table, TableStyle

from services.handover.bast import Item, Party, rupiah


@dataclass(frozen=True)
class Styles:
    body: ParagraphStyle
    small: ParagraphStyle
    head: ParagraphStyle
    centre: ParagraphStyle


def styles() -> Styles:
    ss = getSampleStyleSheet()
    body = ParagraphStyle("body", parent=ss["Normal"], fontSize=10, leading=13)
    small = ParagraphStyle("small", parent=body, fontSize=7.5, leading=9)
    head = ParagraphStyle("head", parent=ss["Title"], fontSize=13, leading=16, spaceAfter=2)
    centre = ParagraphStyle("centre", parent=body, alignment=1)
    return Styles(body, small, head, centre)


def build(title: str, story: list[Flowable]) -> bytes:
    """``story`` drawn on A4 pages with the margins of Indonesian official letters."""
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        invariant=1,
        title=title,
        author="Serah",
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
    )
    doc.build(story)
    return out.getvalue()


def signatures(left: tuple[str, str, str, str], right: tuple[str, str, str, str]) -> Table:
    """Two signature columns, each (heading, role, name, NIP line), with room to sign."""
    return Table(
        [[left[0], right[0]], [left[1], right[1]], ["", ""], ["", ""], [left[2], right[2]], [left[3], right[3]]],
        colWidths=[85 * mm, 85 * mm],
        rowHeights=[5 * mm, 5 * mm, 10 * mm, 10 * mm, 5 * mm, 5 * mm],
        style=TableStyle([("ALIGN", (0, 0), (-1, -1), "CENTER"), ("FONTSIZE", (0, 0), (-1, -1), 10)]),
    )


def verification(url: str, small: ParagraphStyle) -> Table:
    """The QR anyone scans to check a printed copy against its record, and its address."""
    return Table(
        [[qr(url), Paragraph(f"Verifikasi / verify: {x(url)}", small)]],
        colWidths=[30 * mm, 140 * mm],
        hAlign="LEFT",
        style=TableStyle([("VALIGN", (0, 0), (-1, -1), "MIDDLE")]),
    )


def party(label: str, p: Party, extra: list[list[str]], body: ParagraphStyle) -> Table:
    """A party's lines: name, NIP, jabatan, any ``extra`` rows, and the office they act for."""
    return Table(
        [
            [f"{label}.", "Nama", f": {p.name}"],
            ["", "NIP", f": {p.nip}"],
            ["", "Jabatan", f": {p.jabatan}"],
            *extra,
            ["", "Instansi", Paragraph(f": {x(p.office)}", body)],
        ],
        colWidths=[8 * mm, 25 * mm, 140 * mm],
        hAlign="LEFT",
        style=TableStyle([("FONTSIZE", (0, 0), (-1, -1), 10), ("VALIGN", (0, 0), (-1, -1), "TOP")]),
    )


def items_table(items: list[Item], style: ParagraphStyle) -> Table:
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


def qr(url: str) -> Drawing:
    widget = QrCodeWidget(url)
    x0, y0, x1, y1 = widget.getBounds()
    size = 26 * mm
    drawing = Drawing(size, size, transform=[size / (x1 - x0), 0, 0, size / (y1 - y0), 0, 0])
    drawing.add(widget)
    return drawing
