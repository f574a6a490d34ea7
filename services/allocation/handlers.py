"""Allocation handlers: load → decide → store → publish, one function per command."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from events import codec, lifecycle
from events.catalog import (
    AllocateLaptop,
    CloseConsignment,
    DispatchLaptop,
    LabelRevoked,
    LaptopReceived,
    LaptopScannedIntoConsignment,
    Payload,
    PlanConsignment,
    RegisterLaptop,
    ReissueLabel,
    ScanIntoConsignment,
)
from events.envelope import Envelope
from services.allocation import consignment, domain
from services.allocation.consignment import Consignment
from services.allocation.domain import Laptop
from services.common.commands import (
    Decide,
    Runtime,
    consequence,
    learn,
    learn_and_publish,
    learn_many,
    refuse_unknown_command,
    run_command,
    run_commands,
)

SERVICE = "allocation"


@dataclass
class AllocationRuntime:
    """What the allocation handlers need: a runtime over each kind of stream the
    service keeps (laptops, and consignments keyed by consignment id)."""

    laptops: Runtime[Laptop]
    consignments: Runtime[Consignment]


def _decider(command_type: str, rt: Runtime[Laptop]) -> Decide[Laptop]:
    """The pure decision of each laptop command (shared by the one-at-a-time and the batch path)."""
    keys = rt.public_keys
    deciders: dict[str, Decide[Laptop]] = {
        RegisterLaptop.TYPE: lambda laptop, env, body: domain.register(laptop, body),
        AllocateLaptop.TYPE: lambda laptop, env, body: domain.allocate(laptop, body),
        DispatchLaptop.TYPE: lambda laptop, env, body: domain.dispatch(laptop, body, keys, env.time),
        ReissueLabel.TYPE: lambda laptop, env, body: domain.reissue_label(laptop, body),
    }
    return deciders[command_type]


async def register_laptop(command: Envelope, rt: AllocationRuntime) -> list[Envelope]:
    return await run_command(command, _decider(RegisterLaptop.TYPE, rt.laptops), rt.laptops)


async def allocate_laptop(command: Envelope, rt: AllocationRuntime) -> list[Envelope]:
    return await run_command(command, _decider(AllocateLaptop.TYPE, rt.laptops), rt.laptops)


async def dispatch_laptop(command: Envelope, rt: AllocationRuntime) -> list[Envelope]:
    return await run_command(command, _decider(DispatchLaptop.TYPE, rt.laptops), rt.laptops)


async def reissue_label(command: Envelope, rt: AllocationRuntime) -> list[Envelope]:
    return await run_command(command, _decider(ReissueLabel.TYPE, rt.laptops), rt.laptops)


# --- consignments (their own streams, keyed by consignment id) ---


async def _laptops(rt: Runtime[Laptop], asset_ids: list[str]) -> dict[str, Laptop]:
    found = await rt.store.load_many(asset_ids)
    return {asset: rt.state(asset, found.get(asset)) for asset in asset_ids}


async def _fan_out(command: Envelope, events: list[Envelope], rt: AllocationRuntime) -> None:
    """Tell each laptop what its consignment's fact means for it (learn_and_publish:
    the consignment's append was the commit point; these facts' ids derive from
    the command, so a redelivered command that replays its events comes here again)."""
    c = consignment.initial(command.subject)
    await learn_and_publish(
        [
            consequence(
                command,
                body,
                rt.laptops,
                subject=asset,
                id=codec.event_id(command.type, asset, command.id, 0),
                time=fact.time,
            )
            for fact in events
            for asset, body in consignment.per_laptop(c, fact)
        ],
        rt.laptops,
    )


async def plan_consignment(command: Envelope, rt: AllocationRuntime) -> list[Envelope]:
    body = _body_or_none(command, PlanConsignment)
    laptops = await _laptops(rt.laptops, list(body.expected)) if body else {}
    if body is not None and body.from_office is not None:
        # A transfer depends on receipts and custody facts handover publishes on
        # serah.events: catch up on them before calling a laptop not at the office.
        unsure = [a for a, laptop in laptops.items() if domain.transfer_refusal(laptop, body.from_office)]
        if unsure:
            await rt.laptops.catch_up(unsure)
            laptops |= await _laptops(rt.laptops, unsure)

    def decide(c: Consignment, env: Envelope, body: PlanConsignment) -> Payload:
        return consignment.plan(c, body, laptops)

    events = await run_command(command, decide, rt.consignments)
    await _fan_out(command, events, rt)
    return events


async def scan_into_consignment(command: Envelope, rt: AllocationRuntime) -> list[Envelope]:
    body = _body_or_none(command, ScanIntoConsignment)
    asset = consignment.scan_target(body.label) if body else None
    laptop = (await _laptops(rt.laptops, [asset]))[asset] if asset else domain.initial("")
    if asset and body is not None and body.from_office and domain.transfer_refusal(laptop, body.from_office):
        await rt.laptops.catch_up([asset])  # as for a transfer's plan
        laptop = (await _laptops(rt.laptops, [asset]))[asset]
    claimed = None
    if asset:  # decide on the laptop as the claim saw it (and left it)
        claimed, laptop = await _claim_picked_laptop(command, body, laptop, rt)

    def decide(c: Consignment, env: Envelope, body: ScanIntoConsignment) -> Payload:
        return consignment.scan(c, laptop, body, rt.laptops.public_keys)

    events = await run_command(command, decide, rt.consignments)
    if claimed is not None:
        await rt.laptops.publisher.publish([claimed])
    return events


async def _claim_picked_laptop(
    command: Envelope, body: ScanIntoConsignment | None, laptop: Laptop, rt: AllocationRuntime
) -> tuple[Envelope | None, Laptop]:
    """Plans by count: allocate the picked laptop to this consignment in the
    laptop's own stream first, guarded by the version the decision was made on. Two
    consignments picking one laptop at once: one append wins, the other raises
    VersionConflict, is retried in place and now finds it ``belongs_to_other_consignment``.
    The claim's id comes from the scan, so a redelivered scan finds (and re-publishes) it."""
    laptops = rt.laptops
    claim_id = codec.event_id(command.type, laptop.asset_id, command.id, 0)
    ldoc = await laptops.store.load(laptop.asset_id)
    current = laptops.state(laptop.asset_id, ldoc)
    if ldoc is not None and (earlier := ldoc.find(claim_id)) is not None:
        return earlier, current
    cdoc = await rt.consignments.store.load(command.subject)
    if body is None or ldoc is None or cdoc is None or cdoc.replay_of(command):
        return None, current
    c = rt.consignments.state(command.subject, cdoc)
    fact = consignment.claim(c, current)
    if fact is None or not isinstance(
        consignment.scan(c, current, body, laptops.public_keys), LaptopScannedIntoConsignment
    ):
        return None, current
    env = consequence(command, fact, laptops, subject=laptop.asset_id, id=claim_id, time=laptops.clock())
    after = laptops.aggregate.evolve(current, env)
    await laptops.store.append(ldoc.subject, ldoc.version, [env], laptops.aggregate.summary(after))
    return env, after


async def close_consignment(command: Envelope, rt: AllocationRuntime) -> list[Envelope]:
    def decide(c: Consignment, env: Envelope, body: CloseConsignment) -> Payload:
        return consignment.close(c, body, env.time)

    events = await run_command(command, decide, rt.consignments)
    await _fan_out(command, events, rt)
    return events


def _body_or_none(command: Envelope, cls: type[Any]) -> Any:
    try:
        return codec.payload(command, cls)
    except codec.DecodeError:
        return None  # run_command answers invalid_command


COMMANDS = {
    RegisterLaptop.TYPE: register_laptop,
    AllocateLaptop.TYPE: allocate_laptop,
    DispatchLaptop.TYPE: dispatch_laptop,
    ReissueLabel.TYPE: reissue_label,
    PlanConsignment.TYPE: plan_consignment,
    ScanIntoConsignment.TYPE: scan_into_consignment,
    CloseConsignment.TYPE: close_consignment,
}
LAPTOP_COMMANDS = {RegisterLaptop.TYPE, AllocateLaptop.TYPE, DispatchLaptop.TYPE, ReissueLabel.TYPE}


async def handle(command: Envelope, rt: AllocationRuntime) -> list[Envelope]:
    handler = COMMANDS.get(command.type)
    if handler is None:
        return await refuse_unknown_command(command, rt.laptops, SERVICE)
    return await handler(command, rt)


async def when_custody_changes_track_it(event: Envelope, rt: AllocationRuntime) -> None:
    """A receipt, a holder, a repair, a loss, a return, a write-off and its revoked label
    (decided by handover): what may leave an office, return to stock or never move again."""
    await learn(event, rt.laptops)


REACTIONS = dict.fromkeys(
    {LaptopReceived.TYPE, LabelRevoked.TYPE, *lifecycle.CUSTODY_FACTS}, when_custody_changes_track_it
)


async def on_event(event: Envelope, rt: AllocationRuntime) -> None:
    reaction = REACTIONS.get(event.type)
    if reaction is not None:
        await reaction(event, rt)


# --- registration at scale: a batch of laptop commands decided together ---


def batchable_command(command: Envelope) -> bool:
    return command.type in LAPTOP_COMMANDS


async def handle_batch(commands: list[Envelope], rt: AllocationRuntime) -> set[str]:
    """The laptop commands of a batch, decided with a few round trips in all
    (run_commands); returns the laptops whose commands must go one at a time."""
    _, left = await run_commands([(c, _decider(c.type, rt.laptops)) for c in commands], rt.laptops)
    return left


async def on_events(events: list[Envelope], rt: AllocationRuntime) -> set[str]:
    """on_event for a batch: the reactions all learn, so learn them together."""
    return await learn_many([e for e in events if e.type in REACTIONS], rt.laptops)
