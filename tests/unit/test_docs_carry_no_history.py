"""The documentation describes the system as it is, organised by topic: it names no
development issue or session, and every link and file reference in it (and every
pointer to a doc from the code or the published schemas) leads somewhere that exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# "issue 4", "Issue 5's", "issue-3.md", "issue_4c", "issue #4", "session 3", "sessions 2": the
# numbered units of work a doc was once written in. Not "re-issue 2" (a label generation).
HISTORY = re.compile(r"(?<![\w-])(?:issues?|sessions?)[ _-]?#?[0-9]", re.IGNORECASE)

# [text](target) in Markdown, targets without a scheme (relative links).
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
# `docs/….md` mentioned anywhere (code comments, docstrings, schema descriptions, prose).
DOC_PATH = re.compile(r"\bdocs/[\w./-]+\.md\b")


def doc_files() -> list[Path]:
    docs = ROOT / "docs"
    return [ROOT / "README.md", *sorted(docs.glob("*.md")), *sorted((docs / "decisions").glob("*.md"))]


def history_mentions(path: Path) -> list[str]:
    """Each line of ``path`` naming an issue or session, as ``file:line: text``."""
    rel = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    return [
        f"{rel}:{n}: {line.strip()}"
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if HISTORY.search(line)
    ]


def slug(heading: str) -> str:
    """GitHub's anchor for a Markdown heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    found: set[str] = set()
    in_code = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            in_code = not in_code
        elif not in_code and (m := re.match(r"#{1,6} (.+)", line)):
            found.add(slug(m.group(1)))
    return found


def broken_links(path: Path) -> list[str]:
    """Each relative link in ``path`` whose file, or whose #anchor in that file, does not exist."""
    problems = []
    rel = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    in_code = False
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.startswith("```"):
            in_code = not in_code
            continue
        if in_code:
            continue
        for target in LINK.findall(line):
            if re.match(r"[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
                continue
            file_part, _, anchor = target.partition("#")
            linked = (path.parent / file_part).resolve() if file_part else path
            if not linked.exists():
                problems.append(f"{rel}:{n}: {target} (no such file)")
            elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
                problems.append(f"{rel}:{n}: {target} (no heading with anchor #{anchor} in {linked.name})")
    return problems


def test_the_docs_and_readme_name_no_development_issue_or_session() -> None:
    found = [hit for path in doc_files() for hit in history_mentions(path)]
    assert not found, (
        "The docs describe what the system is, not how it was built. Rewrite these lines as "
        "current fact (or drop them), and name docs after their topic:\n  " + "\n  ".join(found)
    )


def test_every_relative_link_in_the_docs_leads_to_an_existing_file_and_heading() -> None:
    found = [problem for path in doc_files() for problem in broken_links(path)]
    assert not found, "Links that lead nowhere (a doc moved or a heading was renamed?):\n  " + "\n  ".join(found)


def test_every_doc_named_in_the_code_schemas_or_docs_exists() -> None:
    sources = [
        p
        for top in ("services", "events", "deploy", "schemas", "tests", "docs")
        for p in (ROOT / top).rglob("*")
        if p.suffix in {".py", ".json", ".md"} and p.is_file()
    ] + [ROOT / "README.md"]
    missing = [
        f"{p.relative_to(ROOT)}:{n}: {name}"
        for p in sources
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), start=1)
        for name in DOC_PATH.findall(line)
        if not (ROOT / name).exists() and p != Path(__file__).resolve()
    ]
    assert not missing, "These point at docs that do not exist; point them at the topic doc:\n  " + "\n  ".join(missing)


@pytest.mark.parametrize(
    "line",
    [
        "Branches `issue-4b`, then `issue-4c`.",
        "## Measured in session 4",
        "Issue 5's `serah bench-audit` measures the audit side.",
        "Details: [docs/issue-3.md](docs/issue-3.md).",
        "plans by count (issue_4c)",
        "as asked in issue #11",
        "Sessions 2 and 3 measured this.",
    ],
)
def test_the_history_check_finds_an_issue_or_session_however_it_is_written(tmp_path: Path, line: str) -> None:
    doc = tmp_path / "topic.md"
    doc.write_text(f"# Topic\n\n{line}\n", encoding="utf-8")
    assert history_mentions(doc) == [f"{doc}:3: {line}"]


@pytest.mark.parametrize(
    "line",
    [
        "A re-issue makes generation 2; every re-issue 3 revokes the last.",
        "See the known issues below; 3 of them are open.",
        "Reissue 2 labels at once.",
    ],
)
def test_the_history_check_leaves_ordinary_words_alone(tmp_path: Path, line: str) -> None:
    doc = tmp_path / "topic.md"
    doc.write_text(f"# Topic\n\n{line}\n", encoding="utf-8")
    assert history_mentions(doc) == []


def test_the_link_check_finds_a_missing_file_and_a_missing_heading(tmp_path: Path) -> None:
    (tmp_path / "other.md").write_text("# Other\n\n## Known limits\n", encoding="utf-8")
    doc = tmp_path / "topic.md"
    doc.write_text(
        "# Topic\n\n[a](other.md#known-limits) [b](gone.md) [c](other.md#no-such) [d](https://x.example/y)\n"
        "```\n[e](also-gone.md)\n```\n",
        encoding="utf-8",
    )
    assert broken_links(doc) == [
        f"{doc}:3: gone.md (no such file)",
        f"{doc}:3: other.md#no-such (no heading with anchor #no-such in other.md)",
    ]


def test_the_code_and_deploy_files_name_no_development_issue_or_session() -> None:
    code = [
        p
        for top in ("services", "events", "deploy")
        for p in (ROOT / top).rglob("*")
        if p.is_file() and (p.suffix in {".py", ".go", ".template", ".properties", ".yml"} or p.name == "Dockerfile")
    ] + [ROOT / "docker-compose.yml", ROOT / "Makefile"]
    found = [hit for p in code for hit in history_mentions(p)]
    assert not found, "Name things for what they are, not the issue that built them:\n  " + "\n  ".join(found)
