"""What clients read — the JSON Schemas of the events and the OpenAPI document —
describes the system as it is, not how it was built: no issue numbers, branch
names or notes about later work."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.cli.main import openapi_document

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
HISTORY = re.compile(
    r"\bissues?[-_ ]?#?\d+[a-z]?\b"  # issue 4c, Issue 3, issue-5, issues 3
    r"|(?<![\w&/])#\d+\b"  # #12
    r"|\b(?:fix|feature|feat|bugfix|hotfix|wip)[-/][a-z0-9][a-z0-9-]*\b"  # branch names
    r"|\b(?:later|next|future) (?:issue|iteration|sprint|PR)\b"
    r"|\b(?:TODO|FIXME|XXX)\b",
    re.IGNORECASE,
)


def strings(node: Any, where: str = "") -> Iterator[tuple[str, str]]:
    """Every key and string value of a JSON document, with where it is."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield f"{where}/{key} (key)", str(key)
            yield from strings(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from strings(value, f"{where}/{i}")
    elif isinstance(node, str):
        yield where, node


def history_in(document: Any) -> list[str]:
    return [f"{where}: {text!r}" for where, text in strings(document) if HISTORY.search(text)]


@pytest.mark.parametrize("path", sorted(SCHEMAS.rglob("*.json")), ids=lambda p: p.name)
def test_a_published_schema_carries_no_development_history(path: Path) -> None:
    assert history_in(json.loads(path.read_text())) == []


def test_the_openapi_document_the_gateway_serves_carries_no_development_history() -> None:
    assert history_in(openapi_document()) == []


@pytest.mark.parametrize(
    "text",
    [
        "Issue 4c.",
        "Set by bulk imports (issue 3).",
        "see the issue-5 notes",
        "merged from fix-api",
        "until #12 lands",
        "done in a later issue",
        "TODO: count",
    ],
)
def test_the_check_finds_each_kind_of_history(text: str) -> None:
    assert history_in({"description": text})


@given(
    st.sampled_from(
        [
            "Issues the BAST",
            "the receipt code is reissued",
            "issue a new label",
            "a fixed window",
            "Scan into a consignment",
            "page 2 of 3",
            "2 for the first re-issue (the planned code was 1)",
        ]
    )
)
def test_ordinary_words_are_not_mistaken_for_history(text: str) -> None:
    assert history_in({"description": text}) == []
