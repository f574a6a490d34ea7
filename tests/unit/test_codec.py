from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from events import codec
from events.catalog import AllocateLaptop, DispatchLaptop, LaptopAllocated
from events.codec import DecodeError


def sample() -> codec.Envelope:
    return codec.make(
        AllocateLaptop(office_code="32.73"),
        subject="SRHD1M743J0FY",
        source="/test",
        time=datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC),
        id="cmd-1",
        actor="tester",
    )


def test_an_envelope_round_trips_through_bytes() -> None:
    env = sample()
    back = codec.decode(codec.encode(env))
    assert back == env
    assert codec.payload(back) == AllocateLaptop(office_code="32.73")


def test_the_wire_form_is_a_structured_cloudevent() -> None:
    doc = orjson.loads(codec.encode(sample()))
    assert doc["specversion"] == "1.0"
    assert doc["datacontenttype"] == "application/json"
    assert doc["time"] == "2026-01-02T03:04:05.000006Z"
    assert {"id", "source", "type", "subject", "time", "data"} <= doc.keys()


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"not json", "not_json"),
        (b"[1,2]", "not_an_envelope"),
        (b"{}", "not_an_envelope"),
        (b'{"specversion":"0.3"}', "not_an_envelope"),
        (b"x" * (codec.MAX_MESSAGE_BYTES + 1), "too_large"),
    ],
)
def test_unreadable_bytes_get_a_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(DecodeError) as exc:
        codec.decode(raw)
    assert exc.value.reason == reason


def test_unknown_types_and_fields_are_refused() -> None:
    doc = codec.to_json(sample())
    with pytest.raises(DecodeError, match="unknown_type"):
        codec.from_json({**doc, "type": "com.example.other.v1"})
    with pytest.raises(DecodeError, match="not_an_envelope"):
        codec.from_json({**doc, "surprise": 1})
    with pytest.raises(DecodeError, match="invalid_data"):
        codec.payload(codec.from_json({**doc, "data": {"office_code": "32.73", "extra": True}}))
    with pytest.raises(DecodeError, match="invalid_data"):
        codec.payload(codec.from_json({**doc, "data": {"office_code": 3273}}))


def test_a_time_without_timezone_is_refused() -> None:
    doc = {**codec.to_json(sample()), "time": "2026-01-02T03:04:05"}
    with pytest.raises(DecodeError):
        codec.from_json(doc)


def test_payload_can_insist_on_a_type() -> None:
    with pytest.raises(DecodeError, match="unexpected_type"):
        codec.payload(sample(), DispatchLaptop)


def test_event_ids_are_deterministic_per_command_and_distinct_otherwise() -> None:
    a = codec.event_id(AllocateLaptop.TYPE, "SRH1", "scan-1", 0)
    assert a == codec.event_id(AllocateLaptop.TYPE, "SRH1", "scan-1", 0)
    others = {
        codec.event_id(DispatchLaptop.TYPE, "SRH1", "scan-1", 0),
        codec.event_id(AllocateLaptop.TYPE, "SRH2", "scan-1", 0),
        codec.event_id(AllocateLaptop.TYPE, "SRH1", "scan-2", 0),
        codec.event_id(AllocateLaptop.TYPE, "SRH1", "scan-1", 1),
    }
    assert a not in others and len(others) == 4


def test_events_validate_their_data() -> None:
    with pytest.raises(ValueError):
        LaptopAllocated(office_code="not-a-code", office_name="x")


def test_every_message_says_what_its_subject_names_and_a_refusal_names_its_commands_kind() -> None:
    import typing

    from events.catalog import BY_TYPE, CloseConsignment, CommandRejected, DispatchLaptop
    from events.envelope import SubjectKind
    from tests.builders import DISPATCHER, NOW, cmd, label_for

    for cls in BY_TYPE.values():
        assert cls.SUBJECT_KIND in typing.get_args(SubjectKind), cls
    assert all(BY_TYPE[t].SUBJECT_KIND == "consignment" for t in BY_TYPE if t.startswith("id.serah.consignment."))
    assert all(BY_TYPE[t].SUBJECT_KIND == "account" for t in BY_TYPE if t.startswith("id.serah.account."))
    assert all(BY_TYPE[t].SUBJECT_KIND == "device" for t in BY_TYPE if t.startswith("id.serah.device."))
    assert all(BY_TYPE[t].SUBJECT_KIND == "key" for t in BY_TYPE if t.startswith("id.serah.key."))
    close = cmd(CloseConsignment(dispatcher=DISPATCHER), "C-1")  # type: ignore[arg-type]
    refused = codec.make(
        CommandRejected(command_type=close.type, reason="consignment_empty", detail="empty"),
        subject="C-1",
        source="/t",
        time=NOW,
        id="r-1",
        subject_kind=codec.subject_kind(close),
    )
    assert codec.decode(codec.encode(refused)).subjectkind == "consignment"
    assert codec.subject_kind(cmd(DispatchLaptop(label=label_for("SRHAAAAAAAAAA")), "SRHAAAAAAAAAA")) == "laptop"
    # A producer that leaves it out is read by its type's kind.
    doc = codec.to_json(close)
    del doc["subjectkind"]
    assert codec.subject_kind(codec.from_json(doc)) == "consignment"
