"""Child processes that never outlive their parent.

Each child gets PR_SET_PDEATHSIG=SIGKILL (Linux), so even a ``kill -9`` of the
launcher or the test runner leaves no Kafka, FerretDB or worker behind (SIGKILL,
not SIGTERM: a faust worker whose broker is already gone can hang in its
graceful shutdown; every part is crash-safe). ``stop`` is the orderly path:
SIGTERM, then SIGKILL after a grace period."""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import IO

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    os.setpgrp()  # own process group: a Ctrl-C in the terminal reaches the launcher, which stops us in order


def start(
    args: list[str],
    log_path: Path,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    user: int | None = None,
    group: int | None = None,
) -> subprocess.Popen[bytes]:
    """``args`` in its own process group, output to ``log_path``; with ``user``/``group``
    it runs as that account (Python drops them before ``_die_with_parent``: a change
    of user afterwards would clear the parent-death signal)."""
    log: IO[bytes] = open(log_path, "ab")  # noqa: SIM115 - lives as long as the child
    return subprocess.Popen(
        args,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=env,
        cwd=cwd,
        user=user,
        group=group,
        preexec_fn=_die_with_parent,  # noqa: PLW1509 - needed for PDEATHSIG
    )


def stop(proc: subprocess.Popen[bytes], grace_s: float = 15.0) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(grace_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)
