"""Small builders for commands, events and labels used by unit tests."""

from __future__ import annotations

import re
import secrets
import uuid
from datetime import UTC, datetime
from typing import Any

from events import codec, labels, receipt_codes
from events.catalog import (
    AllocateLaptop,
    DispatchLaptop,
    LabelRef,
    LaptopDescription,
    Payload,
    ReceiveLaptop,
    RegisterLaptop,
    Specs,
)
from events.envelope import Envelope

SEED = secrets.token_bytes(32)
KEYS = {"K1": labels.public_key(SEED)}
NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def new_asset() -> tuple[str, str]:
    serial = "SN" + uuid.uuid4().hex[:10].upper()
    return serial, labels.asset_id_for_serial(serial)


def label_for(asset: str, gen: int = 1, kid: str = "K1", seed: bytes = SEED) -> str:
    return labels.format_label("HTTPS://SERAH.ID", asset, gen, kid, labels.sign(seed, asset, gen, kid))


def cmd(
    body: Payload, asset: str, command_id: str | None = None, actor: str = "tester", time: datetime | None = None
) -> Envelope:
    return codec.make(
        body, subject=asset, source="/test", time=time or NOW, id=command_id or f"c-{uuid.uuid4()}", actor=actor
    )


def register(serial: str, asset: str, gen: int = 1) -> Envelope:
    laptop = LaptopDescription(
        serial=serial, brand="HP", model="ProBook 440", specs=Specs(cpu="i5", ram_gb=8, storage_gb=256)
    )
    return cmd(RegisterLaptop(laptop=laptop, label=LabelRef(generation=gen, key_id="K1")), asset, f"register-{asset}")


def allocate(asset: str, office: str = "32.73", consignment: str | None = None, scan_id: str | None = None) -> Envelope:
    return cmd(AllocateLaptop(office_code=office, consignment_id=consignment), asset, scan_id)


def dispatch(asset: str, scan_id: str | None = None, label: str | None = None) -> Envelope:
    return cmd(DispatchLaptop(label=label or label_for(asset)), asset, scan_id)


def receive(
    asset: str, scan_id: str | None = None, label: str | None = None, time: datetime | None = None, **kw: Any
) -> Envelope:
    return cmd(ReceiveLaptop(label=label or label_for(asset), **kw), asset, scan_id, time=time)


# --- issue 4: consignments ---

OFFICIAL = {"name": "Andi Pratama", "nip": "198001012005011001", "jabatan": "Kepala Badan"}
# who closes (dispatches) consignments in these tests: the BAST's first party
DISPATCHER = {"name": "Dewi Lestari", "nip": "198507152010122002", "jabatan": "Kepala Seksi Distribusi"}
LEGAL_BASIS = {"kind": "allocation_decree", "number": "KEP-12/2026", "date": "2026-10-01"}
RECEIPT_CODE = "K7Q2-M9XP-4RTW-HN3C"
# A code as the gateway shows it: four groups of the alphabet without 0/O, 1/I/L.
SHOWN_CODE = re.compile(r"[A-HJKMNP-Z2-9]{4}(-[A-HJKMNP-Z2-9]{4}){3}")
# The ring receipt codes are hashed with, held by the fakes' gateway and handover.
RECEIPT_CODE_KEYS = {"R1": secrets.token_bytes(32)}


def code_hash(code: str = RECEIPT_CODE) -> str:
    """What travels of ``code``: its keyed hash under RECEIPT_CODE_KEYS."""
    return receipt_codes.mac(RECEIPT_CODE_KEYS, code)


def plan_consignment(
    consignment: str,
    expected: list[str],
    office: str = "73.71",
    command_id: str | None = None,
    warehouse: str | None = None,
    from_office: str | None = None,
    official: dict[str, str] | None = None,
) -> Envelope:
    from events.catalog import PlanConsignment

    body = PlanConsignment(
        office_code=office,
        officials=[official or OFFICIAL],  # type: ignore[list-item]
        legal_basis=LEGAL_BASIS,  # type: ignore[arg-type]
        expected=expected,
        receipt_code_hash=code_hash(),
        warehouse=warehouse,
        from_office=from_office,
    )
    return cmd(body, consignment, command_id)


def scan_into(
    consignment: str,
    asset: str,
    scan_id: str | None = None,
    label: str | None = None,
    from_office: str | None = None,
) -> Envelope:
    from events.catalog import ScanIntoConsignment

    return cmd(ScanIntoConsignment(label=label or label_for(asset), from_office=from_office), consignment, scan_id)


def close_consignment(
    consignment: str,
    command_id: str | None = None,
    dispatcher: dict[str, str] | None = None,
    from_office: str | None = None,
) -> Envelope:
    from events.catalog import CloseConsignment

    body = CloseConsignment(dispatcher=dispatcher or DISPATCHER, from_office=from_office)  # type: ignore[arg-type]
    return cmd(body, consignment, command_id)


def confirm_receipt(
    consignment: str,
    lines: list[tuple[str, str, str]],
    missing: list[str] | None = None,
    official: dict[str, str] | None = None,
    code: str = RECEIPT_CODE,
    command_id: str | None = None,
    time: datetime | None = None,
) -> Envelope:
    from events.catalog import ConfirmReceipt

    body = ConfirmReceipt(
        official=official or OFFICIAL,  # type: ignore[arg-type]
        receipt_code=code,
        lines=[{"asset_id": a, "condition": c, "note": n} for a, c, n in lines],  # type: ignore[misc]
        missing=missing or [],
    )
    return cmd(body, consignment, command_id, time=time)
