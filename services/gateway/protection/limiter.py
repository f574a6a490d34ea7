"""Token buckets, one per (policy, key): a policy allows ``per_s`` requests a second
on average and ``burst`` at once; a key is whoever is counted (a client address, an
account, a device token). Pure: the clock is passed in, nothing is shared between
processes (each gateway process counts for itself)."""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Policy:
    name: str
    per_s: float
    burst: int
    # What is counted, for the sentence of a refusal ("scans", "sign-in attempts").
    what: str = "requests"

    def __post_init__(self) -> None:
        if self.per_s <= 0 or self.burst < 1:
            raise ValueError(f"rate policy {self.name}: per_s must be above 0 and burst at least 1")

    def describe(self) -> str:
        rate = f"{self.per_s:g} a second" if self.per_s >= 1 else f"{self.per_s * 60:g} a minute"
        return f"{rate}, {self.burst} at once"


@dataclass
class _Bucket:
    tokens: float
    at: float


class Limiter:
    """Answers, for each request, whether its key may go now or how long it must wait.

    At most ``max_keys`` buckets are kept per policy; past that the least recently
    used is forgotten (a key forgotten starts again with a full bucket, so a flood
    from many addresses costs memory it cannot grow, not correctness for others)."""

    def __init__(
        self, policies: Mapping[str, Policy], clock: Callable[[], float] = time.monotonic, max_keys: int = 100_000
    ) -> None:
        self.policies = dict(policies)
        self._clock, self._max_keys = clock, max_keys
        self._buckets: dict[str, OrderedDict[str, _Bucket]] = {name: OrderedDict() for name in self.policies}

    def take(self, policy: str, key: str) -> float:
        """Spends one request of ``key`` under ``policy``: 0.0 if it may go now,
        else the seconds until it may (nothing is spent then)."""
        p, buckets, now = self.policies[policy], self._buckets[policy], self._clock()
        bucket = buckets.pop(key, None) or _Bucket(float(p.burst), now)
        buckets[key] = bucket  # most recently used last
        bucket.tokens = min(float(p.burst), bucket.tokens + (now - bucket.at) * p.per_s)
        bucket.at = now
        while len(buckets) > self._max_keys:
            buckets.popitem(last=False)
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / p.per_s


def retry_after(wait_s: float) -> int:
    """Whole seconds for a Retry-After header: never 0, which would invite an immediate retry."""
    return max(1, math.ceil(wait_s))
