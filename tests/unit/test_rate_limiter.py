"""The token buckets behind the gateway's rate limits, on a clock the test turns."""

from __future__ import annotations

import pytest

from services.gateway.protection.limiter import Limiter, Policy, retry_after


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def limiter(per_s: float = 2.0, burst: int = 3, max_keys: int = 100) -> tuple[Limiter, Clock]:
    clock = Clock()
    return Limiter({"scans": Policy("scans", per_s, burst, "scans")}, clock, max_keys=max_keys), clock


def test_a_burst_goes_at_once_and_the_next_request_waits_for_one_token() -> None:
    lim, _ = limiter(per_s=2.0, burst=3)
    assert [lim.take("scans", "10.0.0.1") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert lim.take("scans", "10.0.0.1") == pytest.approx(0.5)


def test_tokens_come_back_at_the_policy_rate_and_never_above_the_burst() -> None:
    lim, clock = limiter(per_s=2.0, burst=3)
    for _ in range(3):
        lim.take("scans", "a")
    clock.now += 0.5  # one token back
    assert lim.take("scans", "a") == 0.0
    assert lim.take("scans", "a") > 0
    clock.now += 3600  # an hour idle refills to the burst, not to 7,200
    assert [lim.take("scans", "a") for _ in range(4)][:3] == [0.0, 0.0, 0.0]
    assert lim.take("scans", "a") > 0


def test_a_refused_request_spends_nothing() -> None:
    lim, clock = limiter(per_s=1.0, burst=1)
    lim.take("scans", "a")
    for _ in range(50):  # a client hammering while refused does not push its own wait further out
        assert lim.take("scans", "a") == pytest.approx(1.0)
    clock.now += 1.0
    assert lim.take("scans", "a") == 0.0


def test_each_key_has_its_own_bucket() -> None:
    lim, _ = limiter(per_s=1.0, burst=1)
    assert lim.take("scans", "10.0.0.1") == 0.0
    assert lim.take("scans", "10.0.0.1") > 0
    assert lim.take("scans", "10.0.0.2") == 0.0


def test_each_policy_counts_apart() -> None:
    clock = Clock()
    lim = Limiter({"scans": Policy("scans", 1, 1), "requests": Policy("requests", 1, 1)}, clock)
    assert lim.take("scans", "a") == 0.0
    assert lim.take("requests", "a") == 0.0
    assert lim.take("scans", "a") > 0


def test_past_the_key_limit_the_least_recently_used_bucket_is_forgotten() -> None:
    lim, _ = limiter(per_s=1.0, burst=1, max_keys=2)
    lim.take("scans", "old")
    lim.take("scans", "recent")
    lim.take("scans", "recent")  # "recent" used last
    lim.take("scans", "new")  # a third key: "old" is forgotten, "recent" kept
    assert lim.take("scans", "recent") > 0
    assert lim.take("scans", "old") == 0.0  # forgotten: a full bucket again


def test_a_slow_policy_waits_minutes_and_says_so() -> None:
    lim, _ = limiter(per_s=0.2, burst=1)
    lim.take("scans", "a")
    assert lim.take("scans", "a") == pytest.approx(5.0)
    assert Policy("logins", 0.2, 10).describe() == "12 a minute, 10 at once"
    assert Policy("scans", 20, 60).describe() == "20 a second, 60 at once"


@pytest.mark.parametrize(("wait", "header"), [(0.01, 1), (1.0, 1), (1.2, 2), (59.5, 60)])
def test_retry_after_is_whole_seconds_and_never_zero(wait: float, header: int) -> None:
    assert retry_after(wait) == header


@pytest.mark.parametrize(("per_s", "burst"), [(0, 1), (-1, 1), (1, 0)])
def test_a_policy_that_could_never_let_anything_through_is_refused(per_s: float, burst: int) -> None:
    with pytest.raises(ValueError, match="rate policy"):
        Policy("x", per_s, burst)
