"""The custody state machine, cell by cell: every lifecycle state × every command handover
decides about a laptop, driven through the real handlers with a laptop brought to that
state by the facts that lead there. The expected table is written here, apart from the
service's own (services/handover/lifecycle.py): a state or command missing from either,
or a cell that differs, fails."""

from __future__ import annotations

import pytest

from events.catalog import (
    ApproveWriteOff,
    AssignLaptop,
    AssignmentConfirmed,
    AttestUsage,
    CommandRejected,
    ConfirmAssignment,
    DeclineWriteOff,
    LaptopAssigned,
    LaptopReceived,
    LaptopRecovered,
    LaptopReportedLost,
    LaptopReturnedByHolder,
    LaptopReturnedToWarehouse,
    LaptopWrittenOff,
    Payload,
    ProposeWriteOff,
    ReceiveLaptop,
    RecoverLaptop,
    RepairFinished,
    RepairStarted,
    ReportLoss,
    ReturnFromHolder,
    ReturnFromRepair,
    ReturnToWarehouse,
    SendForRepair,
    UsageAttested,
    WriteOffDeclined,
    WriteOffProposed,
)
from events.lifecycle import State
from services.handover import lifecycle
from tests.lifecycle_world import World, valid

COLUMNS: tuple[type[Payload], ...] = (
    ReceiveLaptop,
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
)

# What each state answers to each command, in the order of COLUMNS: a fact's type, or
# a refusal's reason code.
EXPECTED: dict[State, tuple[type[Payload] | str, ...]] = {
    State.UNKNOWN: ("unknown_laptop",) * 13,
    State.REGISTERED: (
        "not_dispatched",
        "not_received",
        "not_received",
        "not_assigned",
        "not_assigned",
        "not_received",
        "not_in_repair",
        "not_received",
        "not_lost",
        "not_received",
        WriteOffProposed,
        "not_proposed",
        "not_proposed",
    ),
    State.ALLOCATED: (
        "not_dispatched",
        "not_received",
        "not_received",
        "not_assigned",
        "not_assigned",
        "not_received",
        "not_in_repair",
        "not_received",
        "not_lost",
        "not_received",
        WriteOffProposed,
        "not_proposed",
        "not_proposed",
    ),
    State.IN_TRANSIT: (
        LaptopReceived,
        "not_received",
        "not_received",
        "not_assigned",
        "not_assigned",
        "not_received",
        "not_in_repair",
        "not_received",
        "not_lost",
        "not_received",
        "not_received",
        "not_proposed",
        "not_proposed",
    ),
    State.RECEIVED: (
        "already_received",
        UsageAttested,
        LaptopAssigned,
        "not_assigned",
        "not_assigned",
        RepairStarted,
        "not_in_repair",
        LaptopReportedLost,
        "not_lost",
        LaptopReturnedToWarehouse,
        WriteOffProposed,
        "not_proposed",
        "not_proposed",
    ),
    State.ASSIGNED: (
        "already_received",
        UsageAttested,
        "held_by_holder",
        AssignmentConfirmed,
        LaptopReturnedByHolder,
        "held_by_holder",
        "not_in_repair",
        LaptopReportedLost,
        "not_lost",
        "held_by_holder",
        "held_by_holder",
        "not_proposed",
        "not_proposed",
    ),
    State.IN_USE: (
        "already_received",
        UsageAttested,
        "held_by_holder",
        "already_confirmed",
        LaptopReturnedByHolder,
        "held_by_holder",
        "not_in_repair",
        LaptopReportedLost,
        "not_lost",
        "held_by_holder",
        "held_by_holder",
        "not_proposed",
        "not_proposed",
    ),
    State.IN_REPAIR: (
        "already_received",
        "in_repair",
        "in_repair",
        "in_repair",
        "in_repair",
        "in_repair",
        RepairFinished,
        LaptopReportedLost,
        "not_lost",
        "in_repair",
        "in_repair",
        "not_proposed",
        "not_proposed",
    ),
    State.LOST: (
        "lost",
        "lost",
        "lost",
        "lost",
        "lost",
        "lost",
        "lost",
        "lost",
        LaptopRecovered,
        "lost",
        WriteOffProposed,
        "not_proposed",
        "not_proposed",
    ),
    State.WRITE_OFF_PROPOSED: ("write_off_pending",) * 11 + (LaptopWrittenOff, WriteOffDeclined),
    State.WRITTEN_OFF: (
        "label_revoked",
        "label_revoked",
        "written_off",
        "label_revoked",
        "label_revoked",
        "label_revoked",
        "label_revoked",
        "written_off",
        "label_revoked",
        "label_revoked",
        "written_off",
        "written_off",
        "written_off",
    ),
}

CELLS = [(state, column) for state in State for column in COLUMNS]


def test_the_table_has_a_cell_for_every_state_and_command_and_agrees_with_this_one() -> None:
    assert set(EXPECTED) == set(State), "every lifecycle state has a row"
    assert set(lifecycle.TABLE) == set(State)
    assert set(lifecycle.COMMANDS) == set(COLUMNS)
    for state, row in lifecycle.TABLE.items():
        assert set(row) == set(COLUMNS), f"{state}: a command without a cell"
        mine = dict(zip(COLUMNS, EXPECTED[state], strict=True))
        theirs = {c: o if isinstance(o, type) else o.value for c, o in row.items()}
        assert theirs == mine, state


@pytest.mark.parametrize(("state", "command"), CELLS, ids=[f"{s.value}-{c.__name__}" for s, c in CELLS])
def test_each_command_in_each_state_records_its_fact_or_its_refusal(state: State, command: type[Payload]) -> None:
    world = World()
    asset = world.laptop_in(state)
    facts = world.facts(valid(command, asset, state))
    expected = dict(zip(COLUMNS, EXPECTED[state], strict=True))[command]
    if isinstance(expected, str):
        assert [f.type for f in facts] == [CommandRejected.TYPE], facts
        assert facts[0].data["reason"] == expected, facts[0].data
        assert world.state(asset) == state, "a refusal changes nothing"
    else:
        assert facts[0].type == expected.TYPE, facts[0].data
