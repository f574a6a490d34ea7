"""The crash-point hook: inert unless configured, and then exact about where and when it kills."""

from __future__ import annotations

import subprocess
import sys

import pytest

from services.common.faults import EXIT_CODE, POINTS

# Hits after_append for A, B, A, A (one line each); prints what it survived.
SCRIPT = """
from services.common.faults import crash_point
for n, subject in enumerate(["A", "B", "A", "A"], 1):
    crash_point("before_append", subject)
    crash_point("after_append", subject)
    print("passed", n, subject, flush=True)
"""


def run(**env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", SCRIPT], env={"PATH": "", **env}, capture_output=True, text=True, timeout=60, check=False
    )


def test_without_a_crash_point_configured_every_line_runs() -> None:
    done = run()
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:4] == ["passed 1 A", "passed 2 B", "passed 3 A", "passed 4 A"]


def test_a_named_point_kills_the_process_at_its_first_hit_like_a_sigkill() -> None:
    done = run(SERAH_CRASH_AT="after_append")
    assert done.returncode == EXIT_CODE
    assert done.stdout == ""  # died after the first before_append, at the first after_append
    assert "crash point after_append reached (hit 1)" in done.stderr


def test_a_point_with_a_count_kills_at_that_hit() -> None:
    done = run(SERAH_CRASH_AT="after_append:3")
    assert done.returncode == EXIT_CODE
    assert done.stdout.split() == ["passed", "1", "A", "passed", "2", "B"]


def test_a_subject_restricts_the_count_to_hits_about_that_subject() -> None:
    done = run(SERAH_CRASH_AT="after_append:2", SERAH_CRASH_SUBJECT="A")
    assert done.returncode == EXIT_CODE
    assert done.stdout.split("\n")[:2] == ["passed 1 A", "passed 2 B"]  # B's hit does not count
    assert "about A (hit 2)" in done.stderr


def test_a_subject_never_hit_never_kills() -> None:
    done = run(SERAH_CRASH_AT="after_append", SERAH_CRASH_SUBJECT="C")
    assert done.returncode == 0 and done.stdout.count("passed") == 4


@pytest.mark.parametrize("spec", ["after_apend", "after_append:x", "after_append:", "after_append:0"])
def test_a_misspelt_crash_point_stops_the_process_with_a_reason_instead_of_never_firing(spec: str) -> None:
    done = run(SERAH_CRASH_AT=spec)
    assert done.returncode == 2
    assert "is not <point>[:<n>]" in done.stderr and ", ".join(POINTS) in done.stderr
