"""Whether this process's clock may stamp facts.

Serah's facts carry times (when a scan was made, when it was decided) that an
auditor reads as evidence, so a process whose clock has jumped does not decide:
its clock is compared with the store's every few seconds, and a step in between
shows at once, as the wall clock moving against the monotonic one. Off by more
than the tolerance, a worker holds its partitions (as for a store that cannot
write) and skips its timed rules; the gateway answers ``503`` with ``Retry-After``
(the device keeps its scan and sends it again); ``/healthz`` names the clock."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import datetime

TOLERANCE_S = 60.0
CHECK_EVERY_S = 5.0


class ClockGuard:
    """Before the first comparison the clock is taken as right."""

    def __init__(self, tolerance_s: float = TOLERANCE_S) -> None:
        self.tolerance_s = tolerance_s
        self._offset_s = 0.0  # this clock minus the store's, at the last comparison
        self._base_s = time.time() - time.monotonic()

    async def compare(self, store_time: Callable[[], Awaitable[datetime]]) -> None:
        """Compare with the store's clock now (``store_time``: its current time)."""
        sent, wall = time.monotonic(), time.time()
        store = await store_time()
        half_trip = (time.monotonic() - sent) / 2
        self._offset_s = wall + half_trip - store.timestamp()
        self._base_s = wall - sent

    def off_by_s(self) -> float:
        """How far this clock is from the store's now: the last comparison plus any step since."""
        return self._offset_s + (time.time() - time.monotonic()) - self._base_s

    def trusted(self) -> bool:
        return abs(self.off_by_s()) <= self.tolerance_s

    def why(self) -> str:
        return f"its clock is {describe(self.off_by_s())} the store's"


def describe(off_s: float) -> str:
    """``3.0 h ahead of`` / ``90 s behind``."""
    size = abs(off_s)
    amount = f"{size / 3600:.1f} h" if size >= 3600 else f"{size / 60:.0f} min" if size >= 120 else f"{size:.0f} s"
    return f"{amount} {'ahead of' if off_s > 0 else 'behind'}"


class ClockJumped(TimeoutError):
    """Raised instead of a time while the clock is off: a transient failure, so the
    message is tried again in place, and nothing was stamped or stored."""


def guarded(clock: Callable[[], datetime], guard: ClockGuard) -> Callable[[], datetime]:
    """``clock`` that refuses to tell the time while ``guard`` does not trust it: a step in
    the middle of a batch stamps nothing either."""

    def now() -> datetime:
        if not guard.trusted():
            raise ClockJumped(guard.why())
        return clock()

    return now
