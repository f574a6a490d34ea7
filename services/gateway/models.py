"""HTTP bodies, named for their direction; kept apart from events and stored documents."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from events.catalog import CONSIGNMENT_ID, OFFICE_CODE, SERIAL, Bmn, Condition, IsoDate, IsoDateTime, Location, Specs
from events.envelope import SAFE_ID
from events.text import Text, TextChecked


class Request(TextChecked):
    model_config = ConfigDict(extra="forbid")


class RegisterLaptopRequest(Request):
    serial: str = Field(pattern=SERIAL, examples=["5CG1234XYZ"])
    brand: Text = Field(min_length=1, max_length=64, examples=["HP"])
    model: Text = Field(min_length=1, max_length=128, examples=["ProBook 440 G9"])
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
    RAW_TEXT = frozenset({"label"})  # judged by events.labels.parse, which names the reason
    label: str = Field(min_length=1, max_length=512, description="The QR text exactly as scanned.")
    location: Location | None = None
    actor: str = Field(default="anonymous", pattern=SAFE_ID, description="Who scanned (until sign-in exists).")
    scanned_at: IsoDateTime | None = Field(default=None, description="When the device scanned; defaults to now.")


class DispatchScanRequest(ScanRequest):
    pass


class ReceiptScanRequest(ScanRequest):
    condition: Condition = Condition.B
    note: Text = Field(default="", max_length=1000)


class EventPublic(BaseModel):
    id: str
    type: str
    time: str
    actor: str
    scan_id: str | None = Field(description="The command (scan) id that caused it.")
    source: str
    data: dict[str, Any]


class ChainVerdictPublic(BaseModel):
    """Whether a chain verifies as it is read now: computed on every read by the code
    ``serah verify`` runs (events/proofs.py), never taken from a stored flag."""

    status: Literal["verified", "broken"]
    broken_at_seq: int | None = Field(description="The first event that does not verify; null if verified.")
    event_id: str | None = Field(description="That event's id, when one can be named.")
    reason: str | None = Field(description="What is wrong, in a sentence; null if verified.")
    checkpoint_id: str | None = Field(
        description="The signed checkpoint that vouches for the chain up to signed_to_seq."
    )
    signed_to_seq: int = Field(
        description="Events 1…signed_to_seq are the history that checkpoint signed; later ones are not signed yet."
    )


class HistoryEntry(EventPublic):
    seq: int
    hash: str
    prev_hash: str
    chain: Literal["verified", "broken"] = Field(description="broken from the first event that does not verify on.")


class LaptopHistory(BaseModel):
    asset_id: str
    chain: ChainVerdictPublic
    events: list[HistoryEntry]


class TimelineEntry(BaseModel):
    seq: int
    id: str
    type: str
    time: str
    actor: str | None
    scan_id: str | None
    place: dict[str, Any] = Field(description="office_code and location (lat, lon) where the event has them.")
    hash: str
    chain: Literal["verified", "broken"]
    checkpointed: bool = Field(description="Verified and signed by the newest checkpoint.")


class LaptopTimeline(BaseModel):
    asset_id: str
    chain: ChainVerdictPublic
    events: list[TimelineEntry]


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
