"""The gateway's fakes are held to its ports (services/gateway/ports.py): every
member, sync or async alike, with the same parameters. A port that grows a method
fails here until its fake has it, so the in-process gateway tests cannot drift
from what the real adapters are asked."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from services.gateway import ports
from services.gateway.adapters.audit_reads import AuditReads
from services.gateway.adapters.consignment_reads import ConsignmentReads
from services.gateway.adapters.kafka import CommandBus, DecisionWaiter, KafkaProbe
from services.gateway.adapters.mongo import ReadModels
from tests.gateway_fakes import EmptyReads, FakeBus, FakeProbe, FakeWaiter

PAIRS = [
    (ports.CommandBus, CommandBus, FakeBus),
    (ports.Decisions, DecisionWaiter, FakeWaiter),
    (ports.Views, ReadModels, EmptyReads),
    (ports.AuditViews, AuditReads, EmptyReads),
    (ports.ConsignmentViews, ConsignmentReads, EmptyReads),
    (ports.KafkaProbe, KafkaProbe, FakeProbe),
]


def members(port: type) -> dict[str, Any]:
    return {k: v for k, v in vars(port).items() if inspect.isfunction(v) and not k.startswith("_")}


def shape(fn: Any) -> tuple[str, tuple[str, ...]]:
    """How it is called (sync, async, async iterator) and the parameters a caller may
    not leave out: an adapter may take more, with defaults (a start-up timeout)."""
    kind = "async-gen" if inspect.isasyncgenfunction(fn) else "async" if inspect.iscoroutinefunction(fn) else "sync"
    params = inspect.signature(fn).parameters.values()
    return kind, tuple(p.name for p in params if p.default is inspect.Parameter.empty)


@pytest.mark.parametrize(("port", "real", "fake"), PAIRS, ids=[p.__name__ for p, _, _ in PAIRS])
def test_the_real_adapter_and_the_fake_answer_every_member_of_the_port(port: type, real: type, fake: type) -> None:
    assert members(port), port
    for name, declared in members(port).items():
        wanted = shape(declared)
        # An async iterator is declared `def …() -> AsyncIterator` and written `async def … yield`.
        accepted = {wanted, ("async-gen", wanted[1])} if wanted[0] == "sync" else {wanted}
        for side in (real, fake):
            assert hasattr(side, name), f"{side.__name__} has no {name} (port {port.__name__})"
            assert shape(getattr(side, name)) in accepted, (side.__name__, name, shape(getattr(side, name)), wanted)
