"""Allocation handlers: load → decide → store → publish, one function per command."""

from __future__ import annotations

from typing import Any

from events.catalog import (
    AllocateLaptop,
    DispatchLaptop,
    LaptopReceived,
    RegisterLaptop,
    ReissueLabel,
    RejectionReason,
)
from events.envelope import Envelope
from services.allocation import domain
from services.common.commands import Runtime, learn, reject, run_command
from services.common.laptop_store import LaptopDoc


def summarise(doc: LaptopDoc) -> dict[str, Any]:
    laptop = domain.fold(doc.asset_id, doc.history)
    return {
        "status": laptop.status,
        "serial": laptop.serial,
        "office_code": laptop.office_code,
        "consignment_id": laptop.consignment_id,
        "label_generation": laptop.label_generation,
    }


def _laptop(doc: LaptopDoc | None, command: Envelope) -> domain.Laptop:
    return domain.fold(command.subject, doc.history if doc else [])


async def register_laptop(command: Envelope, rt: Runtime) -> list[Envelope]:
    return await run_command(command, lambda doc, env, body: [domain.register(_laptop(doc, env), body)], summarise, rt)


async def allocate_laptop(command: Envelope, rt: Runtime) -> list[Envelope]:
    return await run_command(command, lambda doc, env, body: [domain.allocate(_laptop(doc, env), body)], summarise, rt)


async def dispatch_laptop(command: Envelope, rt: Runtime) -> list[Envelope]:
    return await run_command(
        command, lambda doc, env, body: [domain.dispatch(_laptop(doc, env), body, rt.public_keys)], summarise, rt
    )


async def reissue_label(command: Envelope, rt: Runtime) -> list[Envelope]:
    return await run_command(
        command, lambda doc, env, body: [domain.reissue_label(_laptop(doc, env), body)], summarise, rt
    )


async def refuse_unknown_command(command: Envelope, rt: Runtime) -> list[Envelope]:
    detail = f"{command.type} is not a command the allocation service handles."
    return await run_command(
        command, lambda doc, env, body: [reject(env, RejectionReason.INVALID_COMMAND, detail)], summarise, rt
    )


COMMANDS = {
    RegisterLaptop.TYPE: register_laptop,
    AllocateLaptop.TYPE: allocate_laptop,
    DispatchLaptop.TYPE: dispatch_laptop,
    ReissueLabel.TYPE: reissue_label,
}


async def handle(command: Envelope, rt: Runtime) -> list[Envelope]:
    return await COMMANDS.get(command.type, refuse_unknown_command)(command, rt)


async def when_laptop_received_mark_delivered(event: Envelope, rt: Runtime) -> None:
    await learn(event, summarise, rt)


REACTIONS = {LaptopReceived.TYPE: when_laptop_received_mark_delivered}


async def on_event(event: Envelope, rt: Runtime) -> None:
    reaction = REACTIONS.get(event.type)
    if reaction is not None:
        await reaction(event, rt)
