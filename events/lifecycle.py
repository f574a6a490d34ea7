"""Where a laptop is in its life, as its facts say: the one fold every service and view
shares, so "in repair" means the same to the service that decides, the audit that
counts and the gateway that shows it.

Each fact about a laptop says where the laptop now is; the rules of which command may
follow which state belong to the service that decides it (handover's custody table in
``services/handover/lifecycle.py``, allocation's in ``services/allocation/domain.py``).

    registered ──LaptopAllocated──▶ allocated ──LaptopDispatched──▶ in_transit
    in_transit ──LaptopReceived──▶ received (at the office, held by no one)
    received ──LaptopAssigned──▶ assigned ──AssignmentConfirmed──▶ in_use
    assigned, in_use ──LaptopReturnedByHolder──▶ received
    received ──RepairStarted──▶ in_repair ──RepairFinished──▶ received
    received, assigned, in_use, in_repair ──LaptopReportedLost──▶ lost ──LaptopRecovered──▶ received
    received ──LaptopAllocated (a transfer)──▶ received ──LaptopDispatched──▶ in_transit (to the new office)
    received ──LaptopReturnedToWarehouse──▶ registered
    registered, allocated, received, lost ──WriteOffProposed──▶ write_off_proposed
    write_off_proposed ──WriteOffDeclined──▶ the state it was proposed from
    write_off_proposed ──LaptopWrittenOff──▶ written_off (LabelRevoked with it)

Refusals, anomalies, label re-issues and attestations leave the state where it is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from events.catalog import (
    AssignmentConfirmed,
    LaptopAllocated,
    LaptopAssigned,
    LaptopDispatched,
    LaptopReceived,
    LaptopRecovered,
    LaptopRegistered,
    LaptopReportedLost,
    LaptopReturnedByHolder,
    LaptopReturnedToWarehouse,
    LaptopWrittenOff,
    LifecycleState,
    RepairFinished,
    RepairStarted,
    WriteOffDeclined,
    WriteOffProposed,
)

State = LifecycleState

# The state each fact leads to, whatever the state before (WriteOffDeclined and a
# transfer's LaptopAllocated are the two that depend on more: see ``after``).
LEADS_TO: dict[str, State] = {
    LaptopRegistered.TYPE: State.REGISTERED,
    LaptopAllocated.TYPE: State.ALLOCATED,
    LaptopDispatched.TYPE: State.IN_TRANSIT,
    LaptopReceived.TYPE: State.RECEIVED,
    LaptopAssigned.TYPE: State.ASSIGNED,
    AssignmentConfirmed.TYPE: State.IN_USE,
    LaptopReturnedByHolder.TYPE: State.RECEIVED,
    RepairStarted.TYPE: State.IN_REPAIR,
    RepairFinished.TYPE: State.RECEIVED,
    LaptopReportedLost.TYPE: State.LOST,
    LaptopRecovered.TYPE: State.RECEIVED,
    LaptopReturnedToWarehouse.TYPE: State.REGISTERED,
    WriteOffProposed.TYPE: State.WRITE_OFF_PROPOSED,
    LaptopWrittenOff.TYPE: State.WRITTEN_OFF,
}

# Facts after receipt that move a laptop (decided by handover); allocation learns them
# to know whether a laptop may leave an office, return to stock or be dispatched again.
CUSTODY_FACTS = frozenset(
    {
        LaptopAssigned.TYPE,
        AssignmentConfirmed.TYPE,
        LaptopReturnedByHolder.TYPE,
        RepairStarted.TYPE,
        RepairFinished.TYPE,
        LaptopReportedLost.TYPE,
        LaptopRecovered.TYPE,
        LaptopReturnedToWarehouse.TYPE,
        WriteOffProposed.TYPE,
        WriteOffDeclined.TYPE,
        LaptopWrittenOff.TYPE,
    }
)

# Where a laptop is at an office (on its books, whoever holds it).
AT_AN_OFFICE = frozenset({State.RECEIVED, State.ASSIGNED, State.IN_USE, State.IN_REPAIR, State.LOST})
IN_THE_WAREHOUSE = frozenset({State.REGISTERED, State.ALLOCATED})
HELD = frozenset({State.ASSIGNED, State.IN_USE})
# What roll-ups count as received: every state of a laptop its office received and has not
# sent on; and where it is at its office, in use or ready to be (what an attestation counts).
AFTER_RECEIPT = frozenset(
    {State.RECEIVED, State.ASSIGNED, State.IN_USE, State.IN_REPAIR, State.LOST}
    | {State.WRITE_OFF_PROPOSED, State.WRITTEN_OFF}
)
AT_OFFICE = frozenset({State.RECEIVED, State.ASSIGNED, State.IN_USE})


def after(state: State, event_type: str, data: Mapping[str, Any]) -> State:
    """The state after a fact of ``event_type`` with ``data``, from ``state``."""
    if event_type == WriteOffDeclined.TYPE:
        return State(data["returns_to"])
    if event_type == LaptopAllocated.TYPE and data.get("from_office"):
        return state  # a transfer is planned: the laptop stays where it is until it leaves
    return LEADS_TO.get(event_type, state)


def state_of(events: Iterable[tuple[str, Mapping[str, Any]]]) -> State:
    """The state after a laptop's facts, given as (type, data) in order."""
    state = State.UNKNOWN
    for event_type, data in events:
        state = after(state, event_type, data)
    return state
