"""Every message that crosses Kafka during a test session, checked against its
JSON Schema in ``schemas/`` (chosen by its ``type``): a consumer over all of
Serah's topics runs beside the tests and the session fails at its end if any
message was invalid, of an unknown type, or dead-lettered by a worker.

Tests that put garbage on a topic on purpose tag it: the Kafka key (or, for a
well-formed envelope, its id) starts with ``INJECTED``. Such a message is not
judged, and neither are the dead letters the workers write about it (their
subject is that key); everything else is."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
from kafka import KafkaConsumer, TopicPartition

from events import topics

INJECTED = "INJECTED"  # the prefix of keys and ids that tests put on topics as garbage on purpose
SCHEMAS = Path(__file__).resolve().parents[1] / "schemas"
DEAD_LETTERED = "id.serah.message.dead-lettered.v1"


def validators() -> dict[str, Any]:
    out = {}
    for path in SCHEMAS.glob("*.json"):
        schema = json.loads(path.read_text())
        cls = jsonschema.validators.validator_for(schema)
        cls.check_schema(schema)
        out[path.stem] = cls(schema, format_checker=cls.FORMAT_CHECKER)
    return out


def injected(key: bytes | None, doc: Any) -> bool:
    if (key or b"").startswith(INJECTED.encode()):
        return True
    return isinstance(doc, dict) and str(doc.get("id", "")).startswith(INJECTED)


def judge(known: dict[str, Any], topic: str, key: bytes | None, value: bytes | None) -> str | None:
    """None if the message is valid (or injected on purpose); else why not."""
    try:
        doc = json.loads(value or b"")
    except ValueError:
        return None if injected(key, None) else "not JSON"
    if injected(key, doc):
        return None
    if not isinstance(doc, dict) or not isinstance(doc.get("type"), str):
        return "not an envelope with a type"
    validator = known.get(doc["type"])
    if validator is None:
        return f"type {doc['type']!r} has no schema"
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
    if errors:
        return f"{doc['type']}: " + "; ".join(
            f"{'/'.join(map(str, e.path)) or '(root)'}: {e.message}" for e in errors[:3]
        )
    if doc["type"] == DEAD_LETTERED and not str(doc.get("subject", "")).startswith(INJECTED):
        data = doc.get("data", {})
        return f"dead-lettered by {data.get('service')}: {data.get('reason')} ({str(data.get('detail'))[:200]})"
    return None


@dataclass
class Finding:
    topic: str
    partition: int
    offset: int
    why: str

    def __str__(self) -> str:
        return f"{self.topic}[{self.partition}]@{self.offset}: {self.why}"


@dataclass
class WireWatch:
    """Reads every partition of every Serah topic from the beginning, in a thread."""

    bootstrap: str
    names: tuple[str, ...] = tuple(spec.name for spec in topics.TOPICS)
    findings: list[Finding] = field(default_factory=list)
    seen: Counter[str] = field(default_factory=Counter)
    _stop: threading.Event = field(default_factory=threading.Event)
    _read_to: dict[TopicPartition, int] = field(default_factory=dict)
    _thread: threading.Thread | None = None
    _error: BaseException | None = None

    def start(self) -> WireWatch:
        self._known = validators()
        self._consumer = KafkaConsumer(
            bootstrap_servers=self.bootstrap, group_id=None, enable_auto_commit=False, client_id="serah-test-wire"
        )
        parts = [TopicPartition(t, p) for t in self.names for p in sorted(self._consumer.partitions_for_topic(t) or ())]
        assert parts, "no topics to watch"
        self._consumer.assign(parts)
        self._consumer.seek_to_beginning(*parts)
        self._parts = parts
        self._thread = threading.Thread(target=self._run, name="wire-watch", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                self._poll()
        except BaseException as exc:  # noqa: BLE001 - reported by verdict(), never lost in the thread
            self._error = exc

    def _poll(self) -> None:
        for tp, records in self._consumer.poll(timeout_ms=500, max_records=2000).items():
            for r in records:
                self.seen[r.topic] += 1
                if (why := judge(self._known, r.topic, r.key, r.value)) is not None:
                    self.findings.append(Finding(r.topic, r.partition, r.offset, why))
            self._read_to[tp] = records[-1].offset + 1

    def drain(self, timeout_s: float = 120) -> None:
        """Stops the thread once it has read up to the log ends as they are now."""
        # The watching consumer belongs to its thread; ends are read with a consumer of our own.
        probe = KafkaConsumer(bootstrap_servers=self.bootstrap, group_id=None, client_id="serah-test-wire-ends")
        try:
            ends = probe.end_offsets(self._parts)
        finally:
            probe.close()
        deadline = time.monotonic() + timeout_s
        while self._error is None and any(self._read_to.get(tp, 0) < end for tp, end in ends.items()):
            if time.monotonic() > deadline:
                behind = {f"{tp.topic}[{tp.partition}]": end - self._read_to.get(tp, 0) for tp, end in ends.items()}
                raise AssertionError(f"the wire check did not read to the log ends within {timeout_s}s: {behind}")
            time.sleep(0.2)
        self._stop.set()
        assert self._thread is not None
        self._thread.join(30)
        self._consumer.close()

    def verdict(self) -> None:
        """Raises if any message crossing Kafka was invalid (or the watch itself failed)."""
        if self._error is not None:
            raise AssertionError(f"the wire check stopped: {self._error!r}") from self._error
        if self.findings:
            listed = "\n  ".join(str(f) for f in self.findings[:50])
            raise AssertionError(
                f"{len(self.findings)} message(s) on Kafka do not match their JSON Schema "
                f"(of {sum(self.seen.values())} read):\n  {listed}"
            )
