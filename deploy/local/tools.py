"""Paths, free ports, and clear errors for missing toolchains."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path


class MissingTool(RuntimeError):
    """A toolchain Serah needs is not installed; the message says what to install."""


def cache_dir(*parts: str) -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    path = base.joinpath("serah", *parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def repo_root() -> Path:
    return Path(__file__).resolve().parents[2]


def data_dir(*parts: str) -> Path:
    path = repo_root().joinpath(".serah", *parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def require(tool: str, advice: str) -> str:
    found = shutil.which(tool)
    if not found:
        raise MissingTool(f"'{tool}' is not installed. {advice}")
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(
    port: int, timeout_s: float, proc: subprocess.Popen[bytes] | None = None, what: str = "server"
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited with code {proc.returncode} before listening on {port}")
        with socket.socket() as s:
            s.settimeout(0.5)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError(f"{what} did not listen on 127.0.0.1:{port} within {timeout_s:.0f}s")
