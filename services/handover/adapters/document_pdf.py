"""Draws the holder's berita acara and the write-off proposal, in Indonesian government
format, deterministically (reportlab's ``invariant`` mode), like the BAST: the same fact
renders to the same bytes, so the SHA-256 recorded in it stays valid."""

from __future__ import annotations

from xml.sax.saxutils import escape as x  # reportlab Paragraph text is markup; data is escaped

from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph, Spacer, Table

from events.catalog import CONDITIONS
from services.handover.adapters import paper
from services.handover.bast import opening
from services.handover.documents import WRITE_OFF_REASONS, Assignment, Document, WriteOffProposal


def render(d: Document) -> bytes:
    s = paper.styles()
    body, small, head, centre = s.body, s.small, s.head, s.centre
    story = _assignment(d, body, head, centre) if isinstance(d, Assignment) else _proposal(d, body, head, centre)
    story += [
        paper.items_table([d.item], small),
        Spacer(1, 6 * mm),
        _signatures(d),
        Spacer(1, 4 * mm),
        paper.verification(d.verify_url, small),
    ]
    return paper.build(d.number, story)


def _assignment(d: Assignment, body: ParagraphStyle, head: ParagraphStyle, centre: ParagraphStyle) -> list[Flowable]:
    return [
        Paragraph("BERITA ACARA SERAH TERIMA BARANG MILIK NEGARA KEPADA PEMEGANG", head),
        Paragraph(f"Nomor: {x(d.number)}", centre),
        Spacer(1, 5 * mm),
        Paragraph(f"{opening(d.at)}, bertempat di {x(d.place)}, kami yang bertanda tangan di bawah ini:", body),
        Spacer(1, 2 * mm),
        paper.party("I", d.first, [], body),
        Paragraph("selanjutnya disebut <b>PIHAK PERTAMA</b>, atas nama kantor tersebut.", body),
        Spacer(1, 2 * mm),
        paper.party("II", d.holder, [["", "Unit kerja", f": {d.unit}"]], body),
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
        paper.party("", d.proposer, [], body),
        Spacer(1, 2 * mm),
        Paragraph(
            "mengusulkan penghapusan barang milik negara berikut dari daftar barang, dengan alasan: "
            f"<b>{x(WRITE_OFF_REASONS[d.reason])}</b>.{note} Usulan ini berlaku setelah disetujui oleh pejabat "
            "lain yang berwenang; sesudah disetujui, label QR barang dicabut.",
            body,
        ),
        Spacer(1, 2 * mm),
    ]


def _signatures(d: Document) -> Table:
    if isinstance(d, Assignment):
        return paper.signatures(
            ("PIHAK KEDUA", "Yang Menerima,", d.holder.name, f"NIP {d.holder.nip}"),
            ("PIHAK PERTAMA", "Yang Menyerahkan,", d.first.name, f"NIP {d.first.nip}"),
        )
    return paper.signatures(
        ("", "", "", ""), ("Yang Mengusulkan,", d.proposer.jabatan, d.proposer.name, f"NIP {d.proposer.nip}")
    )
