"""Apache Kafka 4.x on loopback: one KRaft node (broker + controller), or a
cluster of three such nodes (replication factor 3, ``min.insync.replicas=2``) to
prove what survives a broker's failure.

The jars come from Maven Central (``org.apache.kafka:kafka_2.13`` and its
dependencies) via Maven, cached per user and version; storage is formatted once.
"""

from __future__ import annotations

import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

from deploy.local import procs
from deploy.local.tools import cache_dir, free_port, require, wait_for_port

# Newest 4.x on Maven Central that both aiokafka 0.14 (under faust) and
# kafka-python 3.0 were verified against here; see README "Versions".
KAFKA_VERSION = "4.4.0"
LOG4J_VERSION = "2.25.5"

_POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.serah</groupId><artifactId>kafka-jars</artifactId><version>1</version>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>{kafka}</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-storage</artifactId><version>{kafka}</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId><version>{log4j}</version></dependency>
  </dependencies>
</project>
"""

_LOG4J2 = """status = warn
appender.console.type = Console
appender.console.name = STDOUT
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = warn
rootLogger.appenderRef.stdout.ref = STDOUT
logger.kafka.name = kafka.server.KafkaRaftServer
logger.kafka.level = info
"""


def ensure_jars() -> Path:
    """Downloads the Kafka server jars once per version into the user cache."""
    home = cache_dir(f"kafka-{KAFKA_VERSION}")
    libs = home / "libs"
    if (home / ".complete").exists():
        return libs
    mvn = require("mvn", "Install Maven (e.g. apt-get install maven): it fetches Kafka from Maven Central.")
    (home / "pom.xml").write_text(_POM.format(kafka=KAFKA_VERSION, log4j=LOG4J_VERSION))
    print(f"serah: fetching Apache Kafka {KAFKA_VERSION} jars from Maven Central (once)…", flush=True)
    result = subprocess.run(
        [mvn, "-q", "-B", "dependency:copy-dependencies", f"-DoutputDirectory={libs}"],
        cwd=home,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"Maven could not fetch Kafka {KAFKA_VERSION}:\n{result.stdout[-3000:]}{result.stderr[-3000:]}"
        )
    (home / "log4j2.properties").write_text(_LOG4J2)
    (home / ".complete").write_text(KAFKA_VERSION)
    return libs


@dataclass
class KafkaNode:
    proc: subprocess.Popen[bytes]
    port: int

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self) -> None:
        procs.stop(self.proc, grace_s=20)


@dataclass
class KafkaCluster:
    """Several KRaft nodes, each broker and controller; ``nodes[i]`` has node id i + 1."""

    nodes: list[KafkaNode]

    @property
    def bootstrap(self) -> str:
        return ",".join(n.bootstrap for n in self.nodes)

    @property
    def proc(self) -> subprocess.Popen[bytes]:
        """The first node's process, for a caller that watches one broker (a benchmark's CPU)."""
        return self.nodes[0].proc

    @property
    def port(self) -> int:
        return self.nodes[0].port

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


def _properties(node_id: int, port: int, voters: dict[int, int], logs: Path, replication: int) -> str:
    """``voters``: node id → controller port of every node of the cluster."""
    quorum = ",".join(f"{n}@127.0.0.1:{c}" for n, c in sorted(voters.items()))
    return (
        "\n".join(
            [
                "process.roles=broker,controller",
                f"node.id={node_id}",
                f"controller.quorum.voters={quorum}",
                f"listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{voters[node_id]}",
                f"advertised.listeners=PLAINTEXT://127.0.0.1:{port}",
                "controller.listener.names=CONTROLLER",
                "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
                "inter.broker.listener.name=PLAINTEXT",
                f"log.dirs={logs}",
                f"offsets.topic.replication.factor={replication}",
                f"transaction.state.log.replication.factor={replication}",
                # One replica may be away (killed, paused, restarting) and writes go on;
                # with acks=all, a write is on two brokers before it is acknowledged.
                f"transaction.state.log.min.isr={min(2, replication)}",
                f"min.insync.replicas={min(2, replication)}",
                f"default.replication.factor={replication}",
                "unclean.leader.election.enable=false",
                "group.initial.rebalance.delay.ms=0",
                "num.partitions=6",
                "auto.create.topics.enable=true",
            ]
        )
        + "\n"
    )


def _start_node(
    data: Path, props_text: str, port: int, cluster_id: str, heap: str, timeout_s: float | None
) -> KafkaNode:
    """Formats the node's storage once, starts it, and (``timeout_s`` given) waits until it listens."""
    java = require("java", "Install Java 17 or newer (e.g. apt-get install openjdk-17-jre-headless) to run Kafka.")
    libs = ensure_jars()
    data.mkdir(parents=True, exist_ok=True)
    logs = data / "kraft-logs"
    props = data / "server.properties"
    props.write_text(props_text)
    classpath = f"{libs}/*"
    log4j = f"-Dlog4j2.configurationFile={libs.parent / 'log4j2.properties'}"
    if not (logs / "meta.properties").exists():
        subprocess.run(
            [java, log4j, "-cp", classpath, "kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(props)],
            check=True,
            capture_output=True,
        )
    proc = procs.start(
        [java, f"-Xmx{heap}", f"-Xms{heap}", "-XX:+UseG1GC", log4j, "-cp", classpath, "kafka.Kafka", str(props)],
        data / "kafka.log",
    )
    node = KafkaNode(proc, port)
    if timeout_s is not None:
        wait_until_listening(node, data, timeout_s)
    return node


def wait_until_listening(node: KafkaNode, data: Path, timeout_s: float) -> None:
    try:
        wait_for_port(node.port, timeout_s, node.proc, what=f"Kafka (log: {data / 'kafka.log'})")
    except Exception:
        procs.stop(node.proc)
        raise


def start_kafka(data: Path, port: int | None = None, heap: str = "512m", timeout_s: float = 120) -> KafkaNode:
    port = port or free_port()
    logs = data / "kraft-logs"
    text = _properties(1, port, {1: free_port()}, logs, replication=1)
    return _start_node(data, text, port, uuid.uuid4().hex[:22], heap, timeout_s)


def start_cluster(data: Path, brokers: int = 3, heap: str = "384m", timeout_s: float = 180) -> KafkaCluster:
    """``brokers`` KRaft nodes (each broker and controller), node ``i`` in ``data/node<i>``.
    They are started together: a controller quorum needs a majority to elect a leader."""
    cluster_id = uuid.uuid4().hex[:22]
    ports = {n: free_port() for n in range(1, brokers + 1)}
    voters = {n: free_port() for n in ports}
    nodes = []
    for n, port in ports.items():
        folder = data / f"node{n}"
        text = _properties(n, port, voters, folder / "kraft-logs", replication=min(3, brokers))
        nodes.append(_start_node(folder, text, port, cluster_id, heap, timeout_s=None))
    cluster = KafkaCluster(nodes)
    try:
        for n, node in enumerate(nodes, start=1):
            wait_until_listening(node, data / f"node{n}", timeout_s)
    except Exception:
        cluster.stop()
        raise
    return cluster
