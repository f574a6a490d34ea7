"""Apache Kafka 4.x as one KRaft node (broker + controller) on loopback.

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


def start_kafka(data: Path, port: int | None = None, heap: str = "512m", timeout_s: float = 120) -> KafkaNode:
    java = require("java", "Install Java 17 or newer (e.g. apt-get install openjdk-17-jre-headless) to run Kafka.")
    libs = ensure_jars()
    port = port or free_port()
    controller = free_port()
    data.mkdir(parents=True, exist_ok=True)
    logs = data / "kraft-logs"
    props = data / "server.properties"
    props.write_text(
        "\n".join(
            [
                "process.roles=broker,controller",
                "node.id=1",
                f"controller.quorum.voters=1@127.0.0.1:{controller}",
                f"listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller}",
                f"advertised.listeners=PLAINTEXT://127.0.0.1:{port}",
                "controller.listener.names=CONTROLLER",
                "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
                "inter.broker.listener.name=PLAINTEXT",
                f"log.dirs={logs}",
                "offsets.topic.replication.factor=1",
                "transaction.state.log.replication.factor=1",
                "transaction.state.log.min.isr=1",
                "group.initial.rebalance.delay.ms=0",
                "num.partitions=6",
                "auto.create.topics.enable=true",
            ]
        )
        + "\n"
    )
    classpath = f"{libs}/*"
    log4j = f"-Dlog4j2.configurationFile={libs.parent / 'log4j2.properties'}"
    if not (logs / "meta.properties").exists():
        cluster_id = uuid.uuid4().hex[:22]
        subprocess.run(
            [java, log4j, "-cp", classpath, "kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(props)],
            check=True,
            capture_output=True,
        )
    proc = procs.start(
        [java, f"-Xmx{heap}", f"-Xms{heap}", "-XX:+UseG1GC", log4j, "-cp", classpath, "kafka.Kafka", str(props)],
        data / "kafka.log",
    )
    try:
        wait_for_port(port, timeout_s, proc, what=f"Kafka (log: {data / 'kafka.log'})")
    except Exception:
        procs.stop(proc)
        raise
    return KafkaNode(proc, port)
