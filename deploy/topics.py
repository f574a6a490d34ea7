"""Creates Serah's topics if missing (idempotent). Used by ``serah run``, the
test suite and the gateway at start-up, so a fresh cluster needs no manual step."""

from __future__ import annotations

import time

from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from events.topics import TOPICS


def ensure_topics(bootstrap: str, partitions: int, replication: int = 1, timeout_s: float = 60) -> list[str]:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="serah-topics", request_timeout_ms=10000)
            break
        except KafkaError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    created = []
    try:
        existing = set(admin.list_topics())
        for spec in TOPICS:
            if spec.name in existing:
                continue
            configs = {"retention.ms": "-1"} if spec.kept_forever else {}
            try:
                admin.create_topics([NewTopic(spec.name, partitions, replication, topic_configs=configs)])
                created.append(spec.name)
            except TopicAlreadyExistsError:
                pass
    finally:
        admin.close()
    return created
