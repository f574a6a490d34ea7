from __future__ import annotations

import asyncio
import uuid

import pytest

from events import labels
from events.catalog import CommandRejected, LabelReissued, LaptopDispatched, ReissueLabel
from events.envelope import Envelope
from services.allocation import handlers
from services.allocation.handlers import AllocationRuntime
from services.audit import domain as audit
from services.audit.rules import Thresholds
from tests.builders import KEYS, SEED, allocate, cmd, dispatch, label_for, new_asset, register
from tests.fakes import allocation_with_fakes, handover_with_fakes


@pytest.fixture
def rt() -> AllocationRuntime:
    return allocation_with_fakes()


def run(rt: AllocationRuntime, command: Envelope) -> Envelope:
    events = asyncio.run(handlers.handle(command, rt))
    assert len(events) == 1
    return events[0]


def reissue(asset: str, reason: str = "lost", command_id: str | None = None) -> Envelope:
    return cmd(ReissueLabel(key_id="K1", reason=reason, note="stiker hilang"), asset, command_id)  # type: ignore[arg-type]


def test_a_reissued_label_revokes_the_old_one_and_works_at_once(rt: AllocationRuntime) -> None:
    serial, asset = new_asset()
    run(rt, register(serial, asset))
    run(rt, allocate(asset))
    event = run(rt, reissue(asset))
    assert event.type == LabelReissued.TYPE
    assert event.data["label"] == {"generation": 2, "key_id": "K1"}
    assert (event.data["revoked_generation"], event.data["reason"]) == (1, "lost")

    old = run(rt, dispatch(asset, label=label_for(asset, gen=1)))
    assert old.type == CommandRejected.TYPE and old.data["reason"] == "label_revoked"
    assert run(rt, dispatch(asset, label=label_for(asset, gen=2))).type == LaptopDispatched.TYPE


def test_reissuing_twice_moves_on_one_generation_each_and_a_retry_is_not_a_second_reissue(
    rt: AllocationRuntime,
) -> None:
    serial, asset = new_asset()
    run(rt, register(serial, asset))
    first = run(rt, reissue(asset, command_id="r-1"))
    assert run(rt, reissue(asset, command_id="r-1")) == first
    second = run(rt, reissue(asset, "damaged", command_id="r-2"))
    assert (second.data["label"]["generation"], second.data["revoked_generation"]) == (3, 2)


def test_an_unknown_laptop_has_no_label_to_reissue(rt: AllocationRuntime) -> None:
    _, asset = new_asset()
    event = run(rt, reissue(asset))
    assert event.type == CommandRejected.TYPE and event.data["reason"] == "unknown_laptop"


def test_a_reissue_without_a_known_reason_is_invalid(rt: AllocationRuntime) -> None:
    serial, asset = new_asset()
    run(rt, register(serial, asset))
    bad = reissue(asset).model_copy(update={"data": {"key_id": "K1", "reason": "bored"}, "id": f"c-{uuid.uuid4()}"})
    event = run(rt, bad)
    assert event.type == CommandRejected.TYPE and event.data["reason"] == "invalid_command"


def test_the_last_label_generation_cannot_be_reissued(rt: AllocationRuntime) -> None:
    serial, asset = new_asset()
    run(rt, register(serial, asset, gen=999))
    event = run(rt, reissue(asset))
    assert event.data["reason"] == "label_generations_exhausted"


def test_handover_and_audit_fold_the_reissue_into_the_current_generation(rt: AllocationRuntime) -> None:
    serial, asset = new_asset()
    registered = run(rt, register(serial, asset))
    reissued = run(rt, reissue(asset))
    laptop = handover_with_fakes().laptops.fold(asset, [registered, reissued])
    assert laptop.label_generation == 2
    view = audit.view(asset, [registered, reissued], Thresholds())
    assert (view["label_generation"], view["label_key_id"], view["status"]) == (2, "K1", "registered")
    # Handover refuses the old label at receipt too.
    claim = labels.check_scan(label_for(asset, gen=1, seed=SEED), asset, KEYS)
    with pytest.raises(labels.LabelError) as exc:
        labels.check_current(claim, asset, laptop.label_generation)
    assert exc.value.reason.value == "label_revoked"
