"""Who may import whom, read from the code itself: the contract stands alone, a
service talks to another only through the contract and the views, and the
offline verifier an auditor runs needs nothing but the contract."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WORKERS = ("allocation", "handover", "audit")


def imports(path: Path) -> Iterator[str]:
    """Every module ``path`` imports, at any depth (lazy imports inside functions too)."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


def modules(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def project(name: str) -> str | None:
    """The project part a module belongs to (``services.audit``, ``events``, …), None outside it."""
    parts = name.split(".")
    if parts[0] in ("events", "deploy"):
        return parts[0]
    if parts[0] == "services" and len(parts) > 1:
        return f"services.{parts[1]}"
    return None


def test_the_rules_read_real_code() -> None:
    assert len(modules("services/gateway")) > 20
    assert "events.catalog" in set(imports(ROOT / "services/gateway/decisions.py"))


@pytest.mark.parametrize("path", modules("events"), ids=lambda p: p.name)
def test_the_contract_imports_nothing_of_the_project_but_itself(path: Path) -> None:
    assert {project(m) for m in imports(path)} <= {None, "events"}, path


@pytest.mark.parametrize("path", modules("services/gateway"), ids=lambda p: str(p.relative_to(ROOT)))
def test_the_gateway_talks_to_the_workers_only_through_the_contract_and_the_views(path: Path) -> None:
    # Nor does it borrow the command line's code: what both need (a file format) lives in services.common.
    assert not {project(m) for m in imports(path)} & ({f"services.{w}" for w in WORKERS} | {"services.cli"}), path


@pytest.mark.parametrize("worker", WORKERS)
def test_a_worker_imports_no_other_worker_and_no_edge(worker: str) -> None:
    others = {f"services.{w}" for w in WORKERS if w != worker} | {"services.gateway", "services.cli"}
    for path in modules(f"services/{worker}"):
        assert not {project(m) for m in imports(path)} & others, path


def test_the_offline_verifier_rests_on_the_published_contract_alone() -> None:
    parts = {project(m) for m in imports(ROOT / "services/cli/verify.py")}
    assert parts <= {None, "events"}, parts


@pytest.mark.parametrize("folder", ["events", "services", "deploy"])
def test_fakes_live_with_the_tests_not_in_production_code(folder: str) -> None:
    fakes = [
        f"{path.relative_to(ROOT)}:{node.name}"
        for path in modules(folder)
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, (ast.ClassDef, ast.FunctionDef))
        and node.name.lower().startswith(("fake", "bootstrap_fake"))
    ]
    assert fakes == []
