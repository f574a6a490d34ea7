"""A request field of the wrong JSON type is refused, not converted: the schema a
client reads says `integer`, `boolean` or a date string, and the gateway holds to it
(lax parsing would read "8" as 8, "true" as True, and 0 or "0" as 1 January 1970)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from services.gateway.api.requests import (
    AttestationScanRequest,
    BulkRegisterRequest,
    PlanRequest,
    RegisterLaptopRequest,
    ScanRequest,
)

LAPTOP = {
    "serial": "5CG1234XYZ",
    "brand": "HP",
    "model": "ProBook",
    "specs": {"cpu": "i5", "ram_gb": 8, "storage_gb": 256},
}
SCAN = {"scan_id": "s-1", "label": "HTTPS://SERAH.ID/L/SRHPPSKGESNAC/1K1/x"}
PLAN = {
    "consignment_id": "KSB-1",
    "office_code": "73.71",
    "officials": [{"name": "Andi", "nip": "198001012005011001", "jabatan": "Kepala"}],
    "legal_basis": {"kind": "contract", "number": "K-1", "date": "2026-10-01"},
    "expected_count": 2,
}


def with_(base: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    import copy

    out = copy.deepcopy(base)
    *parents, last = path.split(".")
    node = out
    for p in parents:
        node = node.setdefault(p, {})
    node[last] = value
    return out


WRONG = [
    (RegisterLaptopRequest, LAPTOP, "warranty_end", 0),
    (RegisterLaptopRequest, LAPTOP, "warranty_end", 1.5),
    (RegisterLaptopRequest, LAPTOP, "warranty_end", "0"),
    (RegisterLaptopRequest, LAPTOP, "warranty_end", "20291231"),
    (RegisterLaptopRequest, LAPTOP, "warranty_end", "2029-12-31T00:00:00Z"),
    (ScanRequest, SCAN, "scanned_at", "0"),
    (ScanRequest, SCAN, "scanned_at", "2026-11-02T09:30:00"),
    (ScanRequest, SCAN, "scanned_at", "2026-11-02"),
    (RegisterLaptopRequest, LAPTOP, "specs.ram_gb", "8"),
    (RegisterLaptopRequest, LAPTOP, "specs.storage_gb", 256.0),
    (RegisterLaptopRequest, LAPTOP, "bmn.nup", "3"),
    (RegisterLaptopRequest, LAPTOP, "bmn.acquisition_value", "9500000"),
    (ScanRequest, SCAN, "scanned_at", 0),
    (ScanRequest, SCAN, "location", {"lat": "1.5", "lon": 2}),
    (AttestationScanRequest, SCAN, "in_use", "true"),
    (AttestationScanRequest, SCAN, "in_use", 1),
    (PlanRequest, PLAN, "legal_basis.date", 20261001),
    (PlanRequest, PLAN, "expected_count", "2"),
    (BulkRegisterRequest, {"laptops": [LAPTOP]}, "wait_s", "1"),
]


@pytest.mark.parametrize(
    ("model", "base", "field", "value"), WRONG, ids=[f"{m.__name__}.{f}={v!r}" for m, _, f, v in WRONG]
)
def test_a_value_of_the_wrong_json_type_is_refused(
    model: type[BaseModel], base: dict[str, Any], field: str, value: Any
) -> None:
    model.model_validate(base)  # the base is fine
    with pytest.raises(ValidationError):
        model.model_validate(with_(base, field, value))


@pytest.mark.parametrize(
    ("model", "base", "field", "value"),
    [
        (RegisterLaptopRequest, LAPTOP, "warranty_end", "2029-12-31"),
        (ScanRequest, SCAN, "scanned_at", "2026-11-02T09:30:00+07:00"),
        (ScanRequest, SCAN, "scanned_at", "2026-11-02T02:30:00.123Z"),
        (ScanRequest, SCAN, "location", {"lat": -5, "lon": 119.4}),
        (PlanRequest, PLAN, "legal_basis.date", "2026-10-01"),
        (BulkRegisterRequest, {"laptops": [LAPTOP]}, "wait_s", 1),
    ],
)
def test_the_right_json_type_is_taken(model: type[BaseModel], base: dict[str, Any], field: str, value: Any) -> None:
    model.model_validate(with_(base, field, value))
