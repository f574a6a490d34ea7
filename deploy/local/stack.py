"""The whole Serah stack on one machine: Kafka, the store, the three workers
(each its own process and consumer group) and the gateway. Used by
``serah run`` and by the end-to-end tests, so both start it the same way."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from deploy.local import procs
from deploy.local.kafka import KafkaCluster, KafkaNode, start_cluster, start_kafka
from deploy.local.store import Store, start_store
from deploy.local.tools import wait_for_port
from deploy.topics import ensure_topics
from events import labels

WORKERS = ("allocation", "handover", "audit")

# The gateway's rate limits raised far above what the test suite or a benchmark sends
# from its one address: they measure the pipeline, not the limiter (tested on its own).
UNTHROTTLED = {
    f"SERAH_RATE_{policy}_{what}": "100000"
    for policy in ("SCANS", "IMPORTS", "LOGINS", "REQUESTS")
    for what in ("PER_S", "BURST")
}


def ensure_dev_keys(data: Path) -> str:
    """A label signing key for this clone, made once, kept in .serah/ (git-ignored)."""
    path = data / "label-signing-keys"
    if not path.exists():
        path.write_text(labels.format_keyring({"K1": secrets.token_bytes(32)}))
        path.chmod(0o600)
    return path.read_text().strip()


def ensure_dev_audit_key(data: Path) -> str:
    """The checkpoint signing key for this clone, made once like the label key."""
    path = data / "audit-signing-key"
    if not path.exists():
        path.write_text(labels.format_keyring({"A1": secrets.token_bytes(32)}))
        path.chmod(0o600)
    return path.read_text().strip()


def ensure_dev_receipt_code_keys(data: Path) -> str:
    """The key ring receipt codes are hashed with for this clone, made once like the label key."""
    path = data / "receipt-code-keys"
    if not path.exists():
        path.write_text(labels.format_keyring({"R1": secrets.token_bytes(32)}))
        path.chmod(0o600)
    return path.read_text().strip()


def public_keyring(signing: str) -> str:
    ring = labels.parse_keyring(signing)
    return labels.format_keyring({kid: labels.public_key(seed) for kid, seed in ring.items()})


@dataclass
class Stack:
    data: Path
    gateway_port: int = 8000
    partitions: int = 6
    mongo_db: str = "serah"
    signing_keys: str | None = None
    # One KRaft node, or a cluster of this many (topics replicated 3 times, min.insync.replicas=2).
    brokers: int = 1
    kafka: KafkaNode | KafkaCluster | None = None
    store: Store | None = None
    services: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    # More SERAH_* settings for every process of this stack (e.g. UNTHROTTLED).
    settings: dict[str, str] = field(default_factory=dict)
    # FerretDB's backend ("postgresql" or "sqlite"); None: SERAH_STORE_BACKEND or the default.
    store_backend: str | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}"

    def start_infra(self, kafka_port: int | None = None, mongo_port: int | None = None) -> None:
        if self.brokers > 1:
            self.kafka = start_cluster(self.data / "kafka", self.brokers)
        else:
            self.kafka = start_kafka(self.data / "kafka", kafka_port)
        self.store = start_store(self.data / "store", mongo_port, backend_name=self.store_backend)
        ensure_topics(self.kafka.bootstrap, self.partitions, self.replication)

    @property
    def replication(self) -> int:
        return min(3, self.brokers)

    def env(self) -> dict[str, str]:
        assert self.kafka and self.store
        signing = self.signing_keys or ensure_dev_keys(self.data)
        return {
            **os.environ,
            "SERAH_KAFKA_BOOTSTRAP": self.kafka.bootstrap,
            "SERAH_MONGO_URL": self.store.url,
            "SERAH_MONGO_DB": self.mongo_db,
            "SERAH_TOPIC_PARTITIONS": str(self.partitions),
            "SERAH_TOPIC_REPLICATION": str(self.replication),
            "SERAH_LABEL_PUBLIC_KEYS": public_keyring(signing),
            "SERAH_LABEL_SIGNING_KEYS": signing,
            "SERAH_PORT": str(self.gateway_port),
            "SERAH_PUBLIC_BASE_URL": self.url,
            "SERAH_DATA_DIR": str(self.data),  # lets tests and operators find every process of this stack
            "PYTHONUNBUFFERED": "1",
            # checkpoint signing (audit only) and its public half (gateway, verify)
            "SERAH_AUDIT_SIGNING_KEY": ensure_dev_audit_key(self.data),
            "SERAH_AUDIT_PUBLIC_KEYS": public_keyring(ensure_dev_audit_key(self.data)),
            # receipt codes' HMAC key (gateway, handover)
            "SERAH_RECEIPT_CODE_KEYS": ensure_dev_receipt_code_keys(self.data),
            **self.settings,
        }

    def service_env(self, name: str) -> dict[str, str]:
        """``env()`` less the secrets ``name`` has no use for."""
        env = self.env()
        if name != "gateway":
            env.pop("SERAH_LABEL_SIGNING_KEYS")  # workers only verify labels
        if name != "audit":
            env.pop("SERAH_AUDIT_SIGNING_KEY", None)  # only the audit service signs checkpoints
        if name not in ("gateway", "handover"):
            env.pop("SERAH_RECEIPT_CODE_KEYS", None)  # only they make or check receipt codes
        env["SERAH_SERVICE"] = name
        return env

    def start_services(self) -> None:
        for name in WORKERS:
            self.start_service(name)
        self.start_service("gateway")
        log = self.data / "logs" / "gateway.log"
        wait_for_port(self.gateway_port, 60, self.services["gateway"], what=f"gateway (log: {log})")

    def start_service(self, name: str) -> None:
        env = self.service_env(name)
        logs = self.data / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        self.services[name] = procs.start([sys.executable, "-m", f"services.{name}"], logs / f"{name}.log", env)

    def kill(self, name: str) -> None:
        """Simulates a crash: SIGKILL, no chance to commit offsets or flush."""
        proc = self.services.pop(name)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)

    def wait_healthy(self, timeout_s: float = 180) -> dict[str, object]:
        deadline = time.monotonic() + timeout_s
        last: object = None
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                r = httpx.get(f"{self.url}/healthz", timeout=5)
                last = r.json()
                if r.status_code == 200:
                    return r.json()  # type: ignore[no-any-return]
            except httpx.HTTPError as exc:
                last = repr(exc)
            time.sleep(0.5)
        raise TimeoutError(f"the stack did not become healthy within {timeout_s:.0f}s; last /healthz: {last}")

    def check_alive(self) -> None:
        for name, proc in self.services.items():
            if proc.poll() is not None:
                raise RuntimeError(
                    f"{name} exited with code {proc.returncode}; see {self.data / 'logs' / (name + '.log')}"
                )

    def stop(self) -> None:
        for name in ("gateway", *WORKERS):
            if name in self.services:
                procs.stop(self.services[name])
        if self.store:
            self.store.stop()
        if self.kafka:
            self.kafka.stop()
