"""Draws the holder's berita acara and the write-off proposal, in Indonesian government
format, deterministically (reportlab's ``invariant`` mode), like the BAST: the same fact
renders to the same bytes, so the SHA-256 recorded in it stays valid."""

from __future__ import annotations

import io
from xml.sax.saxutils import escape as x  # reportlab Paragraph text is markup; data is escaped

from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from events.catalog import CONDITIONS
from services.handover.adapters.bast_pdf import _items_table, _qr
from services.handover.bast import Party, opening
from services.handover.documents import WRITE_OFF_REASONS, Assignment, Document, WriteOffProposal


def render(d: Document) -> bytes:
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        invariant=1,
        title=d.number,
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
    story = _assignment(d, body, head, centre) if isinstance(d, Assignment) else _proposal(d, body, head, centre)
    story += [
        _items_table([d.item], small),
        Spacer(1, 6 * mm),
        *_signatures(d),
        Spacer(1, 4 * mm),
        Table(
            [[_qr(d.verify_url), Paragraph(f"Verifikasi / verify: {x(d.verify_url)}", small)]],
            colWidths=[30 * mm, 140 * mm],
            hAlign="LEFT",
            style=TableStyle([("VALIGN", (0, 0), (-1, -1), "MIDDLE")]),
        ),
    ]
    doc.build(story)
    return out.getvalue()


def _party(label: str, p: Party, extra: list[list[str]], body: ParagraphStyle) -> Table:
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


def _assignment(d: Assignment, body: ParagraphStyle, head: ParagraphStyle, centre: ParagraphStyle) -> list[Flowable]:
    return [
        Paragraph("BERITA ACARA SERAH TERIMA BARANG MILIK NEGARA KEPADA PEMEGANG", head),
        Paragraph(f"Nomor: {x(d.number)}", centre),
        Spacer(1, 5 * mm),
        Paragraph(f"{opening(d.at)}, bertempat di {x(d.place)}, kami yang bertanda tangan di bawah ini:", body),
        Spacer(1, 2 * mm),
        _party("I", d.first, [], body),
        Paragraph("selanjutnya disebut <b>PIHAK PERTAMA</b>, atas nama kantor tersebut.", body),
        Spacer(1, 2 * mm),
        _party("II", d.holder, [["", "Unit kerja", f": {d.unit}"]], body),
        Paragraph("selanjutnya disebut <b>PIHAK KEDUA</b> (pemegang).", body),
        Spacer(1, 2 * mm),
        Paragraph(
            "PIHAK PERTAMA menyerahkan kepada PIHAK KEDUA untuk digunakan dalam pelaksanaan tugas, dan PIHAK KEDUA "
            f"menerima, barang milik negara berupa 1 (satu) unit laptop dalam kondisi "
            f"{CONDITIONS[d.item.condition]} dengan rincian sebagai berikut:",
            body,
        ),
        Spacer(1, 2 * mm),
    ]


def _proposal(
    d: WriteOffProposal, body: ParagraphStyle, head: ParagraphStyle, centre: ParagraphStyle
) -> list[Flowable]:
    note = f" Keterangan: {x(d.note)}." if d.note else ""
    return [
        Paragraph("USULAN PENGHAPUSAN BARANG MILIK NEGARA", head),
        Paragraph(f"Nomor: {x(d.number)}", centre),
        Spacer(1, 5 * mm),
        Paragraph(f"{opening(d.at)}, bertempat di {x(d.place)}, yang bertanda tangan di bawah ini:", body),
        Spacer(1, 2 * mm),
        _party("", d.proposer, [], body),
        Spacer(1, 2 * mm),
        Paragraph(
            "mengusulkan penghapusan barang milik negara berikut dari daftar barang, dengan alasan: "
            f"<b>{x(WRITE_OFF_REASONS[d.reason])}</b>.{note} Usulan ini berlaku setelah disetujui oleh pejabat "
            "lain yang berwenang; sesudah disetujui, label QR barang dicabut.",
            body,
        ),
        Spacer(1, 2 * mm),
    ]


def _signatures(d: Document) -> list[Flowable]:
    style = TableStyle([("ALIGN", (0, 0), (-1, -1), "CENTER"), ("FONTSIZE", (0, 0), (-1, -1), 10)])
    heights = [5 * mm, 5 * mm, 10 * mm, 10 * mm, 5 * mm, 5 * mm]
    if isinstance(d, Assignment):
        rows = [
            ["PIHAK KEDUA", "PIHAK PERTAMA"],
            ["Yang Menerima,", "Yang Menyerahkan,"],
            ["", ""],
            ["", ""],
            [d.holder.name, d.first.name],
            [f"NIP {d.holder.nip}", f"NIP {d.first.nip}"],
        ]
        return [Table(rows, colWidths=[85 * mm, 85 * mm], rowHeights=heights, style=style)]
    rows = [
        ["", "Yang Mengusulkan,"],
        ["", d.proposer.jabatan],
        ["", ""],
        ["", ""],
        ["", d.proposer.name],
        ["", f"NIP {d.proposer.nip}"],
    ]
    return [Table(rows, colWidths=[85 * mm, 85 * mm], rowHeights=heights, style=style)]
