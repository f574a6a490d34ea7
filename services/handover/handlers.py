"""Handover handlers: load → decide → store → publish, one function per command,
and the reactions that keep this service's view of each laptop current."""

from __future__ import annotations

from typing import Any

from events.catalog import (
    LabelReissued,
    AttestUsage,  # issue 5
    LaptopAllocated,
    LaptopDispatched,
    LaptopRegistered,
    ReceiveLaptop,
    RejectionReason,
)
from events.envelope import Envelope
from services.common.commands import Runtime, learn, reject, run_command
from services.common.laptop_store import LaptopDoc
from services.handover import domain


def summarise(doc: LaptopDoc) -> dict[str, Any]:
    laptop = domain.fold(doc.asset_id, doc.history)
    return {"status": laptop.status, "office_code": laptop.office_code, "consignment_id": laptop.consignment_id}


async def receive_laptop(command: Envelope, rt: Runtime) -> list[Envelope]:
    def decide(doc: LaptopDoc | None, env: Envelope, body: ReceiveLaptop) -> list[Any]:
        laptop = domain.fold(env.subject, doc.history if doc else [])
        return [domain.receive(laptop, body, rt.public_keys)]

    # The dispatch is decided by allocation and learnt here from serah.events, a
    # different topic: give that a moment before calling a receipt premature.
    unsettled = frozenset({RejectionReason.NOT_DISPATCHED, RejectionReason.UNKNOWN_LAPTOP})
    return await run_command(command, decide, summarise, rt, unsettled=unsettled)


async def refuse_unknown_command(command: Envelope, rt: Runtime) -> list[Envelope]:
    detail = f"{command.type} is not a command the handover service handles."
    return await run_command(
        command, lambda doc, env, body: [reject(env, RejectionReason.INVALID_COMMAND, detail)], summarise, rt
    )


async def attest_usage(command: Envelope, rt: Runtime) -> list[Envelope]:
    """Issue 5: a holder's periodic re-scan (proof of use)."""

    def decide(doc: LaptopDoc | None, env: Envelope, body: AttestUsage) -> list[Any]:
        laptop = domain.fold(env.subject, doc.history if doc else [])
        return [domain.attest(laptop, body, rt.public_keys)]

    return await run_command(command, decide, summarise, rt, unsettled=frozenset({RejectionReason.UNKNOWN_LAPTOP}))


COMMANDS = {ReceiveLaptop.TYPE: receive_laptop, AttestUsage.TYPE: attest_usage}


async def handle(command: Envelope, rt: Runtime) -> list[Envelope]:
    return await COMMANDS.get(command.type, refuse_unknown_command)(command, rt)


async def when_laptop_moves_track_it(event: Envelope, rt: Runtime) -> None:
    await learn(event, summarise, rt)


REACTIONS = {
    LaptopRegistered.TYPE: when_laptop_moves_track_it,
    LaptopAllocated.TYPE: when_laptop_moves_track_it,
    LaptopDispatched.TYPE: when_laptop_moves_track_it,
    LabelReissued.TYPE: when_laptop_moves_track_it,
}


async def on_event(event: Envelope, rt: Runtime) -> None:
    reaction = REACTIONS.get(event.type)
    if reaction is not None:
        await reaction(event, rt)
