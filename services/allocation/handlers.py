"""Allocation handlers: load → decide → store → publish, one function per command."""

from __future__ import annotations

from typing import Any

from events import codec
from events.catalog import (
    AllocateLaptop,
    CloseConsignment,
    DispatchLaptop,
    LaptopReceived,
    LaptopScannedIntoConsignment,
    PlanConsignment,
    RegisterLaptop,
    ReissueLabel,
    RejectionReason,
    ScanIntoConsignment,
)
from events.envelope import Envelope
from events.refusals import refuse
from services.allocation import consignment, domain
from services.common.commands import Decide, Runtime, learn, learn_many, run_command, run_commands
from services.common.streams import SubjectStream


def summarise(doc: SubjectStream) -> dict[str, Any]:
    laptop = domain.fold(doc.subject, doc.history)
    return {
        "status": laptop.status,
        "serial": laptop.serial,
        "office_code": laptop.office_code,
        "consignment_id": laptop.consignment_id,
        "label_generation": laptop.label_generation,
    }


def _laptop(doc: SubjectStream | None, command: Envelope) -> domain.Laptop:
    return domain.fold(command.subject, doc.history if doc else [])


def _register(doc: SubjectStream | None, env: Envelope, body: Any) -> list[Any]:
    return [domain.register(_laptop(doc, env), body)]


def _allocate(doc: SubjectStream | None, env: Envelope, body: Any) -> list[Any]:
    return [domain.allocate(_laptop(doc, env), body)]


def _reissue(doc: SubjectStream | None, env: Envelope, body: Any) -> list[Any]:
    return [domain.reissue_label(_laptop(doc, env), body)]


def _decider(command_type: str, rt: Runtime) -> Decide:
    """The pure decision of each laptop command (shared by the one-at-a-time and the batch path)."""
    if command_type == DispatchLaptop.TYPE:
        return lambda doc, env, body: [domain.dispatch(_laptop(doc, env), body, rt.public_keys)]
    return {RegisterLaptop.TYPE: _register, AllocateLaptop.TYPE: _allocate, ReissueLabel.TYPE: _reissue}[command_type]


async def register_laptop(command: Envelope, rt: Runtime) -> list[Envelope]:
    return await run_command(command, _decider(RegisterLaptop.TYPE, rt), summarise, rt)


async def allocate_laptop(command: Envelope, rt: Runtime) -> list[Envelope]:
    return await run_command(command, _decider(AllocateLaptop.TYPE, rt), summarise, rt)


async def dispatch_laptop(command: Envelope, rt: Runtime) -> list[Envelope]:
    return await run_command(command, _decider(DispatchLaptop.TYPE, rt), summarise, rt)


async def reissue_label(command: Envelope, rt: Runtime) -> list[Envelope]:
    return await run_command(command, _decider(ReissueLabel.TYPE, rt), summarise, rt)


async def refuse_unknown_command(command: Envelope, rt: Runtime) -> list[Envelope]:
    detail = f"{command.type} is not a command the allocation service handles."
    return await run_command(
        command, lambda doc, env, body: [refuse(env, RejectionReason.INVALID_COMMAND, detail)], summarise, rt
    )


# --- consignments (their own documents, keyed by consignment id) ---


def summarise_consignment(doc: SubjectStream) -> dict[str, Any]:
    return consignment.summary(consignment.fold(doc.subject, doc.history))


async def _laptops(rt: Runtime, asset_ids: list[str]) -> dict[str, domain.Laptop]:
    out = {}
    for asset in asset_ids:
        doc = await rt.store.load(asset)
        out[asset] = domain.fold(asset, doc.history if doc else [])
    return out


async def _fan_out(command: Envelope, events: list[Envelope], rt: Runtime) -> None:
    """Tell each laptop what its consignment's fact means for it. The consignment
    document append was the commit point; these per-laptop facts have ids derived
    from the command, and learn() folds each once, so a crash between the two is
    healed when the redelivered command replays its stored events and comes here again."""
    c = consignment.Consignment(command.subject)
    out = []
    for fact in events:
        for asset, body in consignment.per_laptop(c, fact):
            env = codec.make(
                body,
                subject=asset,
                source=rt.source,
                time=fact.time,
                id=codec.event_id(command.type, asset, command.id, 0),
                causation_id=command.id,
                actor=command.actor,
            )
            await learn(env, summarise, rt)
            out.append(env)
    if out:
        await rt.publisher.publish(out)


async def plan_consignment(command: Envelope, rt: Runtime, crt: Runtime) -> list[Envelope]:
    body = _body_or_none(command, PlanConsignment)
    laptops = await _laptops(rt, list(body.expected)) if body else {}

    def decide(doc: SubjectStream | None, env: Envelope, body: PlanConsignment) -> list[Any]:
        return [consignment.plan(consignment.fold(env.subject, doc.history if doc else []), body, laptops)]

    events = await run_command(command, decide, summarise_consignment, crt)
    await _fan_out(command, events, rt)
    return events


async def scan_into_consignment(command: Envelope, rt: Runtime, crt: Runtime) -> list[Envelope]:
    body = _body_or_none(command, ScanIntoConsignment)
    asset = consignment.scan_target(body.label) if body else None
    laptop = (await _laptops(rt, [asset]))[asset] if asset else domain.Laptop("")
    claimed = None
    if asset:  # decide on the laptop as the claim saw it (and left it)
        claimed, laptop = await _claim_picked_laptop(command, body, laptop, rt, crt)

    def decide(doc: SubjectStream | None, env: Envelope, body: ScanIntoConsignment) -> list[Any]:
        c = consignment.fold(env.subject, doc.history if doc else [])
        return [consignment.scan(c, laptop, body, rt.public_keys)]

    events = await run_command(command, decide, summarise_consignment, crt)
    if claimed is not None:
        await rt.publisher.publish([claimed])
    return events


async def _claim_picked_laptop(
    command: Envelope, body: ScanIntoConsignment | None, laptop: domain.Laptop, rt: Runtime, crt: Runtime
) -> tuple[Envelope | None, domain.Laptop]:
    """Plans by count: allocate the picked laptop to this consignment in the
    laptop's own document first, guarded by the version the decision was made on. Two
    consignments picking one laptop at once: one append wins, the other raises
    VersionConflict, is retried in place and now finds it ``belongs_to_other_consignment``.
    The claim's id comes from the scan, so a redelivered scan finds (and re-publishes) it."""
    claim_id = codec.event_id(command.type, laptop.asset_id, command.id, 0)
    ldoc = await rt.store.load(laptop.asset_id)
    current = domain.fold(laptop.asset_id, ldoc.history if ldoc else [])
    if ldoc is not None and (earlier := ldoc.find(claim_id)) is not None:
        return earlier, current
    cdoc = await crt.store.load(command.subject)
    if body is None or ldoc is None or cdoc is None or cdoc.replay_of(command):
        return None, current
    c = consignment.fold(command.subject, cdoc.history)
    fact = consignment.claim(c, current)
    if fact is None or not isinstance(consignment.scan(c, current, body, rt.public_keys), LaptopScannedIntoConsignment):
        return None, current
    env = codec.make(
        fact,
        subject=laptop.asset_id,
        source=rt.source,
        time=rt.clock(),
        id=claim_id,
        causation_id=command.id,
        actor=command.actor,
    )
    after = SubjectStream(ldoc.subject, ldoc.version + 1, ldoc.history + [env])
    await rt.store.append(ldoc.subject, ldoc.version, [env], summarise(after))
    return env, domain.fold(laptop.asset_id, after.history)


async def close_consignment(command: Envelope, rt: Runtime, crt: Runtime) -> list[Envelope]:
    def decide(doc: SubjectStream | None, env: Envelope, body: CloseConsignment) -> list[Any]:
        return [consignment.close(consignment.fold(env.subject, doc.history if doc else []), body)]

    events = await run_command(command, decide, summarise_consignment, crt)
    await _fan_out(command, events, rt)
    return events


def _body_or_none(command: Envelope, cls: type[Any]) -> Any:
    try:
        return codec.payload(command, cls)
    except codec.DecodeError:
        return None  # run_command answers invalid_command


CONSIGNMENT_COMMANDS = {
    PlanConsignment.TYPE: plan_consignment,
    ScanIntoConsignment.TYPE: scan_into_consignment,
    CloseConsignment.TYPE: close_consignment,
}


COMMANDS = {
    RegisterLaptop.TYPE: register_laptop,
    AllocateLaptop.TYPE: allocate_laptop,
    DispatchLaptop.TYPE: dispatch_laptop,
    ReissueLabel.TYPE: reissue_label,
}


async def handle(command: Envelope, rt: Runtime, consignments: Runtime | None = None) -> list[Envelope]:
    """``consignments``: the same runtime over the consignment documents."""
    if command.type in CONSIGNMENT_COMMANDS and consignments is not None:
        return await CONSIGNMENT_COMMANDS[command.type](command, rt, consignments)
    return await COMMANDS.get(command.type, refuse_unknown_command)(command, rt)


async def when_laptop_received_mark_delivered(event: Envelope, rt: Runtime) -> None:
    await learn(event, summarise, rt)


REACTIONS = {LaptopReceived.TYPE: when_laptop_received_mark_delivered}


async def on_event(event: Envelope, rt: Runtime) -> None:
    reaction = REACTIONS.get(event.type)
    if reaction is not None:
        await reaction(event, rt)


# --- registration at scale: a batch of laptop commands decided together ---


def batchable_command(command: Envelope) -> bool:
    return command.type in COMMANDS


async def handle_batch(commands: list[Envelope], rt: Runtime) -> set[str]:
    """The laptop commands of a batch, decided with a few round trips in all
    (run_commands); returns the laptops whose commands must go one at a time."""
    _, left = await run_commands([(c, _decider(c.type, rt)) for c in commands], summarise, rt)
    return left


async def on_events(events: list[Envelope], rt: Runtime) -> set[str]:
    """on_event for a batch: the reactions all learn, so learn them together."""
    return await learn_many([e for e in events if e.type in REACTIONS], summarise, rt)
