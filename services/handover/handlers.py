"""Handover handlers: load → decide → store → publish, one function per command,
and the reactions that keep this service's view of each laptop current."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from events import codec, offices
from events.catalog import (
    AttestUsage,
    CommandRejected,
    ConfirmReceipt,
    ConsignmentDispatched,
    ConsignmentPlanned,
    LabelReissued,
    LaptopAllocated,
    LaptopAssigned,
    LaptopDispatched,
    LaptopReceived,
    LaptopRegistered,
    Payload,
    ReceiptConfirmed,
    ReceiptReminderRaised,
    ReceiveLaptop,
    RecordOfficeRoster,
    ReissueReceiptCode,
    RejectionReason,
    WriteOffProposed,
)
from events.envelope import Envelope
from events.refusals import refuse
from services.common.commands import (
    STANDS,
    Backlog,
    Hold,
    Runtime,
    Wait,
    consequence,
    learn,
    learn_and_publish,
    learn_many,
    refuse_unknown_command,
    run_command,
)
from services.common.streams import SubjectStream
from services.handover import bast, consignment, domain, lifecycle, roster
from services.handover import documents as docs
from services.handover.bast_store import BastStore, bast_id
from services.handover.config import HandoverSettings
from services.handover.consignment import Consignment
from services.handover.domain import Laptop
from services.handover.held import HeldReceipt, HeldReceipts
from services.handover.roster import Roster

SERVICE = "handover"


@dataclass
class HandoverRuntime:
    """What the handover handlers need: a runtime over each kind of stream the
    service keeps (laptops, and consignments keyed by consignment id), where the
    BASTs are kept, their wording, how their PDF is drawn
    (adapters/bast_pdf.render; the PDF library stays in adapters), and the key ring
    receipt codes are checked with (events/receipt_codes.py)."""

    laptops: Runtime[Laptop]
    consignments: Runtime[Consignment]
    basts: BastStore
    held: HeldReceipts
    backlog: Backlog  # the allocation service's undecided commands
    settings: HandoverSettings
    render: Callable[[bast.Bast], bytes]
    receipt_code_keys: Mapping[str, bytes]
    # the holder's berita acara and the write-off proposal: where they are kept, how drawn
    documents: BastStore
    render_document: Callable[[docs.Document], bytes]
    rosters: Runtime[Roster]


async def receive_laptop(command: Envelope, rt: HandoverRuntime) -> list[Envelope]:
    # The dispatch is decided by allocation and learnt here from serah.events, a
    # different topic: catch up on it before calling a receipt premature.
    unsettled = frozenset({RejectionReason.NOT_DISPATCHED, RejectionReason.UNKNOWN_LAPTOP})
    return await decide_custody(command, rt, unsettled, hold=_holding(rt, domain.awaits_dispatch))


async def attest_usage(command: Envelope, rt: HandoverRuntime) -> list[Envelope]:
    """A holder's periodic re-scan (proof of use)."""
    return await decide_custody(command, rt)


# --- custody after receipt: holders, repair, loss, return, write-off ---

DOCUMENTED = frozenset({LaptopAssigned.TYPE, WriteOffProposed.TYPE})


async def decide_custody(
    command: Envelope,
    rt: HandoverRuntime,
    unsettled: frozenset[RejectionReason] = frozenset({RejectionReason.UNKNOWN_LAPTOP}),
    hold: Hold[Laptop] | None = None,
) -> list[Envelope]:
    """Any command of the custody table (services/handover/lifecycle.py). A fact that
    issues a document (the holder's berita acara, the write-off proposal) is decided with
    its PDF's SHA-256; the PDF is stored once the fact is, like a BAST. Registration is
    learnt from allocation on serah.events: an unknown laptop may only be one not read yet."""
    keys = rt.laptops.public_keys
    description: dict[str, Any] = {}
    if command.type in (cls.TYPE for cls in lifecycle.ISSUES_DOCUMENT):
        description = _description(await rt.laptops.store.load(command.subject))

    def decide(laptop: Laptop, env: Envelope, body: Payload) -> Payload | list[Payload]:
        facts = lifecycle.decide(laptop, body, keys, env.time)
        return [_signed(f, laptop.asset_id, description, rt) for f in (facts if isinstance(facts, list) else [facts])]

    events = await run_command(command, decide, rt.laptops, unsettled=unsettled, hold=hold)
    await _file_documents(events, rt)
    return events


def _document(
    fact_type: str, data: Mapping[str, Any], asset_id: str, described: Mapping[str, Any], s: HandoverSettings
) -> docs.Document:
    """The document a fact issues, from the fact's own data only, so it renders the same bytes again."""
    doc = data["document"]
    office_code = data.get("office_code")
    office = offices.get(office_code) if office_code else None
    office_name = office.name if office else s.warehouse_office_name
    item = _item(asset_id, described, data["condition"])
    url = f"{s.public_base_url.rstrip('/')}/api/v1/documents/{doc['id']}"
    at = datetime.fromisoformat(doc["issued_at"])
    if fact_type == LaptopAssigned.TYPE:
        by, holder = data["assigned_by"], data["holder"]
        return docs.Assignment(
            number=doc["number"],
            place=s.bast_place,
            at=at,
            first=bast.Party(by["name"], by["nip"], by["jabatan"], office_name),
            holder=bast.Party(holder["name"], holder["nip"], holder["jabatan"], office_name),
            unit=holder["unit"],
            item=item,
            verify_url=url,
        )
    p = data["proposer"]
    return docs.WriteOffProposal(
        number=doc["number"],
        place=s.bast_place,
        at=at,
        proposer=bast.Party(p["name"], p["nip"], p["jabatan"], office_name),
        reason=data["reason"],
        note=data.get("note", ""),
        item=item,
        verify_url=url,
    )


def _signed(fact: Payload, asset_id: str, described: Mapping[str, Any], rt: HandoverRuntime) -> Payload:
    """A fact that issues a document, with the SHA-256 of the document's PDF."""
    if not isinstance(fact, LaptopAssigned | WriteOffProposed):
        return fact
    data = fact.model_dump(mode="json")
    pdf = rt.render_document(_document(fact.TYPE, data, asset_id, described, rt.settings))
    issued = fact.document.model_copy(update={"sha256": hashlib.sha256(pdf).hexdigest()})
    return fact.model_copy(update={"document": issued})


async def _file_documents(events: list[Envelope], rt: HandoverRuntime) -> None:
    """After the append (the commit point): keep each issued document's PDF. Idempotent
    (a deterministic PDF under the document's id), so a redelivery heals a crash here."""
    for fact in events:
        if fact.type not in DOCUMENTED:
            continue
        doc = fact.data["document"]
        if await rt.documents.get(doc["id"]) is not None:
            continue
        described = _description(await rt.laptops.store.load(fact.subject))
        pdf = rt.render_document(_document(fact.type, fact.data, fact.subject, described, rt.settings))
        await rt.documents.put(
            doc["id"],
            {
                "asset_id": fact.subject,
                "kind": doc["id"].removeprefix(fact.subject + "-").rsplit("-", 1)[0],
                "number": doc["number"],
                "issued_at": doc["issued_at"],
                "office_code": fact.data.get("office_code"),
                "sha256": hashlib.sha256(pdf).hexdigest(),
                "recorded_sha256": doc["sha256"],
                "pdf": pdf,
            },
        )


async def record_office_roster(command: Envelope, rt: HandoverRuntime) -> list[Envelope]:
    """An office's list of staff who may hold its laptops."""

    def decide(r: Roster, env: Envelope, body: RecordOfficeRoster) -> Payload:
        return roster.record(r, body)

    return await run_command(command, decide, rt.rosters)


# --- a receipt held while its dispatch may be undecided (services/handover/held.py) ---


def _holding(rt: HandoverRuntime, awaits_dispatch: Callable[[Any], bool]) -> Hold[Any]:
    async def hold(command: Envelope, state: Any, facts: list[Payload]) -> Wait:
        early = any(isinstance(f, CommandRejected) and f.reason == RejectionReason.NOT_DISPATCHED for f in facts)
        if not early or not awaits_dispatch(state):
            return STANDS
        now = rt.laptops.clock()
        held = await rt.held.get(command.id)
        if held is None:
            mark = await rt.backlog.mark(command.subject)
            if mark is None:  # every dispatch sent before it is decided: the refusal stands, once read
                return Wait(recheck=True)
            until = now + timedelta(seconds=rt.settings.receipt_hold_s)
            held = await rt.held.hold(HeldReceipt(command, now, until, mark))
        if (await rt.backlog.decided()).get(held.mark.partition, 0) >= held.mark.offset:
            return Wait(recheck=True)
        if now >= held.until:
            minutes = (held.until - held.held_at) / timedelta(minutes=1)
            return Wait(
                recheck=True,
                instead=refuse(
                    codec.payload(command),
                    RejectionReason.NOT_DISPATCHED,
                    f"{command.subject} was not dispatched: the warehouse's scans sent before this receipt were still "
                    f"not all decided {minutes:g} minutes later (its service is behind or stopped), so no dispatch "
                    "was known. Once the dispatch is confirmed, scan the receipt again.",
                ),
            )
        return Wait(hold=True)

    return hold


async def decide_held_receipts(rt: HandoverRuntime) -> list[Envelope]:
    """Timed: decide each held receipt whose wait is over (its dispatch learnt, every command
    sent before it decided, or its time run out), oldest first, then let it go. A crash
    before the release leaves it held: deciding it again replays the same decision."""
    held = await rt.held.all()
    if not held:
        return []
    decided = await rt.backlog.decided()
    now = rt.laptops.clock()
    out: list[Envelope] = []
    for h in sorted(held, key=lambda h: (h.held_at, h.command.time)):
        over = now >= h.until or decided.get(h.mark.partition, 0) >= h.mark.offset
        if not over and not await _left(h.command, rt):
            continue
        events = await handle(h.command, rt)
        if events:
            await rt.held.release(h.command.id)
            out += events
    return out


async def _left(command: Envelope, rt: HandoverRuntime) -> bool:
    if command.type == ConfirmReceipt.TYPE:
        c = rt.consignments.state(command.subject, await rt.consignments.store.load(command.subject))
        return not consignment.awaits_dispatch(c)
    laptop = rt.laptops.state(command.subject, await rt.laptops.store.load(command.subject))
    return not domain.awaits_dispatch(laptop)


# --- receipt of a consignment, and its BAST ---


def _description(doc: SubjectStream | None) -> dict[str, Any]:
    registered = next((e for e in (doc.history if doc else []) if e.type == LaptopRegistered.TYPE), None)
    return dict(registered.data["laptop"]) if registered else {}


def _item(asset: str, d: Mapping[str, Any], condition: str = "B", note: str = "") -> bast.Item:
    """A laptop as an official document's item table lists it, from its registration."""
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


def _bast(
    c: Consignment, receipt: dict[str, Any], laptops: dict[str, dict[str, Any]], s: HandoverSettings
) -> bast.Bast:
    """The BAST of one receipt, from recorded facts only, so it renders the same bytes again.
    A transfer's first party signs for the giving office, the warehouse's for the warehouse."""

    def item(asset: str, condition: str = "B", note: str = "") -> bast.Item:
        return _item(asset, laptops.get(asset, {}), condition, note)

    plan, dispatcher = c.plan, c.dispatcher
    official = receipt["official"]
    legal = plan["legal_basis"]
    return bast.Bast(
        number=receipt["bast_number"],
        consignment_id=c.consignment_id,
        place=s.bast_place,
        at=datetime.fromisoformat(receipt["confirmed_at"]),
        first=bast.Party(
            dispatcher["name"],
            dispatcher["nip"],
            dispatcher["jabatan"],
            plan.get("from_office_name") or s.warehouse_office_name,
        ),
        second=bast.Party(official["name"], official["nip"], official["jabatan"], plan["office_name"]),
        legal_kind=legal["kind"],
        legal_number=legal["number"],
        legal_date=str(legal["date"]),
        items=[item(line["asset_id"], line["condition"], line["note"]) for line in receipt["lines"]],
        missing=[item(a) for a in receipt["missing"]],
        originals=s.bast_originals,
        verify_url=f"{s.public_base_url.rstrip('/')}/bast/{c.consignment_id}",
        transfer=plan.get("from_office") is not None,
    )


def _bast_number(c: Consignment, seq: int, at: datetime, s: HandoverSettings) -> str:
    return s.bast_number_pattern.format(
        seq=seq, office_code=c.plan["office_code"], year=at.year, month=at.month, consignment_id=c.consignment_id
    )


async def confirm_receipt(command: Envelope, rt: HandoverRuntime) -> list[Envelope]:
    crt, s = rt.consignments, rt.settings
    # The BAST lists the dispatched laptops' descriptions and states; read them
    # first, caught up on what was published before this receipt is decided.
    stored = await crt.store.load(command.subject)
    if not crt.state(command.subject, stored).dispatched:
        await crt.catch_up([command.subject])
        stored = await crt.store.load(command.subject)
    c0 = crt.state(command.subject, stored)
    found = await rt.laptops.store.load_many(list(c0.dispatched))
    if missing := [a for a in c0.dispatched if a not in found]:
        await rt.laptops.catch_up(missing)
        found |= await rt.laptops.store.load_many(missing)
    laptops = {a: _description(found.get(a)) for a in c0.dispatched}
    received_alone = {a for a, d in found.items() if rt.laptops.state(a, d).status == "received"}

    def decide(c: Consignment, env: Envelope, body: ConfirmReceipt) -> Payload:
        refusal = consignment.check(c, body, env.time, rt.receipt_code_keys, received_alone)
        if refusal is not None:
            return refusal
        seq = c.receipts + 1
        draft = consignment.confirm(c, body, env.time.isoformat(), _bast_number(c, seq, env.time, s), "0" * 64)
        pdf = rt.render(_bast(c, draft.model_dump(mode="json"), laptops, s))
        return draft.model_copy(update={"bast_sha256": hashlib.sha256(pdf).hexdigest()})

    # The plan and the dispatch come from allocation on serah.events: give them a moment.
    unsettled = frozenset({RejectionReason.UNKNOWN_CONSIGNMENT, RejectionReason.NOT_DISPATCHED})
    events = await run_command(
        command, decide, crt, unsettled=unsettled, hold=_holding(rt, consignment.awaits_dispatch)
    )
    await _issue(command, events, rt, laptops)
    return events


async def _issue(
    command: Envelope, events: list[Envelope], rt: HandoverRuntime, laptops: dict[str, dict[str, Any]]
) -> None:
    """After the consignment append (the commit point): store the BAST and tell each
    received laptop. Both are idempotent (deterministic PDF, deterministic event ids
    learnt once), so a redelivered command that replays its events heals a crash here."""
    for fact in events:
        if fact.type != ReceiptConfirmed.TYPE:
            continue
        doc = await rt.consignments.store.load(fact.subject)
        c = rt.consignments.fold(fact.subject, _history_before(doc, fact))
        pdf = rt.render(_bast(c, fact.data, laptops, rt.settings))
        key = bast_id(fact.subject, fact.data["seq"])
        if await rt.basts.get(key) is None:
            await rt.basts.put(
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
        received = [
            consequence(
                command,
                LaptopReceived(
                    office_code=fact.data["office_code"],
                    condition=line["condition"],
                    note=line["note"],
                    received_at=fact.data["confirmed_at"],
                ),
                rt.laptops,
                subject=line["asset_id"],
                id=codec.caused_id(command, 0, subject=line["asset_id"]),
                time=fact.time,
            )
            for line in fact.data["lines"]
        ]
        await learn_and_publish(received, rt.laptops)


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


async def sweep_late_receipts(rt: HandoverRuntime) -> list[Envelope]:
    """Timed rule: raise a reminder for each consignment still not fully received
    after each configured threshold, once. The reminder is published *before* it is
    recorded in the consignment document: a crash in between (or a second worker
    sweeping at the same time) publishes the same id again, which readers dedupe, and
    the version-guarded record keeps exactly one in the document; recording first would
    lose the reminder if the worker died before publishing."""
    crt, s = rt.consignments, rt.settings
    now = crt.clock()
    raised: list[Envelope] = []
    for status in LATE_STATUSES:
        # Summaries only: what a reminder needs, without reading and folding each whole stream.
        for subject, summary in await crt.store.summaries_by(status=status):
            try:
                late = consignment.from_summary(subject, summary)
                due = consignment.reminders_due(late, now, s.receipt_reminder_thresholds())
            except (KeyError, TypeError, ValueError):  # one unreadable document must not stop the others' reminders
                log.exception("late-receipt sweep skipped consignment %s", subject)
                continue
            for fact in due:
                env = codec.make(
                    fact,
                    subject=subject,
                    source=crt.source,
                    # The moment it became due, not the sweep's clock: raised again after a
                    # crash, or by a second worker, it is the same bytes under the same id.
                    time=datetime.fromisoformat(fact.due_at),
                    id=reminder_id(subject, fact.threshold_days),
                )
                await crt.publisher.publish([env])
                await learn(env, crt)
                raised.append(env)
    return raised


async def when_consignment_moves_track_it(event: Envelope, rt: HandoverRuntime) -> None:
    await learn(event, rt.consignments)


async def reissue_receipt_code(command: Envelope, rt: HandoverRuntime) -> list[Envelope]:
    """A new receipt code for a consignment; the old one stops working."""

    def decide(c: Consignment, env: Envelope, body: ReissueReceiptCode) -> Payload:
        return consignment.reissue_code(c, body)

    # The plan comes from allocation on serah.events: give it a moment.
    unsettled = frozenset({RejectionReason.UNKNOWN_CONSIGNMENT})
    return await run_command(command, decide, rt.consignments, unsettled=unsettled)


COMMANDS = {
    **{cls.TYPE: decide_custody for cls in lifecycle.COMMANDS},
    ReceiveLaptop.TYPE: receive_laptop,
    AttestUsage.TYPE: attest_usage,
    ConfirmReceipt.TYPE: confirm_receipt,
    ReissueReceiptCode.TYPE: reissue_receipt_code,
    RecordOfficeRoster.TYPE: record_office_roster,
}


async def handle(command: Envelope, rt: HandoverRuntime) -> list[Envelope]:
    handler = COMMANDS.get(command.type)
    if handler is None:
        return await refuse_unknown_command(command, rt.laptops, SERVICE)
    return await handler(command, rt)


async def when_laptop_moves_track_it(event: Envelope, rt: HandoverRuntime) -> None:
    await learn(event, rt.laptops)


REACTIONS = {
    LaptopRegistered.TYPE: when_laptop_moves_track_it,
    LaptopAllocated.TYPE: when_laptop_moves_track_it,
    LaptopDispatched.TYPE: when_laptop_moves_track_it,
    LabelReissued.TYPE: when_laptop_moves_track_it,
}


CONSIGNMENT_REACTIONS = {ConsignmentPlanned.TYPE, ConsignmentDispatched.TYPE}


async def on_event(event: Envelope, rt: HandoverRuntime) -> None:
    if event.type in CONSIGNMENT_REACTIONS:
        await when_consignment_moves_track_it(event, rt)
    reaction = REACTIONS.get(event.type)
    if reaction is not None:
        await reaction(event, rt)


# --- registration at scale: the laptop facts of a batch learnt together ---


def batchable_event(event: Envelope) -> bool:
    # Consignment facts are keyed by consignment and learnt into another store:
    # they keep the one-at-a-time path.
    return event.type not in CONSIGNMENT_REACTIONS


async def on_events(events: list[Envelope], rt: HandoverRuntime) -> set[str]:
    """on_event for a batch of laptop facts: the reactions all learn, so learn
    them with one read and one append_many; other events need nothing here."""
    return await learn_many([e for e in events if e.type in REACTIONS], rt.laptops)
