"""What the API accepts: every request body, on one base (``Body``). Each is checked
at the door as far as a schema can say; the deciding service checks the rest."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import ConfigDict, Field, StrictInt, model_validator

from events import labels
from events.catalog import (
    CONSIGNMENT_ID,
    MAX_CONSIGNMENT_UNITS,
    MAX_ROSTER,
    OFFICE_CODE,
    SERIAL,
    WAREHOUSE_CODE,
    Bmn,
    Condition,
    Holder,
    IsoDate,
    IsoDateTime,
    LabelReissueReason,
    LaptopDescription,
    LegalBasis,
    Location,
    LossKind,
    Official,
    ReceiptLine,
    Specs,
    WriteOffReason,
    laptops_or_a_count,
)
from events.envelope import SAFE_ID
from events.text import Text, TextChecked

MAX_BULK_ROWS = 500


class Body(TextChecked):
    """Every request body: unknown fields are refused, and every text field is checked
    (events/text.py). Named ``Body`` so it never shadows Starlette's ``Request``."""

    model_config = ConfigDict(extra="forbid")


class RegisterLaptopRequest(Body):
    serial: str = Field(pattern=SERIAL, examples=["5CG1234XYZ"])
    brand: Text = Field(min_length=1, max_length=64, examples=["HP"])
    model: Text = Field(min_length=1, max_length=128, examples=["ProBook 440 G9"])
    specs: Specs
    warranty_end: IsoDate | None = None
    bmn: Bmn | None = None

    def laptop(self) -> LaptopDescription:
        return LaptopDescription(
            serial=self.serial,
            brand=self.brand,
            model=self.model,
            specs=self.specs,
            warranty_end=self.warranty_end,
            **({"bmn": self.bmn} if self.bmn else {}),
        )


class AllocationRequest(Body):
    office_code: str = Field(pattern=OFFICE_CODE, examples=["32.73"])
    consignment_id: str | None = Field(default=None, pattern=CONSIGNMENT_ID)


class ScanRequest(Body):
    scan_id: str = Field(
        pattern=SAFE_ID,
        description="Made on the scanning device (a UUID is best) and kept for retries: the same scan id is "
        "the same scan, however often it is sent.",
    )
    RAW_TEXT = frozenset({"label"})  # judged by events.labels.parse, which names the reason
    label: str = Field(min_length=1, max_length=512, description="The QR text exactly as scanned.")
    location: Location | None = None
    scanned_at: IsoDateTime | None = Field(default=None, description="When the device scanned; defaults to now.")


class DispatchScanRequest(ScanRequest):
    pass


class ReceiptScanRequest(ScanRequest):
    condition: Condition = Condition.B
    note: Text = Field(default="", max_length=1000)


class AttestationScanRequest(ScanRequest):
    condition: Condition = Condition.B
    in_use: bool = Field(default=True, strict=True)
    note: Text = Field(default="", max_length=1000)
    attested_by: Official | None = Field(
        default=None,
        description="Who attests, when an office's device scans for them (the holder, as a rule); a signed-in "
        "person attests as themselves and may leave it out.",
    )


class ReissueLabelRequest(Body):
    reason: LabelReissueReason = Field(description="Why the label is replaced: lost, damaged, stolen, …")
    note: Text = Field(default="", max_length=1000, examples=["Stiker terkelupas saat pengiriman"])


class ManifestRequest(Body):
    receipt_code: str | None = Field(default=None, min_length=1, max_length=64)


class BulkRegisterRequest(Body):
    laptops: list[dict[str, Any]] = Field(
        min_length=1,
        max_length=MAX_BULK_ROWS,
        description="Each item has the shape of POST /api/v1/laptops; each is validated on its own.",
    )
    batch: str | None = Field(
        default=None, pattern=CONSIGNMENT_ID, description="Import batch name, to print its labels."
    )
    wait_s: float = Field(default=30, ge=0, le=120, strict=True, description="How long to wait for the decisions.")


# --- consignments ---


class PlanRequest(Body):
    consignment_id: str = Field(pattern=CONSIGNMENT_ID)
    office_code: str = Field(pattern=r"^[0-9]{2}(\.[0-9]{2})?$")
    officials: list[Official] = Field(min_length=1, max_length=10)
    legal_basis: LegalBasis
    warehouse: str | None = Field(
        default=None,
        pattern=WAREHOUSE_CODE,
        description="The warehouse it is picked at (`G-JKT1`): only grants of that warehouse (or `*`) pick and "
        "dispatch it. None: any warehouse.",
    )
    # Exactly one of the two, said in the schema as well as checked below.
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "oneOf": [
                {
                    "required": ["expected"],
                    "properties": {"expected": {"minItems": 1}, "expected_count": {"type": "null"}},
                },
                {
                    "required": ["expected_count"],
                    "properties": {"expected": {"maxItems": 0}, "expected_count": {"type": "integer"}},
                },
            ]
        },
    )
    expected: list[Annotated[str, Field(pattern=labels.ASSET_ID.pattern)]] = Field(
        default_factory=list,
        max_length=MAX_CONSIGNMENT_UNITS,
        description="The laptops (asset ids) of the consignment; or leave it out and give `expected_count`.",
    )
    expected_count: StrictInt | None = Field(
        default=None,
        ge=1,
        le=MAX_CONSIGNMENT_UNITS,
        description="A number of laptops, filled at picking: any unallocated laptop scanned in counts. "
        "Give this or `expected`, not both.",
    )

    @model_validator(mode="after")
    def _laptops_or_a_count(self) -> PlanRequest:
        laptops_or_a_count(self.expected, self.expected_count)  # the command's own rule, checked at the door
        return self


class ConsignmentScanRequest(ScanRequest):
    """A laptop scanned into a consignment: a scan like any other, about the consignment."""


class CloseRequest(Body):
    dispatcher: Official | None = Field(
        default=None,
        description="The official who dispatches (the BAST's PIHAK PERTAMA). Required when a device "
        "closes; a signed-in official dispatches as themselves and may leave it out.",
    )


class ReceiptRequest(Body):
    receipt_id: str = Field(pattern=SAFE_ID, description="Made by the device; the same id is the same receipt.")
    official: Official
    receipt_code: str = Field(min_length=1, max_length=64)
    lines: list[ReceiptLine] = Field(min_length=1, max_length=5000)
    missing: list[str] = Field(default_factory=list, max_length=5000)


class ReissueCodeRequest(Body):
    request_id: str = Field(pattern=SAFE_ID, description="Made by the client; the same id is the same re-issue.")
    reason: Text = Field(min_length=1, max_length=500, examples=["the driver lost the manifest"])


# --- after receipt: holders, repair, loss, return, write-off, staff lists, transfers ---


class AssignRequest(Body):
    request_id: str = Field(pattern=SAFE_ID, description="Made by the client; the same id is the same handing over.")
    holder: Holder
    condition: Condition = Condition.B
    note: Text = Field(default="", max_length=1000)
    assigned_by: Official | None = Field(
        default=None,
        description="The official who hands it over (the berita acara's first party). Required when a device "
        "asks; a signed-in official hands over as themselves and may leave it out.",
    )


class HolderConfirmScanRequest(ScanRequest):
    """The holder's own scan: who confirms is the signed-in person, never a field."""


class HolderReturnScanRequest(ScanRequest):
    condition: Condition = Condition.B
    note: Text = Field(default="", max_length=1000)


class RepairOutScanRequest(ScanRequest):
    vendor: Text = Field(min_length=1, max_length=200, examples=["CV Mitra Servis Makassar"])
    reason: Text = Field(min_length=1, max_length=1000, examples=["layar mati"])
    condition: Condition = Condition.RR


class RepairBackScanRequest(ScanRequest):
    condition: Condition = Condition.B
    note: Text = Field(default="", max_length=1000)


class RecoveryScanRequest(ScanRequest):
    condition: Condition = Condition.B
    note: Text = Field(default="", max_length=1000, examples=["ditemukan di gudang arsip"])


class WarehouseReturnScanRequest(ScanRequest):
    condition: Condition = Condition.B
    note: Text = Field(default="", max_length=1000)
    warehouse: str | None = Field(default=None, pattern=WAREHOUSE_CODE, description="The warehouse it came back to.")


class LossReportRequest(Body):
    request_id: str = Field(pattern=SAFE_ID, description="Made by the client; the same id is the same report.")
    kind: LossKind
    circumstances: Text = Field(min_length=1, max_length=2000, examples=["dicuri dari mobil dinas"])
    police_report: Text | None = Field(default=None, min_length=1, max_length=128, examples=["LP/123/XI/2026"])
    lost_on: IsoDate | None = None


class WriteOffProposalRequest(Body):
    request_id: str = Field(pattern=SAFE_ID, description="Made by the client; the same id is the same proposal.")
    reason: WriteOffReason
    note: Text = Field(default="", max_length=1000)
    proposer: Official | None = Field(
        default=None,
        description="The official who proposes. Required when a device asks; a signed-in official proposes "
        "as themselves and may leave it out.",
    )


class WriteOffApprovalRequest(Body):
    request_id: str = Field(pattern=SAFE_ID, description="Made by the client; the same id is the same approval.")
    decree_number: Text | None = Field(default=None, min_length=1, max_length=128, description="SK penghapusan.")
    note: Text = Field(default="", max_length=1000)


class WriteOffDeclineRequest(Body):
    request_id: str = Field(pattern=SAFE_ID, description="Made by the client; the same id is the same decision.")
    reason: Text = Field(min_length=1, max_length=1000)


class RosterRequest(Body):
    members: list[Holder] = Field(max_length=MAX_ROSTER, description="Everyone who may hold the office's laptops.")


class TransferRequest(Body):
    consignment_id: str = Field(pattern=CONSIGNMENT_ID, examples=["MUT-7371-7372-001"])
    from_office: str = Field(pattern=OFFICE_CODE, description="The office that holds the laptops and hands them over.")
    office_code: str = Field(pattern=OFFICE_CODE, description="The office that receives them.")
    officials: list[Official] = Field(min_length=1, max_length=10, description="Who may sign for the receipt.")
    legal_basis: LegalBasis
    expected: list[Annotated[str, Field(pattern=labels.ASSET_ID.pattern)]] = Field(
        min_length=1, max_length=MAX_CONSIGNMENT_UNITS, description="The laptops (asset ids) that move."
    )
