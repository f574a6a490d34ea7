"""Draws the BAST PDF, in Indonesian government format.

Deterministic on purpose: the same receipt renders to the same bytes (reportlab's
``invariant`` mode fixes the creation date and document id), so the SHA-256 kept
in the ReceiptConfirmed event stays valid when the PDF is regenerated.
"""

from __future__ import annotations

from xml.sax.saxutils import escape as x  # reportlab Paragraph text is markup; data is escaped

from reportlab.lib.units import mm
from reportlab.platypus import Flowable, PageBreak, Paragraph, Spacer

from events.catalog import CONDITIONS, LEGAL_KINDS
from services.common.indonesian import tanggal
from services.handover.adapters import paper
from services.handover.bast import ATTACH_OVER, Bast, opening, terbilang


def render(b: Bast) -> bytes:
    s = paper.styles()
    body, small, head, centre = s.body, s.small, s.head, s.centre
    story: list[Flowable] = [
        Paragraph("BERITA ACARA SERAH TERIMA BARANG MILIK NEGARA", head),
        *([Paragraph("(MUTASI ANTARKANTOR)", centre)] if b.transfer else []),
        Paragraph(f"Nomor: {x(b.number)}", centre),
        Spacer(1, 5 * mm),
        Paragraph(f"{opening(b.at)}, bertempat di {x(b.place)}, kami yang bertanda tangan di bawah ini:", body),
        Spacer(1, 2 * mm),
    ]
    for label, role, p in (("I", "PIHAK PERTAMA", b.first), ("II", "PIHAK KEDUA", b.second)):
        story.append(paper.party(label, p, [], body))
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
    table = paper.items_table(b.items, small)
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
        paper.signatures(
            ("PIHAK KEDUA", "Yang Menerima,", b.second.name, f"NIP {b.second.nip}"),
            ("PIHAK PERTAMA", "Yang Menyerahkan,", b.first.name, f"NIP {b.first.nip}"),
        ),
        Spacer(1, 4 * mm),
        paper.verification(b.verify_url, small),
    ]
    if len(b.items) > ATTACH_OVER:
        story += [
            PageBreak(),
            Paragraph(f"LAMPIRAN Berita Acara Serah Terima Nomor {x(b.number)}", head),
            Paragraph(f"Daftar unit yang diterima ({len(b.items)} unit)", centre),
            Spacer(1, 3 * mm),
            table,
        ]
    return paper.build(f"BAST {b.number}", story)
