"""What the API answers (every route has a response model, so the OpenAPI document
describes every answer); kept apart from events and stored documents. Error bodies are
``Problem`` (RFC 9457)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from events.envelope import SubjectKind


class EventPublic(BaseModel):
    id: str
    type: str
    time: str
    actor: str
    command_id: str | None = Field(description="The id of the command (for a scan, its scan_id) that caused it.")
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


class WhoActed(BaseModel):
    """Who the recorded ``actor`` is, looked up when the history is read."""

    actor_name: str = Field(
        description="The person's or device's name; the actor itself where it names neither (`system`)."
    )
    actor_nip: str | None = Field(default=None, description="The person's NIP, where known.")


class HistoryEntry(EventPublic, WhoActed):
    seq: int
    hash: str
    prev_hash: str
    chain: Literal["verified", "broken"] = Field(description="broken from the first event that does not verify on.")


class LaptopHistory(BaseModel):
    asset_id: str
    chain: ChainVerdictPublic
    events: list[HistoryEntry]


class TimelineEntry(WhoActed):
    seq: int
    id: str
    type: str
    time: str
    actor: str | None
    command_id: str | None = Field(description="The command (for a scan, its scan_id) that caused it.")
    place: dict[str, Any] = Field(description="office_code and location (lat, lon) where the event has them.")
    hash: str
    chain: Literal["verified", "broken"]
    checkpointed: bool = Field(description="Verified and signed by the newest checkpoint.")


class LaptopTimeline(BaseModel):
    asset_id: str
    chain: ChainVerdictPublic
    events: list[TimelineEntry]


class DecisionResponse(BaseModel):
    """The decision on a command: `accepted` (with the recorded event), `rejected`
    (with the reason), `pending` (durable, decided soon: ask `status_url`) or, for a
    laptop scanned into a consignment twice, `duplicate`."""

    decision: Literal["accepted", "rejected", "pending", "duplicate"]
    command_id: str = Field(description="The command's id: for a scan, the device's scan_id.")
    subject: str = Field(description="What the command is about: an asset id or a consignment id.")
    subject_kind: SubjectKind
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
    kode_barang: str | None = Field(default=None, description="BMN item code (10 digits)")
    nup: int | None = Field(default=None, description="BMN registration number within the item code")
    acquisition_year: int | None = None
    acquisition_value: int | None = Field(default=None, description="Rupiah")


class OfficePublic(BaseModel):
    code: str
    name: str
    region_name: str
    level: str
    province_code: str


class RosterMember(BaseModel):
    name: str
    nip: str
    jabatan: str
    unit: str


class RosterPublic(BaseModel):
    office_code: str
    members: list[RosterMember] = Field(description="Everyone on the office's list, as last recorded.")
    recorded_at: str | None = Field(description="When the list was recorded; null if it never was.")
    laptops: dict[str, list[str]] = Field(
        description="The laptops (asset ids) at the office held by each NIP, on the list or not."
    )


class PublicKey(BaseModel):
    key_id: str
    algorithm: Literal["Ed25519"] = "Ed25519"
    public_key: str = Field(description="32 raw bytes, base64url without padding")
    active: bool


class Problem(BaseModel):
    """RFC 9457 problem details, with a stable machine-readable ``code``. ``status``
    and ``title`` are always those of the HTTP response. A refused command also
    carries ``decision`` ("rejected"), ``command_id``, ``subject``, ``subject_kind``,
    the recorded rejection ``event`` and its ``status_url``."""

    type: str = "about:blank"
    title: str = Field(description="The standard phrase of `status`.")
    status: int = Field(ge=400, le=599, description="The HTTP status of this response.")
    code: str = Field(description="Stable and machine-readable: switch on it.")
    detail: str = Field(description="One sentence saying what is wrong and what to do.")
    errors: list[dict[str, Any]] | None = Field(default=None, description="For `invalid_request`: each bad field.")
    decision: Literal["rejected"] | None = None
    command_id: str | None = None
    subject: str | None = None
    subject_kind: str | None = None
    event: EventPublic | None = None
    status_url: str | None = None


# --- laptops and labels ---


class LabelToPrint(BaseModel):
    asset_id: str
    serial: str
    brand: str | None
    model: str | None
    kode_barang: str | None
    nup: int | None
    office_code: str | None
    office_name: str | None
    consignment_id: str | None
    label_url: str


class KeyringDocument(BaseModel):
    """The public key file an offline scanner carries (`events.labels.verify_offline`)."""

    format: str
    algorithm: Literal["Ed25519"]
    message: str = Field(description="What is signed: the label's fields joined by `|`.")
    keys: list[PublicKey]


class LabelRevocation(BaseModel):
    """A laptop whose label was re-issued: its labels of an earlier generation are revoked."""

    asset_id: str
    generation: int = Field(description="The current label's generation; every lower one is revoked.")


class BulkRowResult(BaseModel):
    index: int
    asset_id: str | None = None
    serial: str | None = None
    result: Literal["registered", "already_present", "rejected", "pending"]
    code: str | None = None
    detail: str | None = None


class BulkRegisterResponse(BaseModel):
    registered: int
    already_present: int
    rejected: int
    pending: int
    results: list[BulkRowResult]


# --- consignments ---


class PlanResponse(DecisionResponse):
    consignment_id: str
    receipt_code: str | None = Field(
        description="Shown once: print it on the manifest for the driver. None when the plan was a replay."
    )
    replayed: bool | None = Field(default=None, description="True when this consignment was planned before.")


class ReceiptCodeResponse(DecisionResponse):
    receipt_code: str | None = Field(description="The new code, shown once. None when the request was a replay.")
    replayed: bool | None = None


class BastCheck(BaseModel):
    matches: bool = Field(description="Whether the file is, byte for byte, the recorded BAST.")
    sha256: str
    recorded_sha256: str
    number: str


class ReminderPublic(BaseModel):
    model_config = ConfigDict(extra="allow")

    raised_at: str = Field(description="When the late-receipt reminder was raised.")


class ConsignmentPublic(BaseModel):
    consignment_id: str
    status: str
    office_code: str
    office_name: str | None
    warehouse: str | None = Field(default=None, description="The warehouse it is picked at; null: any.")
    expected: list[str] = Field(description="The laptops planned; empty for a plan by count.")
    scanned: list[str]
    missing: list[str]
    expected_count: int | None = Field(description="For a plan by count: how many laptops.")
    missing_count: int = Field(description="How many are still to be picked.")
    received: list[str]
    in_transit: list[str]
    basts: list[str] = Field(description="A link to every BAST issued so far.")
    reminders: list[ReminderPublic]
    receipt_code_generation: int


class UnconfirmedConsignment(BaseModel):
    consignment_id: str
    office_code: str | None
    from_office: str | None = Field(default=None, description="For a transfer (mutasi): the office it comes from.")
    from_office_name: str | None = None
    status: str
    in_transit: list[str]
    age_days: float | None = Field(description="Days since dispatch.")
    reminders: list[ReminderPublic]
    reminded_at: str | None


# --- audit ---


class CheckpointPublic(BaseModel):
    kind: Literal["checkpoint"]
    checkpoint_id: str
    created_at: str
    laptops: int = Field(description="How many chains (laptops and consignments) it signs.")
    root: str = Field(description="Merkle root over every chain head, hex.")
    key_id: str
    signature: str


class AnomalyPublic(BaseModel):
    asset_id: str = Field(description="The laptop (or consignment) the finding is about.")
    id: str
    time: str
    caused_by: str | None = Field(description="The command that raised it, if one did.")
    rule: str
    detail: str
    office_code: str | None = None
    evidence: dict[str, Any] = Field(default_factory=dict)


class OfficeCounts(BaseModel):
    planned: int
    dispatched: int
    in_transit: int
    received: int
    in_use: int
    overdue: int
    missing: int
    anomalies: int
    held: int = Field(description="Handed to a named holder (assigned, or confirmed by the holder).")
    in_repair: int
    lost: int
    write_off_proposed: int
    written_off: int


class OfficeRollup(OfficeCounts):
    code: str
    region_name: str | None
    office_name: str | None


class ProvinceRollup(BaseModel):
    code: str
    name: str | None
    totals: OfficeCounts
    offices: list[OfficeRollup]


class AttestationDue(BaseModel):
    asset_id: str
    office_code: str | None
    office_name: str | None
    received_at: str
    last_attested_at: str | None
    due: str = Field(description="When the next usage attestation is (was) due.")


class Health(BaseModel):
    status: Literal["ok", "unavailable"]
    kafka: dict[str, Any]
    store: dict[str, Any]
    workers: dict[str, dict[str, Any]] = Field(
        description="Per worker: alive, ready, instances, lag; `store_refusing`: what the store answers its writes "
        "while they wait on it (a full disk)."
    )
    reasons: list[str] | None = Field(default=None, description="What is not ready, when something is not.")


class DocumentRecord(BaseModel):
    """A document issued with a custody fact, as its QR shows it to anyone: no names."""

    document_id: str
    kind: Literal["assignment", "write-off"] = Field(
        description="`assignment`: the berita acara handing a laptop to its holder; `write-off`: the proposal."
    )
    asset_id: str
    number: str
    issued_at: str
    office_code: str | None
    sha256: str = Field(description="The SHA-256 recorded in the fact that issued it.")
    pdf_url: str = Field(description="The PDF (sign-in needed).")
