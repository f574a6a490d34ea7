"""Handover handlers: load → decide → store → publish, one function per command,
and the reactions that keep this service's view of each laptop current."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from events import codec
from events.catalog import (
    AttestUsage,
    ConfirmReceipt,
    ConsignmentDispatched,
    ConsignmentPlanned,
    LabelReissued,
    LaptopAllocated,
    LaptopDispatched,
    LaptopReceived,
    LaptopRegistered,
    ReceiptConfirmed,
    ReceiptReminderRaised,
    ReceiveLaptop,
    ReissueReceiptCode,
    RejectionReason,
)
from events.envelope import Envelope
from events.refusals import refuse
from services.common.commands import Runtime, learn, learn_many, run_command
from services.common.streams import SubjectStream
from services.handover import bast, consignment, domain
from services.handover.bast_store import BastStore, bast_id
from services.handover.config import HandoverSettings


def summarise(doc: SubjectStream) -> dict[str, Any]:
    laptop = domain.fold(doc.subject, doc.history)
    return {"status": laptop.status, "office_code": laptop.office_code, "consignment_id": laptop.consignment_id}


async def receive_laptop(command: Envelope, rt: Runtime) -> list[Envelope]:
    def decide(doc: SubjectStream | None, env: Envelope, body: ReceiveLaptop) -> list[Any]:
        laptop = domain.fold(env.subject, doc.history if doc else [])
        return [domain.receive(laptop, body, rt.public_keys, env.time)]

    # The dispatch is decided by allocation and learnt here from serah.events, a
    # different topic: catch up on it before calling a receipt premature.
    unsettled = frozenset({RejectionReason.NOT_DISPATCHED, RejectionReason.UNKNOWN_LAPTOP})
    return await run_command(command, decide, summarise, rt, unsettled=unsettled)


async def refuse_unknown_command(command: Envelope, rt: Runtime) -> list[Envelope]:
    detail = f"{command.type} is not a command the handover service handles."
    return await run_command(
        command, lambda doc, env, body: [refuse(env, RejectionReason.INVALID_COMMAND, detail)], summarise, rt
    )


async def attest_usage(command: Envelope, rt: Runtime) -> list[Envelope]:
    """A holder's periodic re-scan (proof of use)."""

    def decide(doc: SubjectStream | None, env: Envelope, body: AttestUsage) -> list[Any]:
        laptop = domain.fold(env.subject, doc.history if doc else [])
        return [domain.attest(laptop, body, rt.public_keys, env.time)]

    return await run_command(command, decide, summarise, rt, unsettled=frozenset({RejectionReason.UNKNOWN_LAPTOP}))


COMMANDS = {ReceiveLaptop.TYPE: receive_laptop, AttestUsage.TYPE: attest_usage}


# --- receipt of a consignment, and its BAST ---


@dataclass
class Receipts:
    """What confirming a consignment's receipt needs besides the laptop runtime."""

    consignments: Runtime  # the same runtime over handover_consignments
    basts: BastStore
    settings: HandoverSettings
    render: Callable[[bast.Bast], bytes]  # adapters/bast_pdf.render; the PDF library stays in adapters


def summarise_consignment(doc: SubjectStream) -> dict[str, Any]:
    return consignment.summary(consignment.fold(doc.subject, doc.history))


def _description(doc: SubjectStream | None) -> dict[str, Any]:
    registered = next((e for e in (doc.history if doc else []) if e.type == LaptopRegistered.TYPE), None)
    return dict(registered.data["laptop"]) if registered else {}


def _bast(
    c: consignment.Consignment, receipt: dict[str, Any], laptops: dict[str, dict[str, Any]], s: HandoverSettings
) -> bast.Bast:
    """The BAST of one receipt, from recorded facts only, so it renders the same bytes again."""

    def item(asset: str, condition: str = "B", note: str = "") -> bast.Item:
        d = laptops.get(asset, {})
        bmn = d.get("bmn") or {}
        return bast.Item(
            asset_id=asset,
            name="Laptop",
            brand_type=f"{d.get('brand', '-')} / {d.get('model', '-')}",
            serial=d.get("serial", asset),
            kode_barang=bmn.get("kode_barang") or "-",
            nup=str(bmn.get("nup") or "-"),
            condition=condition,
            value=bmn.get("acquisition_value"),
            note=note,
        )

    plan = c.plan
    official = receipt["official"]
    legal = plan["legal_basis"]
    return bast.Bast(
        number=receipt["bast_number"],
        consignment_id=c.consignment_id,
        place=s.bast_place,
        at=datetime.fromisoformat(receipt["confirmed_at"]),
        first=bast.Party(
            s.warehouse_official_name,
            s.warehouse_official_nip,
            s.warehouse_official_jabatan,
            s.warehouse_office_name,
        ),
        second=bast.Party(official["name"], official["nip"], official["jabatan"], plan["office_name"]),
        legal_kind=legal["kind"],
        legal_number=legal["number"],
        legal_date=str(legal["date"]),
        items=[item(line["asset_id"], line["condition"], line["note"]) for line in receipt["lines"]],
        missing=[item(a) for a in receipt["missing"]],
        originals=s.bast_originals,
        verify_url=f"{s.public_base_url.rstrip('/')}/bast/{c.consignment_id}",
    )


def _bast_number(c: consignment.Consignment, seq: int, at: datetime, s: HandoverSettings) -> str:
    return s.bast_number_pattern.format(
        seq=seq, office_code=c.plan["office_code"], year=at.year, month=at.month, consignment_id=c.consignment_id
    )


async def confirm_receipt(command: Envelope, rt: Runtime, receipts: Receipts) -> list[Envelope]:
    crt, s = receipts.consignments, receipts.settings
    # The BAST lists the dispatched laptops' descriptions and states; read them
    # first, caught up on what was published before this receipt is decided.
    state = await crt.store.load(command.subject)
    if not consignment.fold(command.subject, state.history if state else []).dispatched:
        await crt.catch_up([command.subject])
        state = await crt.store.load(command.subject)
    c0 = consignment.fold(command.subject, state.history if state else [])
    found = await rt.store.load_many(list(c0.dispatched))
    if missing := [a for a in c0.dispatched if a not in found]:
        await rt.catch_up(missing)
        found |= await rt.store.load_many(missing)
    laptops = {a: _description(found.get(a)) for a in c0.dispatched}
    received_alone = {a for a, d in found.items() if domain.fold(a, d.history).status == "received"}

    def decide(doc: SubjectStream | None, env: Envelope, body: ConfirmReceipt) -> list[Any]:
        c = consignment.fold(env.subject, doc.history if doc else [])
        refusal = consignment.check(c, body, env.time, received_alone)
        if refusal is not None:
            return [refusal]
        seq = c.receipts + 1
        draft = consignment.confirm(c, body, env.time.isoformat(), _bast_number(c, seq, env.time, s), "0" * 64)
        pdf = receipts.render(_bast(c, draft.model_dump(mode="json"), laptops, s))
        return [draft.model_copy(update={"bast_sha256": hashlib.sha256(pdf).hexdigest()})]

    # The plan and the dispatch come from allocation on serah.events: give them a moment.
    unsettled = frozenset({RejectionReason.UNKNOWN_CONSIGNMENT, RejectionReason.NOT_DISPATCHED})
    events = await run_command(command, decide, summarise_consignment, crt, unsettled=unsettled)
    await _issue(command, events, rt, receipts, laptops)
    return events


async def _issue(
    command: Envelope, events: list[Envelope], rt: Runtime, receipts: Receipts, laptops: dict[str, dict[str, Any]]
) -> None:
    """After the consignment append (the commit point): store the BAST and tell each
    received laptop. Both are idempotent (deterministic PDF, deterministic event ids
    learnt once), so a redelivered command that replays its events heals a crash here."""
    for fact in events:
        if fact.type != ReceiptConfirmed.TYPE:
            continue
        doc = await receipts.consignments.store.load(fact.subject)
        c = consignment.fold(fact.subject, _history_before(doc, fact))
        pdf = receipts.render(_bast(c, fact.data, laptops, receipts.settings))
        key = bast_id(fact.subject, fact.data["seq"])
        if await receipts.basts.get(key) is None:
            await receipts.basts.put(
                key,
                {
                    "consignment_id": fact.subject,
                    "seq": fact.data["seq"],
                    "number": fact.data["bast_number"],
                    "sha256": hashlib.sha256(pdf).hexdigest(),
                    "recorded_sha256": fact.data["bast_sha256"],
                    "pdf": pdf,
                },
            )
        out = []
        for line in fact.data["lines"]:
            body = LaptopReceived(office_code=fact.data["office_code"], condition=line["condition"], note=line["note"])
            env = codec.make(
                body,
                subject=line["asset_id"],
                source=rt.source,
                time=fact.time,
                id=codec.caused_id(command, 0, subject=line["asset_id"]),
                causation_id=command.id,
                actor=command.actor,
            )
            await learn(env, summarise, rt)
            out.append(env)
        await rt.publisher.publish(out)


def _history_before(doc: SubjectStream | None, fact: Envelope) -> list[Envelope]:
    history = doc.history if doc else []
    for i, e in enumerate(history):
        if e.id == fact.id:
            return history[:i]
    return history


# --- late receipt ---

log = logging.getLogger(__name__)
LATE_STATUSES = ("in_transit", "partly_received")


def reminder_id(consignment_id: str, threshold_days: float) -> str:
    """One id per consignment and threshold: whoever raises it, however often, it is one fact."""
    return codec.event_id(ReceiptReminderRaised.TYPE, consignment_id, f"threshold-{threshold_days!r}", 0)


async def sweep_late_receipts(receipts: Receipts) -> list[Envelope]:
    """Timed rule: raise a reminder for each consignment still not fully received
    after each configured threshold, once. The reminder is published *before* it is
    recorded in the consignment document: a crash in between (or a second worker
    sweeping at the same time) publishes the same id again, which readers dedupe, and
    the version-guarded record keeps exactly one in the document; recording first would
    lose the reminder if the worker died before publishing."""
    crt, s = receipts.consignments, receipts.settings
    now = crt.clock()
    raised: list[Envelope] = []
    for status in LATE_STATUSES:
        for doc in await crt.store.find_by(status=status):
            try:
                due = consignment.reminders_due(
                    consignment.fold(doc.subject, doc.history), now, s.receipt_reminder_thresholds()
                )
            except (KeyError, TypeError, ValueError):  # one unreadable document must not stop the others' reminders
                log.exception("late-receipt sweep skipped consignment %s", doc.subject)
                continue
            for fact in due:
                env = codec.make(
                    fact,
                    subject=doc.subject,
                    source=crt.source,
                    # The moment it became due, not the sweep's clock: raised again after a
                    # crash, or by a second worker, it is the same bytes under the same id.
                    time=datetime.fromisoformat(fact.due_at),
                    id=reminder_id(doc.subject, fact.threshold_days),
                )
                await crt.publisher.publish([env])
                await learn(env, summarise_consignment, crt)
                raised.append(env)
    return raised


async def when_consignment_moves_track_it(event: Envelope, receipts: Receipts) -> None:
    await learn(event, summarise_consignment, receipts.consignments)


async def reissue_receipt_code(command: Envelope, receipts: Receipts) -> list[Envelope]:
    """A new receipt code for a consignment; the old one stops working."""

    def decide(doc: SubjectStream | None, env: Envelope, body: ReissueReceiptCode) -> list[Any]:
        return [consignment.reissue_code(consignment.fold(env.subject, doc.history if doc else []), body)]

    # The plan comes from allocation on serah.events: give it a moment.
    unsettled = frozenset({RejectionReason.UNKNOWN_CONSIGNMENT})
    return await run_command(command, decide, summarise_consignment, receipts.consignments, unsettled=unsettled)


async def handle(command: Envelope, rt: Runtime, receipts: Receipts | None = None) -> list[Envelope]:
    if command.type == ConfirmReceipt.TYPE and receipts is not None:
        return await confirm_receipt(command, rt, receipts)
    if command.type == ReissueReceiptCode.TYPE and receipts is not None:
        return await reissue_receipt_code(command, receipts)
    return await COMMANDS.get(command.type, refuse_unknown_command)(command, rt)


async def when_laptop_moves_track_it(event: Envelope, rt: Runtime) -> None:
    await learn(event, summarise, rt)


REACTIONS = {
    LaptopRegistered.TYPE: when_laptop_moves_track_it,
    LaptopAllocated.TYPE: when_laptop_moves_track_it,
    LaptopDispatched.TYPE: when_laptop_moves_track_it,
    LabelReissued.TYPE: when_laptop_moves_track_it,
}


CONSIGNMENT_REACTIONS = {ConsignmentPlanned.TYPE, ConsignmentDispatched.TYPE}


async def on_event(event: Envelope, rt: Runtime, receipts: Receipts | None = None) -> None:
    if event.type in CONSIGNMENT_REACTIONS and receipts is not None:
        await when_consignment_moves_track_it(event, receipts)
    reaction = REACTIONS.get(event.type)
    if reaction is not None:
        await reaction(event, rt)


# --- registration at scale: the laptop facts of a batch learnt together ---


def batchable_event(event: Envelope) -> bool:
    # Consignment facts are keyed by consignment and learnt into another store:
    # they keep the one-at-a-time path.
    return event.type not in CONSIGNMENT_REACTIONS


async def on_events(events: list[Envelope], rt: Runtime) -> set[str]:
    """on_event for a batch of laptop facts: the reactions all learn, so learn
    them with one read and one append_many; other events need nothing here."""
    return await learn_many([e for e in events if e.type in REACTIONS], summarise, rt)
