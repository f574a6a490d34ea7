"""Whatever a producer may put on Kafka, the workers can read back: the codec
round-trips every envelope the contract allows, and a device's scan time is
either inside the window or refused with a reason, never carried as garbage."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from events import codec, scantime
from events.catalog import CommandRejected, DispatchLaptop
from events.envelope import Envelope
from services.allocation import handlers as allocation
from services.allocation.handlers import AllocationRuntime
from tests.builders import NOW, cmd, label_for, new_asset
from tests.fakes import allocation_with_fakes

zones = st.one_of(
    st.just(UTC),
    st.integers(-23 * 60 - 59, 23 * 60 + 59).map(lambda m: timezone(timedelta(minutes=m))),
)
# Every aware datetime Python can hold whose UTC form is inside years 1-9999.
aware = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=zones)
safe_ids = st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9_.:@-]{0,40}\Z")
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=10,
)


@settings(max_examples=400, deadline=None)
@given(aware, safe_ids, safe_ids, st.dictionaries(st.text(max_size=10), json_values, max_size=4))
def test_every_envelope_the_contract_allows_decodes_to_itself(
    when: datetime, id_: str, subject: str, data: dict[str, object]
) -> None:
    env = Envelope(id=id_, source="/t", type=DispatchLaptop.TYPE, subject=subject, time=when, data=data)
    back = codec.decode(codec.encode(env))
    assert back == env
    assert back.time == when  # the same instant, to the microsecond
    text = codec.to_json(env)["time"]
    assert len(text) == len("0001-01-01T00:00:00.000000Z") and text.endswith("Z")


def test_a_year_before_1000_is_written_with_four_digits() -> None:
    assert codec.format_time(datetime(995, 12, 18, 10, 53, 43, tzinfo=UTC)) == "0995-12-18T10:53:43.000000Z"


def test_a_time_that_leaves_the_calendar_in_utc_is_refused_not_a_crash() -> None:
    with pytest.raises(ValueError, match="0001-9999"):
        scantime.as_utc(datetime(1, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=1))))
    with pytest.raises(ValueError, match="timezone"):
        scantime.as_utc(datetime(2026, 1, 1))


@settings(max_examples=300, deadline=None)
@given(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)))
def test_a_scan_time_is_accepted_exactly_inside_the_window(scanned: datetime) -> None:
    why = scantime.out_of_range(scanned, NOW)
    inside = NOW - scantime.MAX_AGE <= scanned <= NOW + scantime.MAX_AHEAD
    assert (why is None) == inside
    if why is not None:
        assert "set the device's date and time" in why and f"{scanned.year:04d}" in why


@pytest.fixture
def rt() -> AllocationRuntime:
    return allocation_with_fakes()


@pytest.mark.parametrize(
    "scanned",
    [
        datetime(995, 12, 18, 10, 53, 43, tzinfo=UTC),
        datetime(1969, 12, 31, tzinfo=UTC),
        datetime(9999, 1, 1, tzinfo=UTC),
    ],
)
def test_a_command_straight_on_kafka_with_a_device_time_outside_the_window_is_refused(
    rt: AllocationRuntime, scanned: datetime
) -> None:
    _, asset = new_asset()
    command = cmd(DispatchLaptop(label=label_for(asset)), asset, time=scanned)
    [event] = asyncio.run(allocation.handle(command, rt))
    assert event.type == CommandRejected.TYPE and event.data["reason"] == "scanned_at_out_of_range"
