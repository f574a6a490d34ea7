"""The cluster compose file (three Kafka brokers, a three-member replica set, two
instances of each worker), checked by structure as docker-compose.yml is."""

from __future__ import annotations

import re
from typing import Any

import yaml

from tests.unit.test_compose import ROOT, SERAH, template_vars

BROKERS = ("kafka1", "kafka2", "kafka3")
MEMBERS = ("mongo1", "mongo2", "mongo3")


def cluster() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.cluster.yml").read_text())  # type: ignore[no-any-return]


def test_three_kraft_brokers_replicate_every_topic_three_times_and_acknowledge_on_two() -> None:
    services = cluster()["services"]
    assert set(services) == {*BROKERS, *MEMBERS, *SERAH}
    for n, name in enumerate(BROKERS, start=1):
        kafka = services[name]
        env = kafka["environment"]
        assert kafka["image"].startswith("apache/kafka:4.") and kafka["healthcheck"]["test"]
        assert env["KAFKA_PROCESS_ROLES"] == "broker,controller" and env["KAFKA_NODE_ID"] == n
        assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == "1@kafka1:9093,2@kafka2:9093,3@kafka3:9093"
        assert env["KAFKA_ADVERTISED_LISTENERS"] == f"PLAINTEXT://{name}:9092"
        assert env["KAFKA_DEFAULT_REPLICATION_FACTOR"] == 3 and env["KAFKA_MIN_INSYNC_REPLICAS"] == 2
        assert env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == 3
        assert env["KAFKA_UNCLEAN_LEADER_ELECTION_ENABLE"] == "false"
        assert kafka["volumes"] == [f"{name}-data:/var/lib/kafka/data"]


def test_mongo_is_a_three_member_replica_set() -> None:
    services = cluster()["services"]
    for name in MEMBERS:
        assert services[name]["image"].startswith("mongo:") and "--replSet" in services[name]["command"]
    init = " ".join(services["mongo1"]["healthcheck"]["test"])
    assert "rs.initiate" in init and all(f"host: '{m}:27017'" in init for m in MEMBERS)


def test_each_worker_runs_twice_and_every_service_reaches_the_whole_cluster() -> None:
    services = cluster()["services"]
    for name in SERAH:
        svc = services[name]
        assert svc["image"] == "serah:latest" and svc["build"]["dockerfile"] == "deploy/Dockerfile"
        assert svc["command"] == ["python", "-m", f"services.{name}"]
        assert svc.get("deploy", {}).get("replicas", 1) == (1 if name == "gateway" else 2), name
        assert set(svc["depends_on"]) == {*BROKERS, "mongo1"}
        env = svc["environment"]
        assert env["SERAH_KAFKA_BOOTSTRAP"] == "kafka1:9092,kafka2:9092,kafka3:9092"
        assert env["SERAH_MONGO_URL"] == "mongodb://mongo1:27017,mongo2:27017,mongo3:27017/?replicaSet=rs0"
        assert env["SERAH_TOPIC_REPLICATION"] == "3"
        assert ("SERAH_LABEL_SIGNING_KEYS" in env) == (name == "gateway"), name
        assert ("SERAH_RECEIPT_CODE_KEYS" in env) == (name in ("gateway", "handover")), name


def test_its_variables_are_in_the_env_template_and_its_secrets_required() -> None:
    text = (ROOT / "docker-compose.cluster.yml").read_text()
    referenced = set(re.findall(r"\$\{([A-Z0-9_]+)", text))
    assert referenced <= template_vars(), referenced - template_vars()
    secrets = ("SERAH_LABEL_SIGNING_KEYS", "SERAH_LABEL_PUBLIC_KEYS", "SERAH_RECEIPT_CODE_KEYS", "KAFKA_CLUSTER_ID")
    for secret in secrets:
        assert re.search(r"\$\{" + secret + r":\?", text), f"{secret} must be required with :?"
