"""Crash points: named lines at which a process can be made to die on purpose.

Why this exists in production code: the reliability claims (the store append is
the commit point, a redelivered command replays what it stored, offsets are
committed only after the handler returned) are claims about a process dying
*between two particular lines*. A SIGKILL from outside lands wherever the
scheduler happens to be, so it cannot aim at "after the append, before the
publish". Each such line calls ``crash_point(name, subject)``; the suite's
crash tests (``tests/e2e/test_crash_points.py``) start a worker or gateway with
``SERAH_CRASH_AT`` naming one point and prove that the restarted process leaves
every reader with exactly one copy of each fact.

Inert unless configured: with ``SERAH_CRASH_AT`` unset (as in every deployment)
a call is one dictionary look-up. Settings, read from the environment on first use:

- ``SERAH_CRASH_AT=<point>`` dies at the first hit of ``<point>``;
  ``<point>:<n>`` at the n-th hit.
- ``SERAH_CRASH_SUBJECT=<id>`` counts only hits about that subject (asset or
  consignment id), so unrelated traffic cannot trigger it.

The process ends with ``os._exit(137)``: no ``finally`` blocks, no producer
flush, no offset commit — what a SIGKILL or a power cut leaves behind. A line on
stderr names the point first, so a test (or an operator) can tell a planned crash
from a real one.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass

EXIT_CODE = 137  # what a shell reports for a process killed by SIGKILL (128 + 9)

# The points, in the order a command lives through them.
BEFORE_APPEND = "before_append"  # decided, nothing stored yet
AFTER_APPEND = "after_append"  # stored (the commit point), not yet published
AFTER_PUBLISH = "after_publish"  # published and acknowledged by Kafka
BEFORE_COMMIT = "before_commit"  # the handler returned; the consumer offset is not yet committed
AFTER_VIEW = "after_view"  # audit: log entry and view written, the scan index not yet
AFTER_SEND = "after_send"  # gateway: the command is in Kafka, the client has no answer yet
POINTS = (BEFORE_APPEND, AFTER_APPEND, AFTER_PUBLISH, BEFORE_COMMIT, AFTER_VIEW, AFTER_SEND)


@dataclass
class _Armed:
    point: str
    nth: int
    subject: str | None
    hits: int = 0


_read = False
_armed: _Armed | None = None


def _read_environment() -> _Armed | None:
    spec = os.environ.get("SERAH_CRASH_AT", "").strip()
    if not spec:
        return None
    point, sep, nth = spec.partition(":")
    if point not in POINTS or (sep and not (nth.isdigit() and int(nth) >= 1)):
        # Raising here would surface inside a handler and be dead-lettered as its failure.
        sys.stderr.write(f"serah: SERAH_CRASH_AT={spec!r} is not <point>[:<n>] with a point of {', '.join(POINTS)}\n")
        sys.stderr.flush()
        os._exit(2)
    return _Armed(point, int(nth or 1), os.environ.get("SERAH_CRASH_SUBJECT") or None)


def crash_point(name: str, subjects: str | Iterable[str] = ()) -> None:
    """Dies here if ``SERAH_CRASH_AT`` names this point (and this hit, and one of
    these subjects when ``SERAH_CRASH_SUBJECT`` is set); otherwise does nothing."""
    global _armed, _read
    if not _read:
        _armed, _read = _read_environment(), True
    armed = _armed
    if armed is None or armed.point != name:
        return
    if armed.subject is not None:
        about = {subjects} if isinstance(subjects, str) else set(subjects)
        if armed.subject not in about:
            return
    armed.hits += 1
    if armed.hits == armed.nth:
        where = f" about {armed.subject}" if armed.subject else ""
        sys.stderr.write(f"serah: crash point {name} reached{where} (hit {armed.hits}); exiting with {EXIT_CODE}\n")
        sys.stderr.flush()
        os._exit(EXIT_CODE)
