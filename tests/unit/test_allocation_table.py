"""Allocation's commands about one laptop in every lifecycle state: what custody facts
decided by handover (learnt over serah.events) mean for re-allocating, dispatching and
re-labelling. The expected table is written here, apart from the service's own."""

from __future__ import annotations

import pytest

from events.catalog import (
    AllocateLaptop,
    CommandRejected,
    DispatchLaptop,
    LabelReissued,
    LaptopAllocated,
    LaptopDispatched,
    Payload,
    ReissueLabel,
)
from events.lifecycle import State
from services.allocation import domain
from tests.builders import allocate, cmd, dispatch
from tests.lifecycle_world import World

COLUMNS: tuple[type[Payload], ...] = (AllocateLaptop, DispatchLaptop, ReissueLabel)
EXPECTED: dict[State, tuple[type[Payload] | str, ...]] = {
    State.UNKNOWN: ("unknown_laptop", "unknown_laptop", "unknown_laptop"),
    State.REGISTERED: (LaptopAllocated, "not_allocated", LabelReissued),
    State.ALLOCATED: (LaptopAllocated, LaptopDispatched, LabelReissued),
    State.IN_TRANSIT: ("already_dispatched", "already_dispatched", LabelReissued),
    State.RECEIVED: ("already_dispatched", "already_received", LabelReissued),
    State.ASSIGNED: ("already_dispatched", "already_received", LabelReissued),
    State.IN_USE: ("already_dispatched", "already_received", LabelReissued),
    State.IN_REPAIR: ("in_repair", "in_repair", LabelReissued),
    State.LOST: ("lost", "lost", LabelReissued),
    State.WRITE_OFF_PROPOSED: ("write_off_pending", "write_off_pending", LabelReissued),
    State.WRITTEN_OFF: ("written_off", "label_revoked", "written_off"),
}
CELLS = [(state, column) for state in State for column in COLUMNS]


def test_the_table_has_a_cell_for_every_state_and_command_and_agrees_with_this_one() -> None:
    assert {domain.state_of(s) for s in domain.TABLE} == set(State)
    for status, row in domain.TABLE.items():
        assert set(row) == set(COLUMNS), status
        mine = dict(zip(COLUMNS, EXPECTED[domain.state_of(status)], strict=True))
        assert {c: o if isinstance(o, type) else o.value for c, o in row.items()} == mine, status


def _command(column: type[Payload], asset: str) -> object:
    if column is AllocateLaptop:
        return allocate(asset, office="73.72")
    if column is DispatchLaptop:
        return dispatch(asset)
    return cmd(ReissueLabel(key_id="K1", reason="damaged"), asset)  # type: ignore[arg-type]


@pytest.mark.parametrize(("state", "column"), CELLS, ids=[f"{s.value}-{c.__name__}" for s, c in CELLS])
def test_each_allocation_command_in_each_state(state: State, column: type[Payload]) -> None:
    world = World()
    asset = world.laptop_in(state)
    assert domain.state_of(world.alloc_status(asset)) == state, "allocation learnt the custody facts"
    [fact] = world.facts(_command(column, asset))  # type: ignore[arg-type]
    expected = dict(zip(COLUMNS, EXPECTED[state], strict=True))[column]
    if isinstance(expected, str):
        assert fact.type == CommandRejected.TYPE and fact.data["reason"] == expected, fact.data
    else:
        assert fact.type == expected.TYPE, fact.data
