"""Allocation and handover over fakes, talking as over serah.events: every fact either
publishes is learnt by the other (and, when asked, recorded by an audit runtime), so a
unit test can walk a laptop through its whole life with real commands and real rules.

``laptop_in(state)`` puts a new laptop in any lifecycle state by the facts that lead
there; the builders make a well-formed command of each kind."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from typing import Any

from events.catalog import (
    ApproveWriteOff,
    AssignLaptop,
    AttestUsage,
    ConfirmAssignment,
    DeclineWriteOff,
    Holder,
    Official,
    Payload,
    ProposeWriteOff,
    RecordOfficeRoster,
    RecoverLaptop,
    ReportLoss,
    ReturnFromHolder,
    ReturnFromRepair,
    ReturnToWarehouse,
    SendForRepair,
)
from events.envelope import Envelope
from events.lifecycle import State
from services.allocation import handlers as allocation
from services.audit import handlers as audit
from services.handover import handlers as handover
from tests.builders import (
    NOW,
    OFFICIAL,
    allocate,
    close_consignment,
    cmd,
    confirm_receipt,
    dispatch,
    label_for,
    new_asset,
    plan_consignment,
    receive,
    register,
    scan_into,
)
from tests.fakes import FakePublisher, allocation_with_fakes, handover_with_fakes

OFFICE = "73.71"  # Kota Makassar
OTHER_OFFICE = "73.72"
HOLDER = {
    "name": "Rina Wulandari",
    "nip": "199001012015032001",
    "jabatan": "Analis Kebijakan",
    "unit": "Bidang Politik",
}
OTHER_HOLDER = {"name": "Budi Santoso", "nip": "198805052012121003", "jabatan": "Staf", "unit": "Sekretariat"}
# the office's official who hands laptops out and proposes write-offs; another who decides them
ASSIGNER = OFFICIAL
APPROVER = {"name": "Siti Rahmawati", "nip": "197503032000032004", "jabatan": "Kepala Bagian Umum Kementerian"}


def later(steps: int) -> datetime:
    """When a step of a laptop's life is made: after the facts before it (recorded at the
    worlds' clock, a few milliseconds past NOW), within a scan's window of the clock."""
    return NOW + timedelta(seconds=10 * steps)


class Ticking:
    """A clock that moves a millisecond every time it is read."""

    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        self.now += timedelta(milliseconds=1)
        return self.now


def assign(asset: str, holder: dict[str, str] = HOLDER, **kw: Any) -> Envelope:
    return cmd(AssignLaptop(holder=Holder(**holder), assigned_by=Official(**ASSIGNER), **kw), asset, time=later(2))


def confirm(asset: str, nip: str = HOLDER["nip"]) -> Envelope:
    return cmd(ConfirmAssignment(label=label_for(asset), holder_nip=nip), asset, time=later(3))


def attest(asset: str, by: dict[str, str] | None = HOLDER) -> Envelope:
    attester = Official(**{k: by[k] for k in ("name", "nip", "jabatan")}) if by else None
    return cmd(AttestUsage(label=label_for(asset), attested_by=attester), asset, time=later(4))


def return_from_holder(asset: str, condition: str = "B") -> Envelope:
    return cmd(ReturnFromHolder(label=label_for(asset), condition=condition), asset, time=later(5))  # type: ignore[arg-type]


def send_for_repair(asset: str) -> Envelope:
    body = SendForRepair(label=label_for(asset), vendor="CV Mitra Servis", reason="layar mati")
    return cmd(body, asset, time=later(6))


def return_from_repair(asset: str, condition: str = "B") -> Envelope:
    return cmd(ReturnFromRepair(label=label_for(asset), condition=condition), asset, time=later(7))  # type: ignore[arg-type]


def report_loss(asset: str) -> Envelope:
    body = ReportLoss(kind="stolen", circumstances="dicuri dari mobil dinas", police_report="LP/123/XI/2026")  # type: ignore[arg-type]
    return cmd(body, asset, time=later(8))


def recover(asset: str) -> Envelope:
    return cmd(RecoverLaptop(label=label_for(asset), condition="RR"), asset, time=later(9))  # type: ignore[arg-type]


def return_to_warehouse(asset: str) -> Envelope:
    return cmd(ReturnToWarehouse(label=label_for(asset), warehouse="G-JKT1"), asset, time=later(10))


def propose(asset: str, reason: str = "obsolete", proposer: dict[str, str] = ASSIGNER) -> Envelope:
    return cmd(ProposeWriteOff(reason=reason, proposer=Official(**proposer)), asset, time=later(11))  # type: ignore[arg-type]


def approve(asset: str, approver: dict[str, str] = APPROVER) -> Envelope:
    return cmd(ApproveWriteOff(approver=Official(**approver), decree_number="KEP-9/2027"), asset, time=later(12))


def decline(asset: str) -> Envelope:
    return cmd(DeclineWriteOff(official=Official(**APPROVER), reason="masih dapat dipakai"), asset, time=later(12))


def record_roster(office: str, members: list[dict[str, str]]) -> Envelope:
    body = RecordOfficeRoster(office_code=office, members=[Holder(**m) for m in members])
    return cmd(body, f"office:{office}", time=later(1))


class World:
    """Allocation and handover (and, with ``audited``, the audit) over fakes, each
    learning what the others publish, as over serah.events."""

    def __init__(self, audited: bool = False) -> None:
        self.clock = Ticking()
        self.alloc = allocation_with_fakes(clock=self.clock)
        self.hand = handover_with_fakes(clock=self.clock)
        self.audit = None
        if audited:
            from tests.fakes import audit_with_fakes

            self.audit = audit_with_fakes(publisher=FakePublisher())
        self._seen: dict[int, int] = {}

    def _outbox(self, rt: Any) -> list[Envelope]:
        publisher = rt.laptops.publisher if hasattr(rt, "laptops") else rt.publisher
        assert isinstance(publisher, FakePublisher)
        start = self._seen.get(id(publisher), 0)
        self._seen[id(publisher)] = len(publisher.sent)
        return publisher.sent[start:]

    async def _spread(self) -> None:
        """Until nothing new is published: each fact to the other services, as serah.events would."""
        while True:
            moved = False
            for fact in self._outbox(self.alloc):
                moved = True
                await handover.on_event(fact, self.hand)
                await self._record(fact)
            for fact in self._outbox(self.hand):
                moved = True
                await allocation.on_event(fact, self.alloc)
                await self._record(fact)
            if self.audit is not None:
                for fact in self._outbox(self.audit):
                    moved = True
                    await self._record(fact)
            if not moved:
                return

    async def _record(self, fact: Envelope) -> None:
        if self.audit is not None:
            await audit.record_event(fact, self.audit)

    def tell(self, command: Envelope) -> Envelope:
        """Send ``command`` to the service that decides it; the first fact it caused."""

        return self.facts(command)[0]

    def facts(self, command: Envelope) -> list[Envelope]:
        """Every fact ``command`` caused, once the others have learnt them."""

        async def go() -> list[Envelope]:
            service = allocation if command.type in allocation.COMMANDS else handover
            rt = self.alloc if service is allocation else self.hand
            events = await service.handle(command, rt)  # type: ignore[attr-defined]
            await self._spread()
            return events  # type: ignore[no-any-return]

        return asyncio.run(go())

    def state(self, asset: str) -> State:
        doc = asyncio.run(self.hand.laptops.store.load(asset))
        return self.hand.laptops.state(asset, doc).status

    def alloc_status(self, asset: str) -> str:
        doc = asyncio.run(self.alloc.laptops.store.load(asset))
        return self.alloc.laptops.state(asset, doc).status

    # --- a laptop in each state, by the facts that lead there ---

    def registered(self) -> str:
        serial, asset = new_asset()
        self.tell(register(serial, asset))
        return asset

    def received(self, office: str = OFFICE, condition: str = "B") -> str:
        asset = self.registered()
        self.tell(allocate(asset, office=office))
        self.tell(dispatch(asset))
        self.tell(receive(asset, condition=condition, time=later(1)))
        return asset

    def received_in_consignment(self, office: str = OFFICE) -> str:
        asset = self.registered()
        cid = f"C-{uuid.uuid4().hex[:8]}"
        self.tell(plan_consignment(cid, [asset], office=office))
        self.tell(scan_into(cid, asset))
        self.tell(close_consignment(cid))
        self.tell(confirm_receipt(cid, [(asset, "B", "")], time=later(1)))
        return asset

    def laptop_in(self, state: State) -> str:
        if state == State.UNKNOWN:
            return new_asset()[1]
        asset = self.registered()
        steps: dict[State, list[Any]] = {
            State.REGISTERED: [],
            State.ALLOCATED: [allocate],
            State.IN_TRANSIT: [allocate, dispatch],
            State.RECEIVED: [allocate, dispatch, _receive],
            State.ASSIGNED: [allocate, dispatch, _receive, assign],
            State.IN_USE: [allocate, dispatch, _receive, assign, confirm],
            State.IN_REPAIR: [allocate, dispatch, _receive, send_for_repair],
            State.LOST: [allocate, dispatch, _receive, report_loss],
            State.WRITE_OFF_PROPOSED: [allocate, dispatch, _receive, propose],
            State.WRITTEN_OFF: [allocate, dispatch, _receive, propose, approve],
        }
        for step in steps[state]:
            fact = self.tell(step(asset))
            assert fact.type != "id.serah.command.rejected.v1", fact.data
        assert self.state(asset) == state, (state, self.state(asset))
        return asset


def _receive(asset: str) -> Envelope:
    return receive(asset, time=later(1))


def valid(command: type[Payload], asset: str, state: State) -> Envelope:
    """A well-formed command of this kind about ``asset``, fitting ``state`` where its
    content may (a lost laptop is written off as lost)."""
    from events.catalog import ReceiveLaptop

    makers: dict[type[Payload], Any] = {
        ReceiveLaptop: lambda a: receive(a, time=later(1)),
        AttestUsage: attest,
        AssignLaptop: assign,
        ConfirmAssignment: confirm,
        ReturnFromHolder: return_from_holder,
        SendForRepair: send_for_repair,
        ReturnFromRepair: return_from_repair,
        ReportLoss: report_loss,
        RecoverLaptop: recover,
        ReturnToWarehouse: return_to_warehouse,
        ProposeWriteOff: lambda a: propose(a, "lost" if state == State.LOST else "obsolete"),
        ApproveWriteOff: approve,
        DeclineWriteOff: decline,
    }
    return makers[command](asset)  # type: ignore[no-any-return]
