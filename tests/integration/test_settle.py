"""The settle helper against a real broker: it does not return while a real
consumer group lags, and the stack's own workers do settle after a command."""

from __future__ import annotations

import time
import uuid

import httpx
import pytest
from kafka import KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import KafkaError, NoError
from kafka.structs import OffsetAndMetadata

from deploy.local.stack import Stack
from events import topics
from tests.conftest import device_token, eventually, signed_in
from tests.settle import settled


def commit(admin: KafkaAdminClient, group: str, tp: TopicPartition, offset: int) -> None:
    def attempt() -> bool:
        try:
            outcome = admin.alter_group_offsets(group, {tp: OffsetAndMetadata(offset, "", -1)})
        except KafkaError as exc:  # a fresh broker has no group coordinator until its offsets topic exists
            if not exc.retriable:
                raise
            return False
        error = outcome[tp]
        if error is not NoError and not error.retriable:
            raise error()
        return error is NoError

    eventually(attempt, what=f"{group} committing {tp}")


def test_it_does_not_return_while_a_consumer_group_lags_and_returns_once_the_group_commits(infra: Stack) -> None:
    assert infra.kafka is not None
    topic, group = f"settle-probe-{uuid.uuid4().hex[:8]}", f"settle-probe-{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=infra.kafka.bootstrap)
    try:
        admin.create_topics([NewTopic(topic, 2, 1)])
        producer = KafkaProducer(bootstrap_servers=infra.kafka.bootstrap, acks="all")
        for i in range(5):
            producer.send(topic, key=f"k{i}".encode(), value=b"x", partition=i % 2)
        producer.flush(30)
        producer.close()
        # the group has read partition 0 to its end and partition 1 not at all
        commit(admin, group, TopicPartition(topic, 0), 3)
        started = time.monotonic()
        with pytest.raises(AssertionError, match=rf"{group}.*{topic}\[1\]': 2"):
            settled(infra, timeout_s=3, groups={group: [topic]})
        assert time.monotonic() - started >= 3
        commit(admin, group, TopicPartition(topic, 1), 2)
        done = settled(infra, timeout_s=10, groups={group: [topic]})
        assert done.committed[group] == {TopicPartition(topic, 0): 3, TopicPartition(topic, 1): 2}
    finally:
        admin.delete_topics([topic])
        admin.close()


def test_the_stack_settles_after_a_command_with_every_worker_committed_to_the_log_ends(stack: Stack) -> None:
    body = {
        "serial": "ST" + uuid.uuid4().hex[:10].upper(),
        "brand": "HP",
        "model": "ProBook 440 G9",
        "specs": {"cpu": "i5", "ram_gb": 8, "storage_gb": 256},
    }
    device = signed_in(device_token(stack, ("operator",), name="settle test"))
    assert httpx.post(f"{stack.url}/api/v1/laptops", json=body, timeout=30, headers=device).status_code == 201
    done = settled(stack)
    assert not done.lagging()
    assert set(done.committed) == {topics.consumer_group(w) for w in topics.CONSUMED_BY}
    events = {tp: end for tp, end in done.ends.items() if tp.topic == topics.EVENTS}
    for group in done.committed:
        assert {tp: done.committed[group].get(tp, 0) for tp in events} == events, group
