"""HTTP bodies, named for their direction; kept apart from events and stored documents."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from events.catalog import CONSIGNMENT_ID, OFFICE_CODE, SERIAL, Bmn, Condition, IsoDate, IsoDateTime, Location, Specs
from events.envelope import SAFE_ID


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RegisterLaptopRequest(Request):
    serial: str = Field(pattern=SERIAL, examples=["5CG1234XYZ"])
    brand: str = Field(min_length=1, max_length=64, examples=["HP"])
    model: str = Field(min_length=1, max_length=128, examples=["ProBook 440 G9"])
    specs: Specs
    warranty_end: IsoDate | None = None
    bmn: Bmn | None = None


class AllocationRequest(Request):
    office_code: str = Field(pattern=OFFICE_CODE, examples=["32.73"])
    consignment_id: str | None = Field(default=None, pattern=CONSIGNMENT_ID)


class ScanRequest(Request):
    scan_id: str = Field(
        pattern=SAFE_ID,
        description="Made on the scanning device (a UUID is best) and kept for retries: the same scan id is "
        "the same scan, however often it is sent.",
    )
    label: str = Field(min_length=1, max_length=512, description="The QR text exactly as scanned.")
    location: Location | None = None
    actor: str = Field(default="anonymous", pattern=SAFE_ID, description="Who scanned (until sign-in exists).")
    scanned_at: IsoDateTime | None = Field(default=None, description="When the device scanned; defaults to now.")


class DispatchScanRequest(ScanRequest):
    pass


class ReceiptScanRequest(ScanRequest):
    condition: Condition = Condition.B
    note: str = Field(default="", max_length=1000)


class EventPublic(BaseModel):
    id: str
    type: str
    time: str
    actor: str
    scan_id: str | None = Field(description="The command (scan) id that caused it.")
    source: str
    data: dict[str, Any]


class HistoryEntry(EventPublic):
    seq: int
    hash: str
    prev_hash: str


class DecisionResponse(BaseModel):
    decision: Literal["accepted", "rejected", "pending", "duplicate"]
    scan_id: str
    asset_id: str
    reason: str | None = None
    detail: str | None = None
    event: EventPublic | None = None
    status_url: str


class LaptopPublic(BaseModel):
    asset_id: str
    serial: str | None
    brand: str | None
    model: str | None
    status: str
    office_code: str | None
    office_name: str | None
    consignment_id: str | None
    condition: str | None
    label_url: str | None
    qr_svg_url: str
    qr_png_url: str
    rejections: int
    last_event_at: str | None


class OfficePublic(BaseModel):
    code: str
    name: str
    region_name: str
    level: str
    province_code: str


class PublicKey(BaseModel):
    key_id: str
    algorithm: Literal["Ed25519"] = "Ed25519"
    public_key: str = Field(description="32 raw bytes, base64url without padding")
    active: bool


class Problem(BaseModel):
    """RFC 9457 problem details, with a stable machine-readable ``code``. ``status``
    and ``title`` are always those of the HTTP response. A refused command also
    carries ``decision`` ("rejected"), ``scan_id``, ``asset_id``, the recorded
    rejection ``event`` and its ``status_url``."""

    type: str = "about:blank"
    title: str = Field(description="The standard phrase of `status`.")
    status: int = Field(ge=400, le=599, description="The HTTP status of this response.")
    code: str = Field(description="Stable and machine-readable: switch on it.")
    detail: str = Field(description="One sentence saying what is wrong and what to do.")
    errors: list[dict[str, Any]] | None = Field(default=None, description="For `invalid_request`: each bad field.")
    decision: Literal["rejected"] | None = None
    scan_id: str | None = None
    asset_id: str | None = None
    event: EventPublic | None = None
    status_url: str | None = None
