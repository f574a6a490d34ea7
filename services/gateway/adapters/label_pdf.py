"""Print-ready label sheets, drawn with reportlab.

Layouts (all A4 sheets match common sticker stock):
- ``a4-3x8``: 24 labels of 70 × 37 mm, no margins (e.g. Avery 3474);
- ``a4-2x7``: 14 labels of 99.1 × 38.1 mm (e.g. Avery L7163);
- ``thermal-50x30``: one 50 × 30 mm label per page, for label printers.

Each label: the QR (drawn as vector runs, so it prints sharp at any DPI and
the PDF stays small), the asset code, the serial, BMN kode barang and NUP when
known, "Barang Milik Negara" and the owning office. Labels fill a sheet row by
row, left to right, top to bottom, in the order given.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import zxingcpp
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfgen.canvas import Canvas

QUIET_MODULES = 2  # the sticker's own white edge adds to this quiet zone


@dataclass(frozen=True)
class Layout:
    name: str
    page: tuple[float, float]
    columns: int
    rows: int
    width: float
    height: float
    left: float
    top: float
    gap_x: float = 0.0
    gap_y: float = 0.0

    @property
    def per_page(self) -> int:
        return self.columns * self.rows

    def cell(self, index: int) -> tuple[int, float, float]:
        """(page, x, y) of label ``index``: x, y of the label's lower-left corner in points."""
        page, slot = divmod(index, self.per_page)
        row, col = divmod(slot, self.columns)
        x = self.left + col * (self.width + self.gap_x)
        y = self.page[1] - self.top - (row + 1) * self.height - row * self.gap_y
        return page, x, y


LAYOUTS = {
    "a4-3x8": Layout("a4-3x8", A4, 3, 8, 70 * mm, 37 * mm, 0, (297 - 8 * 37) / 2 * mm),
    "a4-2x7": Layout("a4-2x7", A4, 2, 7, 99.1 * mm, 38.1 * mm, 4.65 * mm, 15.15 * mm, gap_x=2.5 * mm),
    "thermal-50x30": Layout("thermal-50x30", (50 * mm, 30 * mm), 1, 1, 50 * mm, 30 * mm, 0, 0),
}


@dataclass(frozen=True)
class LabelPrint:
    asset_id: str
    serial: str
    label_url: str
    kode_barang: str | None = None
    nup: int | None = None
    office_name: str | None = None


def _qr_runs(text: str) -> tuple[int, list[tuple[int, int, int]]]:
    """The QR's size in modules and its dark runs (row, first column, length).
    zxing-cpp encodes (C++: a sheet of labels is mostly QR work, ~0.4 ms a code
    against ~25 ms in pure Python), at error correction M like the label's PNG/SVG."""
    image = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode, ec_level="M").to_image(
        scale=1, add_quiet_zones=False
    )
    n = image.shape[0]
    pixels = memoryview(cast(Any, image)).tobytes()  # one byte per module, 0 = dark
    return n, [
        (y, run.start() - y * n, run.end() - run.start())
        for y in range(n)
        for run in _DARK.finditer(pixels, y * n, (y + 1) * n)
    ]


_DARK = re.compile(b"\x00+")


def _draw_qr(c: Canvas, text: str, x: float, y: float, size: float) -> None:
    n, runs = _qr_runs(text)
    module = size / (n + 2 * QUIET_MODULES)
    ox, oy = x + QUIET_MODULES * module, y + size - QUIET_MODULES * module
    path = c.beginPath()
    for row, start, length in runs:
        path.rect(ox + start * module, oy - (row + 1) * module, length * module, module)
    c.drawPath(path, stroke=0, fill=1)


def _draw_label(c: Canvas, layout: Layout, label: LabelPrint, x: float, y: float) -> None:
    pad = 1.5 * mm
    qr_size = layout.height - 2 * pad
    _draw_qr(c, label.label_url, x + pad, y + pad, qr_size)
    tx = x + pad + qr_size + 1 * mm
    width = layout.width - (tx - x) - pad
    big = 8.5 if layout.width > 60 * mm else 7
    small = 6 if layout.width > 60 * mm else 5
    ty = y + layout.height - pad - big
    c.setFont("Helvetica-Bold", big)
    c.drawString(tx, ty, label.asset_id)
    lines: list[tuple[str, float, str]] = [(f"SN {label.serial}", small, "Helvetica")]
    if label.kode_barang:
        nup = f" NUP {label.nup}" if label.nup is not None else ""
        lines.append((f"{label.kode_barang}{nup}", small, "Helvetica"))
    lines.append(("Barang Milik Negara", small, "Helvetica-Bold"))
    ty -= 2
    bottom = y + pad - 1
    room = ty - len(lines) * (small + 1) - bottom
    office = label.office_name or "Belum dialokasikan"
    lines += [(part, size, "Helvetica") for part, size in _fit(office, width, room, small)]
    for text, size, font in lines:
        ty -= size + 1
        if ty < bottom:
            break
        c.setFont(font, size)
        c.drawString(tx, ty, simpleSplit(text, font, size, width)[0] if text else "")


def _fit(text: str, width: float, height: float, size: float, smallest: float = 4.0) -> list[tuple[str, float]]:
    """The owning office's name is what tells a finder whose property this is, so
    it shrinks to fit the space left (long regency names: "Kabupaten Kepulauan
    Siau Tagulandang Biaro") before it is cut; only then the last line ends in "…"."""
    while True:
        parts = simpleSplit(text, "Helvetica", size, width)
        fits = int(height // (size + 1))
        if len(parts) <= fits or size <= smallest:
            break
        size -= 0.5
    if len(parts) > fits:
        parts = parts[: max(fits, 1)]
        parts[-1] = parts[-1].rstrip() + "…"
    return [(part, size) for part in parts]


def render(labels: Sequence[LabelPrint], layout_name: str, on_label: Callable[[int], None] | None = None) -> bytes:
    """The PDF. ``on_label(i)`` is called after each label (for progress bars)."""
    layout = LAYOUTS[layout_name]
    buf = io.BytesIO()
    c = Canvas(buf, pagesize=layout.page, pageCompression=1)
    c.setTitle("Label Serah")
    c.setAuthor("Serah")
    current_page = 0
    for i, label in enumerate(labels):
        page, x, y = layout.cell(i)
        if page != current_page:
            c.showPage()
            current_page = page
        _draw_label(c, layout, label, x, y)
        if on_label is not None:
            on_label(i)
    c.showPage()
    c.save()
    return buf.getvalue()
