"""Reading label sheets as a printer and a phone would: poppler renders the PDF
pages to images, zxing-cpp (an independent decoder) reads each label's QR."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import zxingcpp
from PIL import Image

from services.gateway.adapters.label_pdf import LAYOUTS

DPI = 200


def decode_sheet(pdf: bytes, layout_name: str, count: int) -> list[list[str]]:
    """For each label slot 0..count-1, the QR texts found inside that slot's area."""
    layout = LAYOUTS[layout_name]
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "sheet.pdf"
        src.write_bytes(pdf)
        subprocess.run(["pdftoppm", "-r", str(DPI), "-png", str(src), str(Path(tmp) / "p")], check=True, timeout=300)
        pages = sorted(Path(tmp).glob("p-*.png"))
        images = [Image.open(p).convert("L") for p in pages]
    scale = DPI / 72
    found = []
    for i in range(count):
        page, x, y = layout.cell(i)
        image = images[page]
        top = layout.page[1] - y - layout.height
        box = (int(x * scale), int(top * scale), int((x + layout.width) * scale), int((top + layout.height) * scale))
        found.append([r.text for r in zxingcpp.read_barcodes(image.crop(box))])
    assert len(images) == LAYOUTS[layout_name].cell(count - 1)[0] + 1, "unexpected page count"
    return found
