"""Issue 4c: re-issuing a consignment's receipt code (handover decides it, on the same
document as receipts): the new code confirms, the old one no longer does."""

from __future__ import annotations

import asyncio

import pytest

from events.catalog import ReceiptCodeReissued, ReceiptConfirmed, ReissueReceiptCode
from events.envelope import Envelope
from services.audit import domain as audit_domain
from services.audit import handlers as audit
from services.handover import handlers
from tests.builders import RECEIPT_CODE, cmd, code_hash, confirm_receipt
from tests.fakes import FakePublisher, audit_with_fakes
from tests.unit.test_receipts import World, reason

NEW_CODE = "N3WC-DE9Q-RSTU-VWX2"


def reissue(cid: str, code: str = NEW_CODE, command_id: str | None = None) -> Envelope:
    body = ReissueReceiptCode(receipt_code_hash=code_hash(code), reason="manifest lost")
    return cmd(body, cid, command_id)


@pytest.fixture
def w() -> World:
    return World()


def test_after_a_reissue_only_the_new_code_confirms_a_receipt(w: World) -> None:
    (a,) = w.dispatched(1)
    event = w.confirm(reissue("C-1"))
    assert event.type == ReceiptCodeReissued.TYPE and event.data["generation"] == 2
    assert reason(w.confirm(confirm_receipt("C-1", [(a, "B", "")], code=RECEIPT_CODE))) == "receipt_code_invalid"
    done = w.confirm(confirm_receipt("C-1", [(a, "B", "")], code=NEW_CODE.lower()))
    assert done.type == ReceiptConfirmed.TYPE


def test_each_reissue_replaces_the_previous_one(w: World) -> None:
    (a,) = w.dispatched(1)
    w.confirm(reissue("C-1", "F7RS-T222-AAAA-BBBB"))
    assert w.confirm(reissue("C-1", "S3C9-ND33-CCCC-DDDD")).data["generation"] == 3
    assert (
        reason(w.confirm(confirm_receipt("C-1", [(a, "B", "")], code="F7RS-T222-AAAA-BBBB"))) == "receipt_code_invalid"
    )
    assert w.confirm(confirm_receipt("C-1", [(a, "B", "")], code="S3C9-ND33-CCCC-DDDD")).type == ReceiptConfirmed.TYPE


def test_a_code_can_be_reissued_before_dispatch_and_after_a_partial_receipt(w: World) -> None:
    from tests.builders import new_asset, plan_consignment, register

    serial, asset = new_asset()
    w.tell(register(serial, asset))
    w.tell(plan_consignment("C-P", [asset]))
    assert w.confirm(reissue("C-P")).type == ReceiptCodeReissued.TYPE
    a, b = w.dispatched(2)
    w.confirm(confirm_receipt("C-1", [(a, "B", "")], missing=[b]))
    assert w.confirm(reissue("C-1")).type == ReceiptCodeReissued.TYPE
    assert w.confirm(confirm_receipt("C-1", [(b, "B", "")], code=NEW_CODE)).data["complete"] is True


def test_no_code_is_reissued_for_an_unknown_or_fully_received_consignment(w: World) -> None:
    assert reason(w.confirm(reissue("NOPE"))) == "unknown_consignment"
    (a,) = w.dispatched(1)
    w.confirm(confirm_receipt("C-1", [(a, "B", "")]))
    assert reason(w.confirm(reissue("C-1"))) == "already_received"


def test_a_redelivered_reissue_replays_and_keeps_its_first_code(w: World) -> None:
    w.dispatched(1)
    first = w.confirm(reissue("C-1", "AAAA-2222-AAAA-2222", command_id="re-1"))
    again = w.confirm(reissue("C-1", "BBBB-3333-BBBB-3333", command_id="re-1"))
    assert again == first and again.data["receipt_code_hash"] == code_hash("AAAA-2222-AAAA-2222")


def test_an_invalid_reissue_command_is_refused_not_dead_lettered(w: World) -> None:
    w.dispatched(1)
    bad = reissue("C-1").model_copy(update={"data": {"receipt_code_hash": "nothex", "reason": ""}})
    [refused] = asyncio.run(handlers.handle(bad, w.hand))
    assert reason(refused) == "invalid_command"


def test_the_audit_service_chains_a_reissue_and_its_refusal_under_the_consignment(w: World) -> None:
    w.dispatched(1)
    done = w.confirm(reissue("C-1"))
    refused = w.confirm(reissue("NOPE"))
    rt = audit_with_fakes(publisher=FakePublisher())
    for e in (done, refused):
        asyncio.run(audit.record_event(e, rt))
    assert audit_domain.is_consignment_event(refused)
    assert rt.views.views["C-1"]["kind"] == "consignment" and rt.views.views["NOPE"]["kind"] == "consignment"
