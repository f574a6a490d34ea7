"""Free text is one printable line, at every door: the contract models (so the workers
refuse a command straight off Kafka), the HTTP request models, the CSV importers.
Printable text of any script passes and round-trips; what is served is escaped."""

from __future__ import annotations

import asyncio
import csv
import io
import types
import typing
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from events import catalog, codec, labels
from events.catalog import (
    COMMANDS,
    EVENTS,
    AttestUsage,
    CommandRejected,
    ConfirmReceipt,
    LaptopReceived,
    PlanConsignment,
    ReceiveLaptop,
    RegisterLaptop,
    ReissueLabel,
    ReissueReceiptCode,
)
from events.text import FORBIDDEN, TextChecked, normalise_text, spreadsheet_cell
from services.allocation import handlers as allocation
from services.cli import import_plan, importer
from services.gateway.api.requests import (
    AttestationScanRequest,
    PlanRequest,
    ReceiptRequest,
    ReceiptScanRequest,
    RegisterLaptopRequest,
    ReissueCodeRequest,
    ReissueLabelRequest,
)
from tests.builders import LEGAL_BASIS, OFFICIAL, cmd, code_hash, label_for, new_asset, register
from tests.fakes import allocation_with_fakes

SPECS = {"cpu": "Intel Core i5", "ram_gb": 8, "storage_gb": 256}
LAPTOP = {"serial": "5CG1234XYZ", "brand": "HP", "model": "ProBook 440", "specs": SPECS}
HASH = code_hash()
LABEL = label_for(labels.asset_id_for_serial("5CG1234XYZ"))

# Every free-text field of every command, event and request body, with a valid body around it.
DOORS: list[tuple[type[BaseModel], dict[str, Any], tuple[str | int, ...]]] = [
    (RegisterLaptop, {"laptop": LAPTOP, "label": {"generation": 1, "key_id": "K1"}}, ("laptop", "brand")),
    (RegisterLaptop, {"laptop": LAPTOP, "label": {"generation": 1, "key_id": "K1"}}, ("laptop", "model")),
    (RegisterLaptop, {"laptop": LAPTOP, "label": {"generation": 1, "key_id": "K1"}}, ("laptop", "specs", "cpu")),
    (ReceiveLaptop, {"label": LABEL, "note": "ok"}, ("note",)),
    (AttestUsage, {"label": LABEL, "note": "ok"}, ("note",)),
    (ReissueLabel, {"key_id": "K1", "reason": "lost", "note": "ok"}, ("note",)),
    (ReissueReceiptCode, {"receipt_code_hash": HASH, "reason": "lost"}, ("reason",)),
    (
        PlanConsignment,
        {"office_code": "73.71", "officials": [OFFICIAL], "legal_basis": LEGAL_BASIS, "expected": ["SRH0000000000"]}
        | {"receipt_code_hash": HASH},
        ("officials", 0, "name"),
    ),
    (
        PlanConsignment,
        {"office_code": "73.71", "officials": [OFFICIAL], "legal_basis": LEGAL_BASIS, "expected": ["SRH0000000000"]}
        | {"receipt_code_hash": HASH},
        ("legal_basis", "number"),
    ),
    (
        ConfirmReceipt,
        {"official": OFFICIAL, "receipt_code": "K7Q2M9XP", "lines": [{"asset_id": "SRH0000000000", "note": "ok"}]},
        ("official", "jabatan"),
    ),
    (
        ConfirmReceipt,
        {"official": OFFICIAL, "receipt_code": "K7Q2M9XP", "lines": [{"asset_id": "SRH0000000000", "note": "ok"}]},
        ("lines", 0, "note"),
    ),
    (LaptopReceived, {"office_code": "73.71", "condition": "B", "note": "ok"}, ("note",)),
    (CommandRejected, {"command_type": "x", "reason": "unknown_laptop", "detail": "ok"}, ("detail",)),
    (RegisterLaptopRequest, LAPTOP, ("brand",)),
    (RegisterLaptopRequest, LAPTOP, ("model",)),
    (ReceiptScanRequest, {"scan_id": "s-1", "label": LABEL, "note": "ok"}, ("note",)),
    (AttestationScanRequest, {"scan_id": "s-1", "label": LABEL, "note": "ok"}, ("note",)),
    (ReissueLabelRequest, {"reason": "lost", "note": "ok"}, ("note",)),
    (ReissueCodeRequest, {"request_id": "r-1", "reason": "lost"}, ("reason",)),
    (
        PlanRequest,
        {"consignment_id": "C-1", "office_code": "73.71", "officials": [OFFICIAL], "legal_basis": LEGAL_BASIS}
        | {"expected_count": 3},
        ("officials", 0, "jabatan"),
    ),
    (
        ReceiptRequest,
        {"receipt_id": "r-1", "official": OFFICIAL, "receipt_code": "X", "lines": [{"asset_id": "SRH0000000000"}]},
        ("official", "name"),
    ),
]
DOOR_IDS = [f"{cls.__name__}.{'.'.join(map(str, path))}" for cls, _, path in DOORS]


def with_value(body: dict[str, Any], path: tuple[str | int, ...], value: str) -> dict[str, Any]:
    copy: Any = {k: v for k, v in body.items()}
    node = copy
    for key in path[:-1]:
        node[key] = list(node[key]) if isinstance(node[key], list) else dict(node[key])
        node = node[key]
    node[path[-1]] = value
    return copy  # type: ignore[no-any-return]


def value_at(model: BaseModel, path: tuple[str | int, ...]) -> Any:
    node: Any = model
    for key in path:
        node = node[key] if isinstance(key, int) else getattr(node, key)
    return node


forbidden_chars = st.sampled_from(
    [chr(c) for c in range(0x20)] + ["\x7f", "\x85", "\x9b", "\u2028", "\u2029", "\u202e", "\u2066", "\ud800"]
)


@st.composite
def with_control(draw: st.DrawFn) -> str:
    text = draw(st.text(alphabet=st.characters(codec="utf-8"), max_size=20))
    at = draw(st.integers(0, len(text)))
    return text[:at] + draw(forbidden_chars) + text[at:] + "x"


printable = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cc", "Cs"),
        blacklist_characters="\u2028\u2029\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069",
    ),
    min_size=1,
    max_size=40,
).filter(lambda s: s.strip() != "")


@pytest.mark.parametrize(("cls", "body", "path"), DOORS, ids=DOOR_IDS)
@settings(max_examples=40)
@given(bad=with_control())
def test_a_control_character_in_any_free_text_field_is_refused_naming_the_field(
    cls: type[BaseModel], body: dict[str, Any], path: tuple[str | int, ...], bad: str
) -> None:
    cls.model_validate(body)  # the body around it is valid
    with pytest.raises(ValidationError) as caught:
        cls.model_validate(with_value(body, path, bad))
    error = caught.value.errors()[0]
    assert tuple(error["loc"]) == path
    assert "control" in error["msg"] and "U+" in error["msg"]


@pytest.mark.parametrize(("cls", "body", "path"), DOORS, ids=DOOR_IDS)
@settings(max_examples=40)
@given(text=printable)
def test_printable_text_of_any_script_is_accepted_and_kept_as_nfc_without_surrounding_spaces(
    cls: type[BaseModel], body: dict[str, Any], path: tuple[str | int, ...], text: str
) -> None:
    expected = unicodedata.normalize("NFC", text).strip()
    try:
        model = cls.model_validate(with_value(body, path, text))
    except ValidationError as exc:
        # Only the field's own length limits may refuse printable text.
        assert all(e["type"] in ("string_too_short", "string_too_long") for e in exc.errors()), exc
        return
    assert value_at(model, path) == expected
    assert type(model).model_validate(model.model_dump(mode="json")) == model  # round-trips


@pytest.mark.parametrize(
    "text", ["Kantor Kesbangpol Kab. Pidie", "O'Brien", '<Lenovo> & "Sons"', "Ayu Ṭhāṭi", "Rp 12.500.000", "東芝"]
)
def test_names_as_people_write_them_pass_unchanged(text: str) -> None:
    assert normalise_text(text) == text


def test_decomposed_accents_are_stored_composed_and_spaces_trimmed() -> None:
    assert normalise_text("  Jose\u0301\u00a0") == "José"


def _str_fields(cls: type[BaseModel], seen: set[type[BaseModel]]) -> list[tuple[type[BaseModel], str, Any]]:
    """Every (model, field, info) reachable from ``cls`` whose type holds a str."""
    if cls in seen:
        return []
    seen.add(cls)
    found = []
    for name, info in cls.model_fields.items():
        for arg in _leaves(info.annotation):
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                found += _str_fields(arg, seen)
            elif arg is str:
                found.append((cls, name, info))
    return found


def _leaves(tp: Any) -> list[Any]:
    args = typing.get_args(tp)
    if typing.get_origin(tp) in (typing.Union, types.UnionType, list, dict, tuple) or (args and tp is not str):
        return [leaf for a in args for leaf in _leaves(a)]
    return [tp]


def test_every_contract_model_refuses_control_characters_in_any_string_by_default() -> None:
    seen: set[type[BaseModel]] = set()
    fields = [f for cls in COMMANDS + EVENTS for f in _str_fields(cls, seen)]
    assert len(seen) > len(COMMANDS + EVENTS)  # nested models are reached too
    assert [c.__name__ for c in seen if not issubclass(c, TextChecked)] == []
    raw = sorted(f"{cls.__name__}.{name}" for cls, name, _ in fields if name in cls.RAW_TEXT)  # type: ignore[attr-defined]
    assert raw == [
        "AttestUsage.label",
        "ConfirmAssignment.label",
        "DispatchLaptop.label",
        "MessageDeadLettered.detail",
        "MessageDeadLettered.payload",
        "ReceiveLaptop.label",
        "RecoverLaptop.label",
        "ReturnFromHolder.label",
        "ReturnFromRepair.label",
        "ReturnToWarehouse.label",
        "ScanIntoConsignment.label",
        "SendForRepair.label",
    ]
    # A plain str field, declared neither Text nor with a pattern, is still guarded.
    with pytest.raises(ValidationError, match="U\\+001B"):
        CommandRejected(command_type="x\x1b[31m", reason="unknown_laptop", detail="ok")  # type: ignore[arg-type]


def test_a_command_with_a_control_character_straight_on_kafka_is_rejected_as_invalid_naming_the_field() -> None:
    rt = allocation_with_fakes()
    serial, asset = new_asset()
    good = register(serial, asset)
    data = dict(good.data)
    data["laptop"] = {**data["laptop"], "brand": "Acer\x00Aspire"}
    [event] = asyncio.run(allocation.handle(good.model_copy(update={"data": data}), rt))
    assert event.type == CommandRejected.TYPE
    assert event.data["reason"] == "invalid_command"
    assert "laptop.brand" in event.data["detail"] and "U+0000" in event.data["detail"]
    # Only the refusal is recorded: the laptop is not registered.
    doc = asyncio.run(rt.laptops.store.load(asset))
    assert doc is not None and [e.type for e in doc.history] == [CommandRejected.TYPE]


def test_codec_round_trips_printable_text_byte_for_byte() -> None:
    body = ReceiveLaptop(label=LABEL, note="Layar <retak> & 'engsel' — Ṭhāṭi 東芝")
    envelope = cmd(body, "SRH0000000000")
    assert codec.payload(codec.decode(codec.encode(envelope))) == body


HEADER = "serial,brand,model,cpu,ram_gb,storage_gb"


@settings(max_examples=60)
@given(column=st.sampled_from(["brand", "model", "cpu"]), bad=with_control())
def test_the_csv_importer_refuses_a_control_character_in_any_text_column_naming_it(column: str, bad: str) -> None:
    cells = {"serial": "SN1", "brand": "HP", "model": "ProBook", "cpu": "i5", "ram_gb": "8", "storage_gb": "256"}
    cells[column] = bad
    out = io.StringIO()
    csv.writer(out).writerow(HEADER.split(","))
    csv.writer(out).writerow([cells[c] for c in HEADER.split(",")])
    rows = [r for r in importer.read_rows(out.getvalue()) if r.raw]
    assert len(rows) == 1, rows
    assert rows[0].body is None and rows[0].code == "invalid_value"
    assert rows[0].reason is not None and rows[0].reason.startswith(column) and "U+" in rows[0].reason


def test_the_rejects_csv_shows_control_characters_as_escapes_and_never_runs_a_formula(tmp_path: Path) -> None:
    text = HEADER + "\n" + 'SN1,"Acer\x00Aspire","\x07\x1b[31mRed",=cmd|calc,8,256\n'
    rows = list(importer.read_rows(text))
    out = tmp_path / "rejects.csv"
    importer.write_rejects(out, rows, importer.COLUMNS)
    raw = out.read_text(encoding="utf-8-sig")
    assert all(ch not in raw for ch in ("\x00", "\x07", "\x1b"))
    written = dict(zip(*list(csv.reader(io.StringIO(raw))), strict=False))
    assert written["brand"] == "Acer\\x00Aspire"
    assert written["model"] == "\\x07\\x1b[31mRed"


@given(st.text(max_size=30))
def test_no_spreadsheet_cell_starts_a_formula_or_carries_a_control_character(text: str) -> None:
    cell = spreadsheet_cell(text)
    assert not any(ch in cell for ch in map(chr, range(0x20)))
    bare = cell.lstrip()
    assert not bare.startswith(("=", "+", "-", "@")) or cell.startswith("'")


def test_a_plan_row_with_a_control_character_in_a_name_is_refused_naming_the_column() -> None:
    raw = {
        "consignment_id": "C-1",
        "office_code": "73.71",
        "official_name": "Andi\x1b[2J Pratama",
        "official_nip": "198001012005011001",
        "official_jabatan": "Kepala",
        "legal_basis_kind": "contract",
        "legal_basis_number": "KEP-1",
        "legal_basis_date": "2026-10-01",
        "expected_count": "3",
    }
    with pytest.raises(ValueError, match=r"^official_name: .*U\+001B"):
        import_plan._row_body(raw)
    assert import_plan._row_body({**raw, "official_name": " Andi Pratama "})["official"]["name"] == "Andi Pratama"


@pytest.mark.parametrize("nip", ["١٩٨٠٠١٠١٢٠٠٥٠١١٠٠١", "19800101200501100１"])
def test_digits_of_other_scripts_are_not_digits_of_a_code(nip: str) -> None:
    with pytest.raises(ValidationError):
        catalog.Official(name="A", nip=nip, jabatan="B")
    with pytest.raises(ValidationError):
        catalog.AllocateLaptop(office_code="٧٣.٧١")
    assert FORBIDDEN


def test_every_http_request_body_refuses_control_characters_in_any_string_by_default() -> None:
    from fastapi.routing import APIRoute

    from services.gateway import api

    bodies = [
        r.body_field.field_info.annotation
        for router in api.routers()
        for r in router.routes
        if isinstance(r, APIRoute) and r.body_field is not None
    ]
    assert len(bodies) >= 12
    seen: set[type[BaseModel]] = set()
    for body in bodies:  # a model, or an optional one (a body that may be left out)
        for model in _leaves(body):
            if model is not type(None):
                _str_fields(model, seen)
    assert [c.__name__ for c in seen if not issubclass(c, TextChecked)] == []


@given(st.binary(max_size=256))
def test_bytes_kept_as_text_hold_no_nul_and_keep_every_other_character(raw: bytes) -> None:
    from events.text import storable

    text = raw.decode("utf-8", "replace")
    kept = storable(text)
    assert "\x00" not in kept and len(kept) == len(text)
    assert [c for c in kept if c != "\ufffd"] == [c for c in text if c not in ("\x00", "\ufffd")]
