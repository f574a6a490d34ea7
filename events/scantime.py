"""When a scan may say it happened.

A scan carries the time the device made it (``scanned_at``, the command's
CloudEvents ``time``), because a phone with no signal queues scans and sends
them later. That time is the device's word, so it is bounded:

- not more than ``max_ahead`` after the server's clock (a device clock a few
  minutes fast is normal; a scan "from tomorrow" is a wrong clock), and
- not more than ``max_age`` before it (long enough for a remote office that
  syncs once a season; an older time is a wrong clock, not a queued scan).

Outside the window the scan is refused at the door, with the device time and
the server time in the reason so the person can fix the clock and scan again.
The gateway checks it before anything reaches Kafka; the deciding services
check it again for commands that reach Kafka some other way.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

MAX_AHEAD = timedelta(minutes=5)
MAX_AGE = timedelta(days=180)


def as_utc(value: datetime) -> datetime:
    """``value`` in UTC. Raises ValueError for a time without a zone (RFC 3339
    requires one) or one that falls outside years 0001-9999 once in UTC."""
    if value.tzinfo is None:
        raise ValueError("time must carry a timezone (RFC 3339)")
    try:
        return value.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00+01:00 is before year 1 in UTC
        raise ValueError("time is outside the years 0001-9999 in UTC") from None


def out_of_range(
    scanned_at: datetime, now: datetime, *, max_ahead: timedelta = MAX_AHEAD, max_age: timedelta = MAX_AGE
) -> str | None:
    """Why ``scanned_at`` is not acceptable at ``now``, or None when it is."""
    if scanned_at - now > max_ahead:
        return (
            f"the device says it scanned at {_show(scanned_at)}, after the server's time {_show(now)}: "
            "set the device's date and time (automatic), then scan again."
        )
    if now - scanned_at > max_age:
        return (
            f"the device says it scanned at {_show(scanned_at)}, more than {max_age.days} days before the "
            f"server's time {_show(now)}: set the device's date and time (automatic), then scan again."
        )
    return None


def _show(value: datetime) -> str:
    return f"{value.year:04d}-{value.month:02d}-{value.day:02d} {value.hour:02d}:{value.minute:02d} UTC"
