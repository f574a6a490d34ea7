"""Every command and event Serah puts on Kafka, with what it means and who sends it.

Commands are imperative and go to the one service that owns the decision.
Events are past-tense facts, emitted by that service on ``serah.events``.
Within a version, changes only add optional fields; a breaking change is a new
type with ``.v2`` and an upcaster in ``events.codec``.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BeforeValidator, ConfigDict, Field, model_validator

from events import receipt_codes, topics
from events.envelope import SubjectKind
from events.text import Text, TextChecked

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATE_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})"
)


def _iso(shape: re.Pattern[str], example: str) -> Any:
    """JSON has no date type: a date comes as RFC 3339 text, as the schema's ``format``
    says. Anything else is refused, where lax parsing would read 0 or "0" as 1970-01-01
    and take a time without its offset."""

    def check(value: Any) -> Any:
        if (isinstance(value, str) and not shape.fullmatch(value)) or isinstance(value, int | float):
            raise ValueError(f"give it as RFC 3339 text, e.g. {example}")
        return value

    return BeforeValidator(check)


IsoDate = Annotated[date, _iso(_DATE, "2026-11-02")]
IsoDateTime = Annotated[datetime, _iso(_DATE_TIME, "2026-11-02T09:30:00+07:00")]

SERIAL = r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$"
OFFICE_CODE = r"^[0-9]{2}(\.[0-9]{2})?$"
CONSIGNMENT_ID = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
# A warehouse: ``G-`` and its code (``G-JKT1``). Laptops leave from one; a consignment
# names the one it is picked at, and a warehouse's grant reaches only its consignments.
WAREHOUSE_CODE = r"^G-[A-Z0-9]{1,16}$"


class Condition(StrEnum):
    """BMN condition: baik, rusak ringan, rusak berat."""

    B = "B"
    RR = "RR"
    RB = "RB"


# How official documents (the BAST, the dispatch manifest) name each condition.
CONDITIONS: dict[str, str] = {
    Condition.B: "Baik (B)",
    Condition.RR: "Rusak Ringan (RR)",
    Condition.RB: "Rusak Berat (RB)",
}


class LifecycleState(StrEnum):
    """Where a laptop is in its life, as its facts say (``events.lifecycle.after`` folds
    them). What every service and view calls the laptop's ``status``."""

    UNKNOWN = "unknown"  # not registered
    REGISTERED = "registered"  # in the warehouse, for no office (new, or returned)
    ALLOCATED = "allocated"  # in the warehouse, planned for an office
    IN_TRANSIT = "in_transit"  # on its way to an office (first handover or transfer)
    RECEIVED = "received"  # at its office, held by no one
    ASSIGNED = "assigned"  # handed to a named holder, who has not yet confirmed by scanning
    IN_USE = "in_use"  # its holder confirmed holding it
    IN_REPAIR = "in_repair"  # sent out for repair
    LOST = "lost"  # reported lost or stolen
    WRITE_OFF_PROPOSED = "write_off_proposed"  # a write-off awaits another official's decision
    WRITTEN_OFF = "written_off"  # off the books; its label is revoked


class RejectionReason(StrEnum):
    """Why a command was not accepted. Stable codes: clients switch on them."""

    UNKNOWN_LAPTOP = "unknown_laptop"
    LABEL_MALFORMED = "label_malformed"
    LABEL_UNKNOWN_KEY = "label_unknown_key"
    LABEL_FORGED = "label_forged"
    LABEL_REVOKED = "label_revoked"
    LABEL_ASSET_MISMATCH = "label_asset_mismatch"
    ALREADY_REGISTERED = "already_registered"
    SERIAL_CONFLICT = "serial_conflict"
    UNKNOWN_OFFICE = "unknown_office"
    ALREADY_ALLOCATED = "already_allocated"
    NOT_ALLOCATED = "not_allocated"
    ALREADY_DISPATCHED = "already_dispatched"
    NOT_DISPATCHED = "not_dispatched"
    ALREADY_RECEIVED = "already_received"
    INVALID_COMMAND = "invalid_command"
    NOT_RECEIVED = "not_received"  # usage can only be attested for a received laptop
    LABEL_GENERATIONS_EXHAUSTED = "label_generations_exhausted"
    # consignments and receipt
    CONSIGNMENT_EXISTS = "consignment_exists"
    UNKNOWN_CONSIGNMENT = "unknown_consignment"
    CONSIGNMENT_CLOSED = "consignment_closed"
    CONSIGNMENT_EMPTY = "consignment_empty"
    NOT_EXPECTED = "not_expected"
    BELONGS_TO_OTHER_CONSIGNMENT = "belongs_to_other_consignment"
    ALREADY_IN_CONSIGNMENT = "already_in_consignment"
    RECEIPT_CODE_INVALID = "receipt_code_invalid"
    OFFICIAL_NOT_AUTHORISED = "official_not_authorised"
    CONSIGNMENT_FULL = "consignment_full"  # a count plan already has its count
    IN_CONSIGNMENT = "in_consignment"  # travels in a consignment: received only through it, with its code
    SCANNED_AT_OUT_OF_RANGE = "scanned_at_out_of_range"  # the device's time is too far from the server's
    ID_REUSED = "id_reused"  # the command id was used before for a different command
    # after receipt: holders, repair, loss, transfers, write-off
    HELD_BY_HOLDER = "held_by_holder"  # a holder has it: return it from the holder first
    NOT_ASSIGNED = "not_assigned"  # no holder to confirm or to return it
    ALREADY_CONFIRMED = "already_confirmed"  # the holder confirmed already
    NOT_THE_HOLDER = "not_the_holder"  # only the named holder confirms holding it
    IN_REPAIR = "in_repair"  # out for repair: it can be neither moved, handed out nor attested
    NOT_IN_REPAIR = "not_in_repair"
    LOST = "lost"  # reported lost: only its recovery (or write-off) is possible
    NOT_LOST = "not_lost"
    WRITE_OFF_PENDING = "write_off_pending"  # a write-off is proposed: approve or decline it first
    NOT_PROPOSED = "not_proposed"  # no write-off is proposed
    WRITE_OFF_REASON_INVALID = "write_off_reason_invalid"  # the reason does not fit the laptop
    SAME_OFFICIAL = "same_official"  # a write-off is approved by another official than its proposer
    WRITTEN_OFF = "written_off"  # off the books: nothing more happens to it
    NOT_AT_OFFICE = "not_at_office"  # a transfer leaves from the office that holds the laptop
    WRONG_SENDER = "wrong_sender"  # a transfer is scanned and closed at its office, the warehouse's at the warehouse


class Payload(TextChecked):
    """Base of every ``data`` body. Unknown fields are refused, not ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    TYPE: ClassVar[str]
    KIND: ClassVar[Literal["command", "event"]]
    TOPIC: ClassVar[str] = topics.EVENTS
    # Fields the sender makes fresh each time it sends the same request (a newly
    # generated receipt code, the label signed with today's key). They are not
    # part of what was asked, so a retry that differs only in them is the same
    # command (events.codec.command_digest).
    NOT_IN_IDENTITY: ClassVar[frozenset[str]] = frozenset()
    # What the envelope's ``subject`` names for this type (``subjectkind``): a
    # laptop's asset id, a consignment id, an account or a device, a checkpoint
    # id, or, for a dead letter, whatever key the unreadable message had.
    SUBJECT_KIND: ClassVar[SubjectKind] = "laptop"


class Specs(TextChecked):
    model_config = ConfigDict(extra="forbid", frozen=True)

    cpu: Text = Field(min_length=1, max_length=128)
    ram_gb: int = Field(ge=1, le=4096, strict=True)
    storage_gb: int = Field(ge=1, le=1_000_000, strict=True)


class LabelRef(TextChecked):
    """Which label a laptop currently carries: its generation and signing key."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    generation: int = Field(ge=1, le=999)
    key_id: str = Field(pattern=r"^[A-Z0-9]{1,8}$")


class Location(TextChecked):
    model_config = ConfigDict(extra="forbid", frozen=True)

    lat: float = Field(ge=-90, le=90, strict=True)
    lon: float = Field(ge=-180, le=180, strict=True)
    accuracy_m: float | None = Field(default=None, ge=0, le=100_000, strict=True)


class Bmn(TextChecked):
    """State-property (Barang Milik Negara) bookkeeping fields, when known."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kode_barang: str | None = Field(default=None, pattern=r"^[0-9]{10}$")
    nup: int | None = Field(default=None, ge=1, le=999_999, strict=True)
    acquisition_year: int | None = Field(default=None, ge=1990, le=2100, strict=True)
    acquisition_value: int | None = Field(default=None, ge=0, le=10_000_000_000, strict=True, description="Rupiah")
    condition: Condition = Condition.B


class LaptopDescription(TextChecked):
    model_config = ConfigDict(extra="forbid", frozen=True)

    serial: str = Field(pattern=SERIAL)
    brand: Text = Field(min_length=1, max_length=64)
    model: Text = Field(min_length=1, max_length=128)
    specs: Specs
    warranty_end: IsoDate | None = None
    bmn: Bmn = Field(default_factory=Bmn)


NIP = r"^[0-9]{18}$"


class Official(TextChecked):
    """A civil servant who signs: name, NIP (18 digits) and jabatan (position)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Text = Field(min_length=1, max_length=128)
    nip: str = Field(pattern=NIP)
    jabatan: Text = Field(min_length=1, max_length=128)


# --- commands -------------------------------------------------------------


class RegisterLaptop(Payload):
    """Register a laptop with the label the gateway signed for it. Sent by the gateway."""

    TYPE = "id.serah.command.register-laptop.v1"
    KIND = "command"
    TOPIC = topics.ALLOCATION_COMMANDS
    NOT_IN_IDENTITY = frozenset({"label"})

    laptop: LaptopDescription
    label: LabelRef
    import_batch: str | None = Field(default=None, pattern=CONSIGNMENT_ID, description="Set by bulk imports.")


class AllocateLaptop(Payload):
    """Plan a laptop for a recipient office (and optionally a consignment)."""

    TYPE = "id.serah.command.allocate-laptop.v1"
    KIND = "command"
    TOPIC = topics.ALLOCATION_COMMANDS

    office_code: str = Field(pattern=OFFICE_CODE)
    consignment_id: str | None = Field(default=None, pattern=CONSIGNMENT_ID)


class DispatchLaptop(Payload):
    """A warehouse scan: this laptop leaves now. ``label`` is the QR text as scanned."""

    TYPE = "id.serah.command.dispatch-laptop.v1"
    KIND = "command"
    TOPIC = topics.ALLOCATION_COMMANDS

    RAW_TEXT = frozenset({"label"})  # judged by events.labels.parse, which names the reason
    label: str = Field(min_length=1, max_length=512)
    location: Location | None = None


class ReceiveLaptop(Payload):
    """A recipient-office scan: this laptop arrived, in this condition."""

    TYPE = "id.serah.command.receive-laptop.v1"
    KIND = "command"
    TOPIC = topics.HANDOVER_COMMANDS

    RAW_TEXT = frozenset({"label"})  # judged by events.labels.parse, which names the reason
    label: str = Field(min_length=1, max_length=512)
    condition: Condition = Condition.B
    note: Text = Field(default="", max_length=1000)
    location: Location | None = None


# --- events ---------------------------------------------------------------


class LaptopRegistered(Payload):
    """A laptop entered the inventory with its first signed label. Emitted by allocation."""

    TYPE = "id.serah.laptop.registered.v1"
    KIND = "event"

    laptop: LaptopDescription
    label: LabelRef
    import_batch: str | None = Field(default=None, pattern=CONSIGNMENT_ID, description="Set by bulk imports.")


class LaptopAllocated(Payload):
    """A laptop was planned for a recipient office. Emitted by allocation."""

    TYPE = "id.serah.laptop.allocated.v1"
    KIND = "event"

    office_code: str = Field(pattern=OFFICE_CODE)
    office_name: Text
    consignment_id: str | None = None
    from_office: str | None = Field(
        default=None,
        pattern=OFFICE_CODE,
        description="A transfer between offices: the office that holds the laptop and hands it over; "
        "none: from the warehouse.",
    )


class LaptopDispatched(Payload):
    """A laptop was scanned out of the warehouse towards its office; it is in transit.
    Emitted by allocation."""

    TYPE = "id.serah.laptop.dispatched.v1"
    KIND = "event"

    office_code: str = Field(pattern=OFFICE_CODE)
    consignment_id: str | None = None
    location: Location | None = None
    left_at: str | None = Field(
        default=None,
        description="When it left, as its command says: the dispatch scan's time (a scan synced later says when "
        "it was made) or the consignment's close. Read as the event's time where that is earlier, or where absent.",
    )
    from_office: str | None = Field(
        default=None,
        pattern=OFFICE_CODE,
        description="A transfer between offices: the office that holds the laptop and hands it over; "
        "none: from the warehouse.",
    )


class LaptopReceived(Payload):
    """The recipient office scanned the laptop in; responsibility moved to the office.
    Emitted by handover."""

    TYPE = "id.serah.laptop.received.v1"
    KIND = "event"

    office_code: str = Field(pattern=OFFICE_CODE)
    condition: Condition
    note: Text = ""
    location: Location | None = None
    received_at: str | None = Field(
        default=None,
        description="When it was received, as its command says: the receipt scan's time (a scan synced later says "
        "when it was made) or the consignment receipt's confirmation. Read as the event's time where that is "
        "earlier, or where absent.",
    )


class CommandRejected(Payload):
    """A command did not fit the laptop's state or carried a bad label. Nothing changed;
    the rejection is kept so auditors see every attempt. Emitted by the deciding service."""

    TYPE = "id.serah.command.rejected.v1"
    KIND = "event"

    command_type: str
    reason: RejectionReason
    detail: Text = Field(description="One human sentence saying what is wrong and what to do.")


class MessageDeadLettered(Payload):
    """A message no service could read (not JSON, not a CloudEvent, unknown type) or
    whose handling failed for a reason retrying cannot fix. Emitted by any service."""

    TYPE = "id.serah.message.dead-lettered.v1"
    KIND = "event"
    SUBJECT_KIND = "message"
    TOPIC = topics.DEAD_LETTERS
    RAW_TEXT = frozenset({"detail", "payload"})  # a faithful record of what could not be read

    topic: str
    partition: int
    offset: int
    service: str
    reason: str
    detail: str
    payload: str = Field(description="The original bytes, decoded as UTF-8 with replacement, cut to 64 KiB.")


# --- label revocation and re-issue ---


class LabelReissueReason(StrEnum):
    """Why a laptop needs a new label. The old label is revoked either way."""

    LOST = "lost"
    DAMAGED = "damaged"
    STOLEN = "stolen"
    ILLEGIBLE = "illegible"
    COMPROMISED = "compromised"
    OTHER = "other"


class ReissueLabel(Payload):
    """Revoke the laptop's current label and issue the next generation, signed with
    ``key_id`` (the gateway's active key). Sent by the gateway; decided by allocation,
    which owns the inventory and knows the current generation."""

    TYPE = "id.serah.command.reissue-label.v1"
    KIND = "command"
    TOPIC = topics.ALLOCATION_COMMANDS

    key_id: str = Field(pattern=r"^[A-Z][A-Z0-9]{0,7}$")
    reason: LabelReissueReason
    note: Text = Field(default="", max_length=1000)


class LabelReissued(Payload):
    """The laptop got a new label; every earlier generation is revoked from now on and
    is refused wherever it is scanned (``label_revoked``). Emitted by allocation."""

    TYPE = "id.serah.label.reissued.v1"
    KIND = "event"

    label: LabelRef
    revoked_generation: int = Field(ge=1, le=999)
    reason: LabelReissueReason
    note: Text = ""


# --- usage audit, checkpoints, anomalies ---


class AttestUsage(Payload):
    """A holder re-scans a received laptop: it is still here, in use, in this condition.
    Sent by the gateway to the handover service. Photos are not carried."""

    TYPE = "id.serah.command.attest-usage.v1"
    KIND = "command"
    TOPIC = topics.HANDOVER_COMMANDS

    RAW_TEXT = frozenset({"label"})  # judged by events.labels.parse, which names the reason
    label: str = Field(min_length=1, max_length=512)
    condition: Condition = Condition.B
    in_use: bool = True
    note: Text = Field(default="", max_length=1000)
    location: Location | None = None
    attested_by: Official | None = Field(
        default=None,
        description="Who attested: the signed-in person, or the holder an office's device names.",
    )


class UsageAttested(Payload):
    """The office holding a received laptop attested it is present (and whether in use).
    Emitted by handover."""

    TYPE = "id.serah.laptop.usage-attested.v1"
    KIND = "event"

    office_code: str = Field(pattern=OFFICE_CODE)
    condition: Condition
    in_use: bool = True
    note: Text = ""
    location: Location | None = None
    attested_by: Official | None = Field(
        default=None,
        description="Who attested: the signed-in person, or the holder an office's device names.",
    )


class AnomalyDetected(Payload):
    """A streaming or timed audit rule found something suspicious about a laptop.
    ``rule`` is a stable code, ``evidence`` the facts that triggered it (event ids,
    distances, dates). Emitted by audit; never raised about another anomaly."""

    TYPE = "id.serah.laptop.anomaly-detected.v1"
    KIND = "event"

    rule: str = Field(pattern=r"^[a-z_]{1,64}$")
    detail: Text = Field(description="One human sentence: what looks wrong and what to check.")
    office_code: str | None = Field(default=None, pattern=OFFICE_CODE)
    evidence: dict[str, str | int | float | bool | None] = Field(default_factory=dict)


class CheckpointSigned(Payload):
    """The audit service signed a Merkle root over every laptop's chain head (format in
    events/proofs.py). Subject is the checkpoint id. Emitted by audit on serah.checkpoints."""

    TYPE = "id.serah.audit.checkpoint-signed.v1"
    KIND = "event"
    SUBJECT_KIND = "checkpoint"
    TOPIC = topics.CHECKPOINTS

    checkpoint_id: str
    created_at: str
    laptops: int = Field(ge=0)
    root: str = Field(pattern=r"^[0-9a-f]{64}$")
    key_id: str
    signature: str


# --- consignments ---

MAX_CONSIGNMENT_UNITS = 5000


def laptops_or_a_count(expected: list[str], expected_count: int | None) -> None:
    """A plan names its laptops or gives a count filled at picking: exactly one of them."""
    what = "give either `expected` (asset ids) or `expected_count` (a number of laptops)"
    if expected and expected_count is not None:
        raise ValueError(f"{what}, not both")
    if not expected and expected_count is None:
        raise ValueError(f"{what}: this plan gives neither")


def transfer_is_listed(from_office: str | None, expected_count: int | None, warehouse: str | None) -> None:
    """A transfer names the laptops that move (an office has no stock to pick from) and
    leaves from an office, not a warehouse."""
    if from_office is not None and expected_count is not None:
        raise ValueError("a transfer lists its laptops in `expected`; `expected_count` is for the warehouse")
    if from_office is not None and warehouse is not None:
        raise ValueError("a transfer leaves from `from_office`, not from a warehouse: leave `warehouse` out")


# the most laptops one consignment may expect
SHA256_HEX = r"^[0-9a-f]{64}$"


# What travels and is kept of a receipt code: its keyed hash (events/receipt_codes.py).
ReceiptCodeHash = Annotated[
    str,
    Field(
        pattern=receipt_codes.HASH_PATTERN,
        description="The receipt code's HMAC-SHA256 under a server key, as hmac-sha256:<key id>:<hex>. "
        "Without the key it reveals nothing of the code.",
    ),
]


class Holder(Official):
    """A civil servant a laptop is handed to (pemegang): name, NIP, jabatan, and the
    work unit (bidang, subbagian) they work in."""

    unit: Text = Field(min_length=1, max_length=128)


LegalKind = Literal["contract", "allocation_decree", "grant_agreement", "transfer_decree"]
# How official documents name each kind of legal basis.
LEGAL_KINDS: dict[str, str] = {
    "contract": "Kontrak",
    "allocation_decree": "Keputusan Alokasi",
    "grant_agreement": "Naskah Perjanjian Hibah",
    "transfer_decree": "Keputusan Mutasi Barang Milik Negara",
}


class LegalBasis(TextChecked):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: LegalKind
    number: Text = Field(min_length=1, max_length=128)
    date: IsoDate


class ReceiptLine(TextChecked):
    model_config = ConfigDict(extra="forbid", frozen=True)

    asset_id: str = Field(pattern=r"^[A-Z0-9]{4,32}$")
    condition: Condition = Condition.B
    note: Text = Field(default="", max_length=1000)


class PlanConsignment(Payload):
    """Plan one office's share of an allocation: who may sign, on what legal basis, which
    laptops. Subject: the consignment id. Sent by the gateway, which also generated the
    receipt code and sends only its keyed hash."""

    TYPE = "id.serah.command.plan-consignment.v1"
    KIND = "command"
    SUBJECT_KIND = "consignment"
    TOPIC = topics.ALLOCATION_COMMANDS
    NOT_IN_IDENTITY = frozenset({"receipt_code_hash"})

    office_code: str = Field(pattern=OFFICE_CODE)
    officials: list[Official] = Field(min_length=1, max_length=10)
    legal_basis: LegalBasis
    expected: list[str] = Field(default_factory=list, max_length=5000)
    warehouse: str | None = Field(
        default=None, pattern=WAREHOUSE_CODE, description="The warehouse it is picked at; none: any."
    )
    receipt_code_hash: ReceiptCodeHash
    # or a count filled at picking (then ``expected`` is empty)
    expected_count: int | None = Field(default=None, ge=1, le=MAX_CONSIGNMENT_UNITS)
    from_office: str | None = Field(
        default=None,
        pattern=OFFICE_CODE,
        description="A transfer between offices: the office that holds the laptop and hands it over; "
        "none: from the warehouse.",
    )

    @model_validator(mode="after")
    def _laptops_or_a_count(self) -> PlanConsignment:
        laptops_or_a_count(self.expected, self.expected_count)
        transfer_is_listed(self.from_office, self.expected_count, self.warehouse)
        return self


class ScanIntoConsignment(Payload):
    """A warehouse scan of a laptop into an open consignment. Subject: the consignment id."""

    TYPE = "id.serah.command.scan-into-consignment.v1"
    KIND = "command"
    SUBJECT_KIND = "consignment"
    TOPIC = topics.ALLOCATION_COMMANDS

    RAW_TEXT = frozenset({"label"})  # judged by events.labels.parse, which names the reason
    label: str = Field(min_length=1, max_length=512)
    location: Location | None = None
    from_office: str | None = Field(
        default=None,
        pattern=OFFICE_CODE,
        description="Scanned at this office, the giving office of a transfer; none: at the warehouse.",
    )


class CloseConsignment(Payload):
    """Close the consignment: every scanned laptop leaves now, handed over by ``dispatcher``
    (the BAST's PIHAK PERTAMA). Subject: the consignment id. Sent by the gateway, which
    names the signed-in official, or the one a warehouse device named."""

    TYPE = "id.serah.command.close-consignment.v1"
    KIND = "command"
    SUBJECT_KIND = "consignment"
    TOPIC = topics.ALLOCATION_COMMANDS

    dispatcher: Official = Field(description="The official who dispatches the consignment.")
    from_office: str | None = Field(
        default=None,
        pattern=OFFICE_CODE,
        description="Closed at this office, the giving office of a transfer; none: at the warehouse.",
    )


class ConfirmReceipt(Payload):
    """The receiving official signs for what arrived. Subject: the consignment id."""

    TYPE = "id.serah.command.confirm-receipt.v1"
    KIND = "command"
    SUBJECT_KIND = "consignment"
    TOPIC = topics.HANDOVER_COMMANDS

    official: Official
    receipt_code: str = Field(min_length=1, max_length=64)
    lines: list[ReceiptLine] = Field(default_factory=list, max_length=5000)
    missing: list[str] = Field(default_factory=list, max_length=5000)


class ConsignmentPlanned(Payload):
    """A consignment was planned for an office. Emitted by allocation."""

    TYPE = "id.serah.consignment.planned.v1"
    KIND = "event"
    SUBJECT_KIND = "consignment"

    office_code: str = Field(pattern=OFFICE_CODE)
    office_name: Text
    officials: list[Official]
    legal_basis: LegalBasis
    expected: list[str]
    warehouse: str | None = Field(
        default=None, pattern=WAREHOUSE_CODE, description="The warehouse it is picked at; none: any."
    )
    receipt_code_hash: ReceiptCodeHash
    expected_count: int | None = Field(
        default=None, ge=1, description="A plan by count (expected is then empty), filled at picking."
    )
    from_office: str | None = Field(
        default=None,
        pattern=OFFICE_CODE,
        description="A transfer between offices: the office that holds the laptop and hands it over; "
        "none: from the warehouse.",
    )
    from_office_name: Text | None = Field(default=None, description="The giving office's name, for a transfer.")


class LaptopScannedIntoConsignment(Payload):
    """A laptop was scanned into an open consignment. Subject: the consignment id.
    Emitted by allocation."""

    TYPE = "id.serah.consignment.laptop-scanned.v1"
    KIND = "event"
    SUBJECT_KIND = "consignment"

    asset_id: str
    location: Location | None = None


class ConsignmentDispatched(Payload):
    """The consignment was closed and left the warehouse with these laptops (the per-laptop
    LaptopDispatched events follow, keyed by asset id). Emitted by allocation."""

    TYPE = "id.serah.consignment.dispatched.v1"
    KIND = "event"
    SUBJECT_KIND = "consignment"

    office_code: str = Field(pattern=OFFICE_CODE)
    dispatched: list[str]
    dispatcher: Official = Field(description="The official who dispatched it: the BAST's PIHAK PERTAMA.")
    left_at: str | None = Field(
        default=None,
        description="When it left: the close's time, as its command says. Read as the event's time where that "
        "is earlier, or where absent.",
    )
    missing: list[str] = Field(default_factory=list, description="Expected but never scanned.")
    missing_count: int | None = Field(
        default=None, ge=0, description="For a plan by count: how many of the count were never scanned."
    )
    from_office: str | None = Field(
        default=None,
        pattern=OFFICE_CODE,
        description="A transfer between offices: the office that holds the laptop and hands it over; "
        "none: from the warehouse.",
    )


class ReceiptConfirmed(Payload):
    """An official signed for (part of) a consignment; the BAST was issued with this hash.
    Emitted by handover."""

    TYPE = "id.serah.consignment.receipt-confirmed.v1"
    KIND = "event"
    SUBJECT_KIND = "consignment"

    office_code: str = Field(pattern=OFFICE_CODE)
    official: Official
    seq: int = Field(ge=1)
    bast_number: str
    lines: list[ReceiptLine]
    missing: list[str]
    complete: bool
    confirmed_at: str = Field(description="When the official confirmed (the command's time); dates the BAST.")
    bast_sha256: str = Field(pattern=SHA256_HEX)


# --- late-receipt reminder ---


class ReceiptReminderRaised(Payload):
    """A dispatched consignment was still not (fully) received ``threshold_days`` after it
    left the warehouse: remind the receiving office (and the sender) to confirm or report.
    Subject: the consignment id. Emitted by handover's periodic sweep, once per consignment
    and threshold (its id is derived from both, so restarts and several workers add nothing)."""

    TYPE = "id.serah.consignment.receipt-reminder-raised.v1"
    KIND = "event"
    SUBJECT_KIND = "consignment"

    office_code: str = Field(pattern=OFFICE_CODE)
    threshold_days: float = Field(gt=0, description="The configured threshold this reminder is for.")
    dispatched_at: str = Field(description="When the consignment left the warehouse.")
    due_at: str = Field(description="dispatched_at + threshold_days: from then on it was overdue.")
    in_transit: list[str] = Field(description="Asset ids still not received when the reminder was raised.")


# --- receipt-code re-issue ---


class ReissueReceiptCode(Payload):
    """Replace a consignment's receipt code (lost, or seen by someone who should not have
    it): the old code stops working. Subject: the consignment id. Sent by the gateway,
    which made the new code and sends only its keyed hash; decided by handover, where
    receipts are checked, so a receipt and a re-issue never interleave."""

    TYPE = "id.serah.command.reissue-receipt-code.v1"
    KIND = "command"
    SUBJECT_KIND = "consignment"
    TOPIC = topics.HANDOVER_COMMANDS
    NOT_IN_IDENTITY = frozenset({"receipt_code_hash"})

    receipt_code_hash: ReceiptCodeHash
    reason: Text = Field(min_length=1, max_length=500)


class ReceiptCodeReissued(Payload):
    """The consignment's receipt code was replaced; only this hash is valid from now on.
    Emitted by handover."""

    TYPE = "id.serah.consignment.receipt-code-reissued.v1"
    KIND = "event"
    SUBJECT_KIND = "consignment"

    receipt_code_hash: ReceiptCodeHash
    reason: Text
    generation: int = Field(ge=2, description="2 for the first re-issue (the planned code was 1), then 3, …")


# --- after receipt: holders, repair, loss, return, write-off ---
#
# Decided by handover, which holds each laptop's custody from its receipt on (see
# docs/lifecycle.md): each command goes to ``serah.handover.commands``, keyed by the
# asset id; each accepted fact says where the laptop now is (``events.lifecycle``).
# Commands with a ``label`` are scans of the laptop's signed label, checked like every
# scan; the others are acts of an office or the centre, made at a desk.

DOCUMENT_ID = r"^[A-Z0-9]{4,32}-(assignment|write-off)-[0-9]{1,4}$"


class IssuedDocument(TextChecked):
    """A document issued with a fact (the holder's berita acara, the write-off proposal):
    its id (``<asset>-<kind>-<seq>``), its printed number, and the SHA-256 of its PDF,
    which is regenerated to the same bytes, so a copy can be checked against this hash."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=DOCUMENT_ID)
    number: Text = Field(min_length=1, max_length=128)
    issued_at: str = Field(description="When it was issued (the command's time); dates the document.")
    sha256: str = Field(pattern=SHA256_HEX)


class AssignLaptop(Payload):
    """The holding office hands a laptop to a named civil servant (pemegang), recorded
    by the official who hands it over; a berita acara is issued. The holder then
    confirms by scanning the label (ConfirmAssignment). Sent by the gateway."""

    TYPE = "id.serah.command.assign-laptop.v1"
    KIND = "command"
    TOPIC = topics.HANDOVER_COMMANDS

    holder: Holder
    assigned_by: Official = Field(description="The official who hands it over: the berita acara's first party.")
    condition: Condition = Condition.B
    note: Text = Field(default="", max_length=1000)


class LaptopAssigned(Payload):
    """A laptop was handed to a holder by the office that holds it; the holder has not yet
    confirmed. ``document``: the berita acara. Emitted by handover."""

    TYPE = "id.serah.laptop.assigned.v1"
    KIND = "event"

    office_code: str = Field(pattern=OFFICE_CODE)
    holder: Holder
    assigned_by: Official
    condition: Condition
    note: Text = ""
    document: IssuedDocument


class ConfirmAssignment(Payload):
    """The holder scans the laptop's label: it is in their hands. ``holder_nip`` is the
    signed-in person's NIP, set by the gateway (never taken from the request)."""

    TYPE = "id.serah.command.confirm-assignment.v1"
    KIND = "command"
    TOPIC = topics.HANDOVER_COMMANDS

    RAW_TEXT = frozenset({"label"})  # judged by events.labels.parse, which names the reason
    label: str = Field(min_length=1, max_length=512)
    holder_nip: str = Field(pattern=NIP)
    location: Location | None = None


class AssignmentConfirmed(Payload):
    """The named holder confirmed holding the laptop by scanning it; it is in use. Emitted by handover."""

    TYPE = "id.serah.laptop.assignment-confirmed.v1"
    KIND = "event"

    office_code: str = Field(pattern=OFFICE_CODE)
    holder_nip: str = Field(pattern=NIP)
    location: Location | None = None


class ReturnFromHolder(Payload):
    """The holder gives the laptop back to the office; the office's official scans it,
    in the condition it came back in."""

    TYPE = "id.serah.command.return-from-holder.v1"
    KIND = "command"
    TOPIC = topics.HANDOVER_COMMANDS

    RAW_TEXT = frozenset({"label"})  # judged by events.labels.parse, which names the reason
    label: str = Field(min_length=1, max_length=512)
    condition: Condition = Condition.B
    note: Text = Field(default="", max_length=1000)
    location: Location | None = None


class LaptopReturnedByHolder(Payload):
    """The holder gave the laptop back; it is at the office, held by no one. Emitted by handover."""

    TYPE = "id.serah.laptop.returned-by-holder.v1"
    KIND = "event"

    office_code: str = Field(pattern=OFFICE_CODE)
    holder: Holder = Field(description="Who gave it back.")
    condition: Condition
    note: Text = ""
    location: Location | None = None


class SendForRepair(Payload):
    """The office sends the laptop out for repair: to whom, why, in which condition it leaves."""

    TYPE = "id.serah.command.send-for-repair.v1"
    KIND = "command"
    TOPIC = topics.HANDOVER_COMMANDS

    RAW_TEXT = frozenset({"label"})  # judged by events.labels.parse, which names the reason
    label: str = Field(min_length=1, max_length=512)
    vendor: Text = Field(min_length=1, max_length=200)
    reason: Text = Field(min_length=1, max_length=1000)
    condition: Condition = Condition.RR
    location: Location | None = None


class RepairStarted(Payload):
    """The laptop went out for repair; until it comes back it cannot be moved, handed out
    or attested. Emitted by handover."""

    TYPE = "id.serah.laptop.repair-started.v1"
    KIND = "event"

    office_code: str = Field(pattern=OFFICE_CODE)
    vendor: Text
    reason: Text
    condition: Condition = Field(description="The condition it left in.")
    location: Location | None = None


class ReturnFromRepair(Payload):
    """The laptop came back from repair; the office scans it in the condition it came back in."""

    TYPE = "id.serah.command.return-from-repair.v1"
    KIND = "command"
    TOPIC = topics.HANDOVER_COMMANDS

    RAW_TEXT = frozenset({"label"})  # judged by events.labels.parse, which names the reason
    label: str = Field(min_length=1, max_length=512)
    condition: Condition = Condition.B
    note: Text = Field(default="", max_length=1000)
    location: Location | None = None


class RepairFinished(Payload):
    """The laptop is back from repair at its office, held by no one. Emitted by handover."""

    TYPE = "id.serah.laptop.repair-finished.v1"
    KIND = "event"

    office_code: str = Field(pattern=OFFICE_CODE)
    vendor: Text
    condition: Condition = Field(description="The condition it came back in.")
    note: Text = ""
    location: Location | None = None


class LossKind(StrEnum):
    LOST = "lost"  # hilang
    STOLEN = "stolen"  # dicuri


class ReportLoss(Payload):
    """The office (or the centre) reports the laptop lost or stolen, with the police
    report's number where there is one. Not a scan: the laptop is not there to scan."""

    TYPE = "id.serah.command.report-loss.v1"
    KIND = "command"
    TOPIC = topics.HANDOVER_COMMANDS

    kind: LossKind
    circumstances: Text = Field(min_length=1, max_length=2000)
    police_report: Text | None = Field(default=None, min_length=1, max_length=128)
    lost_on: IsoDate | None = Field(default=None, description="When it went missing, if known.")


class LaptopReportedLost(Payload):
    """The laptop was reported lost or stolen; any scan of its label from now on is an
    anomaly (it turned up), and only its recovery or write-off can follow. Emitted by handover."""

    TYPE = "id.serah.laptop.reported-lost.v1"
    KIND = "event"

    office_code: str = Field(pattern=OFFICE_CODE)
    kind: LossKind
    circumstances: Text
    police_report: Text | None = None
    lost_on: IsoDate | None = None
    holder: Holder | None = Field(default=None, description="Who held it when it went missing, if anyone.")


class RecoverLaptop(Payload):
    """A lost laptop turned up: the office scans its label, in the condition it was found in."""

    TYPE = "id.serah.command.recover-laptop.v1"
    KIND = "command"
    TOPIC = topics.HANDOVER_COMMANDS

    RAW_TEXT = frozenset({"label"})  # judged by events.labels.parse, which names the reason
    label: str = Field(min_length=1, max_length=512)
    condition: Condition = Condition.B
    note: Text = Field(default="", max_length=1000)
    location: Location | None = None


class LaptopRecovered(Payload):
    """A lost laptop was found and is back at its office, held by no one. Emitted by handover."""

    TYPE = "id.serah.laptop.recovered.v1"
    KIND = "event"

    office_code: str = Field(pattern=OFFICE_CODE)
    condition: Condition
    note: Text = ""
    location: Location | None = None


class ReturnToWarehouse(Payload):
    """The warehouse scans a laptop an office sent back: off the office's books, back in stock."""

    TYPE = "id.serah.command.return-to-warehouse.v1"
    KIND = "command"
    TOPIC = topics.HANDOVER_COMMANDS

    RAW_TEXT = frozenset({"label"})  # judged by events.labels.parse, which names the reason
    label: str = Field(min_length=1, max_length=512)
    condition: Condition = Condition.B
    note: Text = Field(default="", max_length=1000)
    warehouse: str | None = Field(default=None, pattern=WAREHOUSE_CODE)
    location: Location | None = None


class LaptopReturnedToWarehouse(Payload):
    """The laptop came back to the warehouse from ``from_office``; it is in stock, for no
    office, and may be allocated again or written off. Emitted by handover."""

    TYPE = "id.serah.laptop.returned-to-warehouse.v1"
    KIND = "event"

    from_office: str = Field(pattern=OFFICE_CODE)
    condition: Condition
    note: Text = ""
    warehouse: str | None = Field(default=None, pattern=WAREHOUSE_CODE)
    location: Location | None = None


class WriteOffReason(StrEnum):
    """Why a laptop leaves the books (penghapusan BMN)."""

    BEYOND_REPAIR = "beyond_repair"  # rusak berat: its condition must be RB
    LOST = "lost"  # it must be reported lost
    OBSOLETE = "obsolete"  # usang: no longer fit for use


class ProposeWriteOff(Payload):
    """Propose writing the laptop off, with a reason, by ``proposer`` (the signed-in
    official, or the one an office's device names); a proposal document is issued.
    Another official approves or declines it."""

    TYPE = "id.serah.command.propose-write-off.v1"
    KIND = "command"
    TOPIC = topics.HANDOVER_COMMANDS

    reason: WriteOffReason
    proposer: Official
    note: Text = Field(default="", max_length=1000)


class WriteOffProposed(Payload):
    """A write-off was proposed; the laptop stays where it is, frozen, until another
    official decides. ``document``: the proposal (usulan penghapusan). Emitted by handover."""

    TYPE = "id.serah.laptop.write-off-proposed.v1"
    KIND = "event"

    office_code: str | None = Field(default=None, pattern=OFFICE_CODE, description="None: in the warehouse.")
    reason: WriteOffReason
    proposer: Official
    condition: Condition
    note: Text = ""
    document: IssuedDocument


class ApproveWriteOff(Payload):
    """Approve the proposed write-off, by ``approver``: an official other than the proposer."""

    TYPE = "id.serah.command.approve-write-off.v1"
    KIND = "command"
    TOPIC = topics.HANDOVER_COMMANDS

    approver: Official
    decree_number: Text | None = Field(default=None, min_length=1, max_length=128, description="SK penghapusan.")
    note: Text = Field(default="", max_length=1000)


class LaptopWrittenOff(Payload):
    """The laptop is written off the books (penghapusan BMN), approved by an official other
    than the proposer. Its label is revoked in the same decision (LabelRevoked follows);
    nothing more can happen to it. Emitted by handover."""

    TYPE = "id.serah.laptop.written-off.v1"
    KIND = "event"

    office_code: str | None = Field(default=None, pattern=OFFICE_CODE)
    reason: WriteOffReason
    proposer: Official
    approver: Official
    decree_number: Text | None = None
    note: Text = ""
    proposal: IssuedDocument


class LabelRevoked(Payload):
    """Every label generation of the laptop is revoked for good, without a successor: a
    scan of it anywhere is refused (``label_revoked``) and is an anomaly. Emitted by
    handover with the write-off it follows from."""

    TYPE = "id.serah.label.revoked.v1"
    KIND = "event"

    generation: int = Field(ge=1, le=999, description="The last generation it carried (and every earlier one).")
    reason: Literal["written_off"] = "written_off"


class DeclineWriteOff(Payload):
    """Decline the proposed write-off, saying why; the laptop returns to where it was."""

    TYPE = "id.serah.command.decline-write-off.v1"
    KIND = "command"
    TOPIC = topics.HANDOVER_COMMANDS

    official: Official
    reason: Text = Field(min_length=1, max_length=1000)


class WriteOffDeclined(Payload):
    """The proposed write-off was declined; the laptop is back in ``returns_to``, the state
    it was proposed from. Emitted by handover."""

    TYPE = "id.serah.laptop.write-off-declined.v1"
    KIND = "event"

    office_code: str | None = Field(default=None, pattern=OFFICE_CODE)
    official: Official
    reason: Text
    returns_to: LifecycleState


# --- an office's list of staff (who may hold its laptops) ---

MAX_ROSTER = 2000


class RecordOfficeRoster(Payload):
    """The office's current list of civil servants who may hold its laptops, replacing the
    previous one. Subject: ``office:<office code>``. Sent by the gateway (or ``serah
    import-holders``); decided by handover."""

    TYPE = "id.serah.command.record-office-roster.v1"
    KIND = "command"
    SUBJECT_KIND = "office"
    TOPIC = topics.HANDOVER_COMMANDS

    office_code: str = Field(pattern=OFFICE_CODE)
    members: list[Holder] = Field(max_length=MAX_ROSTER)


class OfficeRosterRecorded(Payload):
    """The office's list of staff as it stands now; a laptop held by someone not on it is
    an anomaly. Emitted by handover."""

    TYPE = "id.serah.office.roster-recorded.v1"
    KIND = "event"
    SUBJECT_KIND = "office"

    office_code: str = Field(pattern=OFFICE_CODE)
    members: list[Holder]


# --- identity: who may act ---
#
# The gateway decides these (it keeps the credentials) and publishes them itself. The
# subject is ``account:<account id>`` or ``device:<device id>``, so an identity's chain
# can never be mistaken for a laptop's or a consignment's; the actor is the administrator
# who acted. Passwords, tokens and their hashes are never part of them.

ACCOUNT_ID = r"^(nip-[0-9]{18}|acct-[a-z0-9-]{1,48})$"
DEVICE_ID = r"^dev-[0-9a-f]{12}$"
GRANT_SCOPE = r"^(\*|[0-9]{2}|[0-9]{2}\.[0-9]{2}|G-[A-Z0-9]{1,16})$"
# Set where an organisation's identity provider vouched for the person at sign-in: the
# account and its grants then come from the provider's claims, the person is the actor.
PROVIDER = "The identity provider (its issuer URL) whose claims made this change; absent for an administrator's."
RoleName = Literal["admin", "operator", "warehouse", "recipient", "holder", "auditor"]


class GrantHeld(TextChecked):
    """A role and where it reaches: ``*`` (everywhere), a province code or an office code."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    role: RoleName
    scope: str = Field(pattern=GRANT_SCOPE)


class AccountCreated(Payload):
    """An administrator created a person's account with these grants, or the person signed in
    through an identity provider for the first time (``provider``). Emitted by the gateway."""

    TYPE = "id.serah.account.created.v1"
    KIND = "event"
    SUBJECT_KIND = "account"

    account_id: str = Field(pattern=ACCOUNT_ID)
    name: Text = Field(min_length=1, max_length=128)
    nip: str | None = Field(default=None, pattern=NIP)
    jabatan: Text | None = Field(default=None, max_length=128)
    grants: list[GrantHeld] = Field(max_length=600)
    provider: Text | None = Field(default=None, max_length=256, description=PROVIDER)


class AccountGrantsChanged(Payload):
    """An administrator replaced an account's grants with these, or the person's identity
    provider now gives others (``provider``); its sessions ended, so the person acts with the
    new ones from their next sign-in. Emitted by the gateway."""

    TYPE = "id.serah.account.grants-changed.v1"
    KIND = "event"
    SUBJECT_KIND = "account"

    account_id: str = Field(pattern=ACCOUNT_ID)
    grants: list[GrantHeld] = Field(max_length=600)
    provider: Text | None = Field(default=None, max_length=256, description=PROVIDER)


class DeviceEnrolled(Payload):
    """An administrator enrolled a device (a scanner, a phone, a script) with these grants;
    its token was shown once and is kept only hashed. Emitted by the gateway."""

    TYPE = "id.serah.device.enrolled.v1"
    KIND = "event"
    SUBJECT_KIND = "device"

    device_id: str = Field(pattern=DEVICE_ID)
    name: Text = Field(min_length=1, max_length=128)
    grants: list[GrantHeld] = Field(max_length=20)


class DeviceRevoked(Payload):
    """An administrator revoked a device: its token stopped working. Emitted by the gateway."""

    TYPE = "id.serah.device.revoked.v1"
    KIND = "event"
    SUBJECT_KIND = "device"

    device_id: str = Field(pattern=DEVICE_ID)
    name: Text = Field(min_length=1, max_length=128)


KEY_PURPOSE = Literal["label-signing", "receipt-codes", "audit-checkpoints"]
KID = r"^[A-Z][A-Z0-9]{0,7}$"


class KeyRingChanged(Payload):
    """A key ring the gateway holds is not the one it last recorded: a key was rotated in
    (the new one listed first), dropped, or added. Noticed and emitted by the gateway when it
    starts, so no rotation goes unrecorded however it was made; the subject is
    ``key:<purpose>``. Public keys are given where the ring's keys have one (labels,
    checkpoints); the receipt codes' keys are secret, so only their ids."""

    TYPE = "id.serah.key.ring-changed.v1"
    KIND = "event"
    SUBJECT_KIND = "key"

    purpose: KEY_PURPOSE
    active: str | None = Field(default=None, pattern=KID, description="The key that signs or hashes from now on.")
    accepted: list[Annotated[str, Field(pattern=KID)]] = Field(max_length=64, description="Every key still accepted.")
    public_keys: dict[str, str] = Field(
        default_factory=dict, description="Key id to its public key (base64url), where the keys have one."
    )
    previous: list[Annotated[str, Field(pattern=KID)]] = Field(
        default_factory=list, max_length=64, description="The accepted keys last recorded (empty the first time)."
    )


# Every message type, grouped by what it is about.
COMMANDS: tuple[type[Payload], ...] = (
    # laptops
    RegisterLaptop,
    AllocateLaptop,
    DispatchLaptop,
    ReceiveLaptop,
    ReissueLabel,
    AttestUsage,
    AssignLaptop,
    ConfirmAssignment,
    ReturnFromHolder,
    SendForRepair,
    ReturnFromRepair,
    ReportLoss,
    RecoverLaptop,
    ReturnToWarehouse,
    ProposeWriteOff,
    ApproveWriteOff,
    DeclineWriteOff,
    RecordOfficeRoster,
    # consignments
    PlanConsignment,
    ScanIntoConsignment,
    CloseConsignment,
    ConfirmReceipt,
    ReissueReceiptCode,
)
EVENTS: tuple[type[Payload], ...] = (
    # laptops
    LaptopRegistered,
    LaptopAllocated,
    LaptopDispatched,
    LaptopReceived,
    LabelReissued,
    UsageAttested,
    LaptopAssigned,
    AssignmentConfirmed,
    LaptopReturnedByHolder,
    RepairStarted,
    RepairFinished,
    LaptopReportedLost,
    LaptopRecovered,
    LaptopReturnedToWarehouse,
    WriteOffProposed,
    WriteOffDeclined,
    LaptopWrittenOff,
    LabelRevoked,
    OfficeRosterRecorded,
    # consignments
    ConsignmentPlanned,
    LaptopScannedIntoConsignment,
    ConsignmentDispatched,
    ReceiptConfirmed,
    ReceiptReminderRaised,
    ReceiptCodeReissued,
    # identity
    AccountCreated,
    AccountGrantsChanged,
    DeviceEnrolled,
    DeviceRevoked,
    KeyRingChanged,
    # audit
    AnomalyDetected,
    CheckpointSigned,
    # any command's refusal, and any unreadable message
    CommandRejected,
    MessageDeadLettered,
)
BY_TYPE: dict[str, type[Payload]] = {cls.TYPE: cls for cls in COMMANDS + EVENTS}
