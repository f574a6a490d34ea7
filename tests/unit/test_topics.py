"""Which topics each worker reads is said once (events.topics.CONSUMED_BY): the
workers subscribe to exactly those, and nothing else names a topic."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from events import labels, topics
from services.allocation.config import AllocationSettings
from services.allocation.stream import build_app as allocation_app
from services.audit.config import AuditSettings
from services.audit.stream import build_app as audit_app
from services.handover.config import HandoverSettings
from services.handover.stream import build_app as handover_app
from tests.builders import RECEIPT_CODE_KEYS

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("worker", "build"),
    [
        ("allocation", lambda: allocation_app(AllocationSettings())),
        (
            "handover",
            lambda: handover_app(
                HandoverSettings(receipt_code_keys=SecretStr(labels.format_keyring(RECEIPT_CODE_KEYS)))
            ),
        ),
        ("audit", lambda: audit_app(AuditSettings())),
    ],
)
def test_each_worker_reads_exactly_the_topics_the_map_gives_it(
    worker: str, build: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SERAH_DATA_DIR", str(tmp_path))
    app = build()  # type: ignore[operator]
    assert app.conf.id == topics.consumer_group(worker)
    read = {t for agent in app.agents.values() for t in agent.channel.topics}
    assert read == set(topics.CONSUMED_BY[worker])


def test_a_worker_cannot_subscribe_to_a_topic_it_is_not_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from services.common import worker

    monkeypatch.setenv("SERAH_DATA_DIR", str(tmp_path))
    app = worker.new_app("allocation", AllocationSettings())
    with pytest.raises(ValueError, match="CONSUMED_BY"):
        worker.agent_over(app, "allocation", topics.HANDOVER_COMMANDS, lambda env: None, None)  # type: ignore[arg-type,return-value]


def test_topic_names_are_spelled_only_in_events_topics() -> None:
    names = [spec.name for spec in topics.TOPICS]
    spelled = [
        f"{path.relative_to(ROOT)}: {name}"
        for folder in ("events", "services", "deploy", "tests")
        for path in (ROOT / folder).rglob("*.py")
        if path != ROOT / "events" / "topics.py"
        for name in names
        if f'"{name}"' in path.read_text() or f"'{name}'" in path.read_text()
    ]
    assert spelled == []
