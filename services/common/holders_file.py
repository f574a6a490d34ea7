"""The staff-list file an office keeps (``serah import-holders`` and the office's staff
page read the same one): one row per civil servant, checked row by row with the line it
starts on.

Columns (header row required, names case-insensitive, order free; comma or semicolon
separated; UTF-8 with or without BOM):

    office_code*, nip*, name*, jabatan*, unit*,
    serial | asset_id (optional: the laptop this person holds), condition (optional: B, RR or RB)

Indonesian header names work too (``kode kantor``, ``nama``, ``unit kerja``, ``nomor
seri``, ``kode aset``, ``kondisi``, … see ``ALIASES``)."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from services.common.csvfile import Row, cell, records

REQUIRED = ("office_code", "nip", "name", "jabatan", "unit")
COLUMNS = (*REQUIRED, "serial", "asset_id", "condition")
ALIASES = {
    "kode kantor": "office_code",
    "kode wilayah": "office_code",
    "nip pegawai": "nip",
    "nama": "name",
    "nama pegawai": "name",
    "nama lengkap": "name",
    "unit kerja": "unit",
    "bidang": "unit",
    "nomor seri": "serial",
    "no seri": "serial",
    "kode aset": "asset_id",
    "kondisi": "condition",
}


def row_body(raw: dict[str, str]) -> dict[str, Any]:
    """The checked values of one row, or ValueError with a sentence saying what to fix."""
    from pydantic import ValidationError

    from events import labels, offices
    from events.catalog import SERIAL, Holder

    v = {k: cell(raw.get(k, "")) for k in COLUMNS}
    if offices.get(v["office_code"]) is None:
        raise ValueError(f"office_code {v['office_code']!r} is not an official region code (e.g. 73.71).")
    try:
        # The same model the API and the workers check: free text is refused here, row by row.
        holder = Holder(name=v["name"], nip=v["nip"], jabatan=v["jabatan"], unit=v["unit"])
    except ValidationError as exc:
        first = exc.errors()[0]
        where = str(first["loc"][0]) if first["loc"] else "row"
        hint = " (the 18-digit NIP)" if where == "nip" else ""
        raise ValueError(f"{where}{hint}: {first['msg']}") from None
    if v["serial"] and v["asset_id"]:
        raise ValueError("give the laptop by serial or by asset_id, not both.")
    if v["serial"] and not re.fullmatch(SERIAL, v["serial"]):
        raise ValueError(f"serial {v['serial'][:40]!r} is not a serial (letters, digits and . _ / -, at most 64).")
    asset = v["asset_id"] or (labels.asset_id_for_serial(v["serial"]) if v["serial"] else None)
    if asset is not None and not labels.ASSET_ID.fullmatch(asset):
        raise ValueError(f"asset_id {asset!r} is not an asset id (SRH + 10 characters).")
    condition = (v["condition"] or "B").upper()
    if condition not in ("B", "RR", "RB"):
        raise ValueError(f"condition {v['condition'][:10]!r} must be B, RR or RB.")
    return {
        "office_code": v["office_code"],
        "holder": holder.model_dump(mode="json"),
        "asset_id": asset,
        "condition": condition,
    }


def read_holders(text: str) -> tuple[dict[str, list[Row]], list[Row]]:
    """Every row checked; the good ones grouped by office. A person listed twice in an
    office, or a laptop given to two people, is refused on its later line."""
    rows = list(records(text, COLUMNS, ALIASES, REQUIRED, what="civil servant"))
    by_office: dict[str, list[Row]] = {}
    nips: dict[tuple[str, str], int] = {}
    laptops: dict[str, int] = {}
    for row in rows:
        if row.code is not None:
            continue
        try:
            b = row.body = row_body(row.raw)
        except ValueError as exc:
            row.code, row.reason = "invalid_value", str(exc)
            continue
        key = (b["office_code"], b["holder"]["nip"])
        if key in nips:
            row.body, row.code = None, "duplicate_person"
            row.reason = f"NIP {key[1]} is already listed for office {key[0]} on line {nips[key]}; keep one row."
            continue
        if b["asset_id"] and b["asset_id"] in laptops:
            row.body, row.code = None, "duplicate_laptop"
            row.reason = f"this laptop is already handed out on line {laptops[b['asset_id']]}; one holder each."
            continue
        nips[key] = row.line
        if b["asset_id"]:
            laptops[b["asset_id"]] = row.line
        by_office.setdefault(b["office_code"], []).append(row)
    return by_office, [r for r in rows if r.code is not None]


def request_id(row: Row) -> str:
    """The same row imported again is the same handover (the service replays it)."""
    b = row.body or {}
    digest = hashlib.sha256(repr(sorted((k, str(v)) for k, v in b.items())).encode()).hexdigest()[:16]
    return f"holder-{b.get('asset_id')}-{digest}"
