"""Faults on the single-broker stack (one Kafka node, FerretDB on PostgreSQL, one
process per service), each under a steady load of scans from several devices; after each,
every acknowledged scan is recorded exactly once (tests/faults/oracle.py).

``make test`` runs a bounded subset (short outages); ``make faults`` runs every
scenario with longer outages (SERAH_FAULTS=all)."""

from __future__ import annotations

import random
import signal
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from deploy.local import procs
from deploy.local.stack import WORKERS, Stack
from events import topics
from tests.faults import harness
from tests.faults.harness import LONG, Load
from tests.faults.oracle import Outcome, check_store
from tests.settle import settled

pytestmark = pytest.mark.timeout(900)

BOUNDED = (
    "workers_killed_mid_batch",
    "gateway_killed_with_scans_in_flight",
    "broker_killed_and_restarted",
    "store_stopped_and_back",
)


def scenario(name: str) -> Any:
    """Runs in `make test` when in BOUNDED; every scenario runs in `make faults`. The others
    are left out of `make test` at collection (tests/faults/conftest.py), never skipped."""
    return (lambda test: test) if name in BOUNDED else pytest.mark.long_form


@scenario("workers_killed_mid_batch")
def test_workers_killed_mid_batch_repeatedly_lose_and_double_nothing(
    fault_stack: Stack, fault_api: httpx.Client, fault_mongo: Any
) -> None:
    """Bursts of SIGKILLs, each worker in turn, while batches are in flight."""
    rounds = 6 if LONG else 3
    rng = random.Random()

    def fault() -> None:
        for i in range(rounds):
            victim = WORKERS[i % len(WORKERS)]
            fault_stack.kill(victim)
            time.sleep(rng.uniform(0.5, 2.0))
            harness.restart_worker(fault_stack, victim)
            time.sleep(rng.uniform(2.0, 5.0))  # long enough to take a batch, short enough to die in it

    outcome = harness.run("workers_killed_mid_batch", fault_stack, fault_api, fault_mongo, fault)
    assert outcome.ok, outcome


@scenario("gateway_killed_with_scans_in_flight")
def test_the_gateway_killed_with_scans_in_flight_loses_nothing_the_devices_retry(
    fault_stack: Stack, fault_api: httpx.Client, fault_mongo: Any
) -> None:
    rounds = 4 if LONG else 2

    def fault() -> None:
        for _ in range(rounds):
            fault_stack.kill("gateway")
            time.sleep(1.0)
            fault_stack.start_service("gateway")
            time.sleep(4.0)

    outcome = harness.run("gateway_killed_with_scans_in_flight", fault_stack, fault_api, fault_mongo, fault)
    assert outcome.ok, outcome


@scenario("broker_killed_and_restarted")
def test_the_broker_hard_killed_and_restarted_loses_nothing(
    fault_stack: Stack, fault_api: httpx.Client, fault_mongo: Any
) -> None:
    down_s = 20.0 if LONG else 6.0
    outcome = harness.run(
        "broker_killed_and_restarted",
        fault_stack,
        fault_api,
        fault_mongo,
        lambda: harness.restart_kafka(fault_stack, down_s, "broker_killed_and_restarted"),
    )
    assert outcome.ok, outcome


@scenario("store_stopped_and_back")
def test_the_store_stopped_for_a_while_and_back_loses_nothing(
    fault_stack: Stack, fault_api: httpx.Client, fault_mongo: Any
) -> None:
    """PostgreSQL, which holds the data, shut down (its fast shutdown: open transactions
    rolled back, every client cut off) for the outage, then started again: FerretDB and
    the services find it again by themselves."""
    down_s = 60.0 if LONG else 10.0
    outcome = harness.run(
        "store_stopped_and_back",
        fault_stack,
        fault_api,
        fault_mongo,
        lambda: harness.restart_postgres(fault_stack, down_s, signal.SIGINT, "store_stopped_and_back"),
    )
    assert outcome.ok, outcome


@scenario("store_killed_mid_write")
def test_the_store_killed_mid_write_loses_nothing(
    fault_stack: Stack, fault_api: httpx.Client, fault_mongo: Any
) -> None:
    """PostgreSQL SIGKILLed (the postmaster and every backend, as a crash leaves them) while
    the workers write, started again at once: it recovers from its WAL."""

    def fault() -> None:
        for _ in range(3 if LONG else 1):
            harness.restart_postgres(fault_stack, 1.0, signal.SIGKILL)
            time.sleep(5.0)

    outcome = harness.run("store_killed_mid_write", fault_stack, fault_api, fault_mongo, fault)
    assert outcome.ok, outcome


@scenario("store_paused")
def test_the_store_paused_hung_and_back_loses_nothing(
    fault_stack: Stack, fault_api: httpx.Client, fault_mongo: Any
) -> None:
    """PostgreSQL SIGSTOPped (a hung host or disk): connections stay open and nothing
    answers, for the outage; then SIGCONTed."""
    down_s = 30.0 if LONG else 10.0
    outcome = harness.run(
        "store_paused",
        fault_stack,
        fault_api,
        fault_mongo,
        lambda: harness.pause_postgres(fault_stack, down_s, "store_paused"),
    )
    assert outcome.ok, outcome


@scenario("ferretdb_killed_mid_write")
def test_ferretdb_killed_mid_write_loses_nothing(fault_stack: Stack, fault_api: httpx.Client, fault_mongo: Any) -> None:
    """FerretDB, the stateless proxy in front of PostgreSQL, SIGKILLed under load (every
    client's connection and command in flight cut) and started again at once."""

    def fault() -> None:
        for _ in range(3 if LONG else 1):
            harness.restart_store(fault_stack, 1.0, signal.SIGKILL)
            time.sleep(5.0)

    outcome = harness.run("ferretdb_killed_mid_write", fault_stack, fault_api, fault_mongo, fault)
    assert outcome.ok, outcome


@scenario("rebalance_one_two_one")
def test_a_second_instance_of_each_worker_joined_and_removed_under_load_loses_nothing(
    fault_stack: Stack, fault_api: httpx.Client, fault_mongo: Any
) -> None:
    def fault() -> None:
        extra = [harness.extra_instance(fault_stack, w, "second") for w in WORKERS]
        try:
            time.sleep(20.0 if LONG else 12.0)
        finally:
            for proc in extra:
                procs.stop(proc)

    outcome = harness.run("rebalance_one_two_one", fault_stack, fault_api, fault_mongo, fault)
    assert outcome.ok, outcome


@scenario("worker_paused_past_session_timeout")
def test_a_worker_paused_past_its_session_timeout_does_not_act_on_partitions_it_lost(
    fault_stack: Stack, fault_api: httpx.Client, fault_mongo: Any
) -> None:
    """Each worker has a second instance; the first is SIGSTOPped past the group's
    10 s session timeout (its partitions move), then resumed while the other works."""

    def fault() -> None:
        extra = [harness.extra_instance(fault_stack, w, "standby") for w in WORKERS]
        try:
            time.sleep(8.0)
            for w in WORKERS:
                harness.pause(fault_stack.services[w], 15.0)
            time.sleep(8.0)
        finally:
            for proc in extra:
                procs.stop(proc)

    outcome = harness.run("worker_paused_past_session_timeout", fault_stack, fault_api, fault_mongo, fault)
    assert outcome.ok, outcome


@scenario("full_replay")
@pytest.mark.timeout(1800)
def test_a_full_replay_from_the_earliest_offsets_adds_no_event_and_leaves_the_views_identical(
    fault_stack: Stack, fault_api: httpx.Client, fault_mongo: Any
) -> None:
    """After a load, every worker is stopped, its group's offsets reset to the earliest
    and the worker started again: everything it ever read is redelivered; no new event
    id appears anywhere and every view is as it was."""
    harness.run("no_fault_then_full_replay", fault_stack, fault_api, fault_mongo, lambda: None, Load(warmup_s=10.0))
    assert fault_stack.kafka is not None
    before_log = sorted(d["_id"] for d in fault_mongo.event_log.find({}, {"_id": 1}))
    before_views = {v["_id"]: v for v in fault_mongo.laptop_views.find()}
    before_events = harness.event_ids(fault_stack.kafka.bootstrap)
    for w in WORKERS:
        procs.stop(fault_stack.services.pop(w))
    for w in WORKERS:
        harness.rewind(fault_stack.kafka.bootstrap, topics.consumer_group(w), topics.CONSUMED_BY[w])
    started = time.monotonic()
    for w in WORKERS:
        fault_stack.start_service(w)
    # Everything ever published is read again: minutes, not seconds, on a long-lived stack.
    settled(fault_stack, timeout_s=1200)
    took = time.monotonic() - started
    assert sorted(d["_id"] for d in fault_mongo.event_log.find({}, {"_id": 1})) == before_log
    assert {v["_id"]: v for v in fault_mongo.laptop_views.find()} == before_views
    assert harness.event_ids(fault_stack.kafka.bootstrap) == before_events, "the replay published a new event id"
    outcome = Outcome("full_replay", sent=0, acknowledged=0, recorded=len(before_log), recover_s=took)
    check_store(outcome, fault_stack, fault_mongo, fault_stack.data)
    harness.RESULTS.append(outcome)
    assert outcome.ok, outcome


@scenario("device_clocks_hours_off")
def test_devices_whose_clocks_are_hours_off_are_recorded_or_refused_at_the_door_never_lost(
    fault_stack: Stack, fault_api: httpx.Client, fault_mongo: Any
) -> None:
    """One device's clock is three hours behind (within the scan-time window: its scans
    are recorded with its time), one three hours ahead (refused at the door with
    scanned_at_out_of_range, before Kafka: nothing recorded), the others right."""
    hours = 3 * 3600.0
    load = Load(devices=4, offline_devices=0, clock_offsets_s=(-hours, hours))
    outcome = harness.run("device_clocks_hours_off", fault_stack, fault_api, fault_mongo, lambda: None, load)
    assert outcome.ok, outcome
    assert outcome.refused > 0, "the device three hours ahead was not refused"


@scenario("server_clocks_jump")
def test_server_clocks_jumping_hours_ahead_and_back_stamp_nothing_and_lose_nothing(
    fault_stack: Stack, fault_api: httpx.Client, fault_mongo: Any
) -> None:
    """The workers' host clock jumps three hours ahead and back, then the gateway's
    (libfaketime, the monotonic clocks untouched as a real step leaves them). No fact is
    stamped by a clock off the store's: the workers wait with their partitions, the gateway
    answers 503 with Retry-After; /healthz names the clock; then all goes on."""
    workers_clock, gateway_clock = fault_stack.data / "clock-workers", fault_stack.data / "clock-gateway"
    workers_clock.write_text("+0")
    gateway_clock.write_text("+0")
    jump_s = 30.0 if LONG else 15.0
    gateway_noticed: list[float | None] = []
    try:
        for w in WORKERS:
            harness.restart_with_clock(fault_stack, w, workers_clock)
        harness.restart_with_clock(fault_stack, "gateway", gateway_clock)
        fault_stack.wait_healthy(timeout_s=180)

        def fault() -> None:
            harness.NOTICED["server_clocks_jump"] = harness.jump_clock(
                workers_clock,
                "+3h",
                jump_s,
                fault_stack,
                "the handover worker's clock is 3.0 h ahead of the store's: it waits",
            )
            time.sleep(8.0)
            gateway_noticed.append(
                harness.jump_clock(
                    gateway_clock, "+3h", jump_s, fault_stack, "the gateway's clock is 3.0 h ahead of the store's"
                )
            )

        outcome = harness.run("server_clocks_jump", fault_stack, fault_api, fault_mongo, fault)
    finally:
        for name in (*WORKERS, "gateway"):
            harness.restart_with_clock(fault_stack, name, None)
        fault_stack.wait_healthy(timeout_s=180)
    assert outcome.ok, outcome
    assert gateway_noticed and gateway_noticed[0] is not None, "/healthz did not name the gateway's clock"
    assert outcome.answered_503 > 0, "no scan met the gateway's clock off"
    stamped = [
        e["_id"]
        for e in fault_mongo.event_log.find({}, {"event.time": 1})
        if e["event"]["time"] > (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
    ]
    assert stamped == [], f"facts stamped by a clock three hours ahead: {stamped[:5]}"
