"""`serah run` (what `make run` runs): ready with a healthy /healthz, and SIGINT
leaves no process behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from deploy.local.tools import free_port
from tests.conftest import eventually


def processes_mentioning(marker: str) -> list[int]:
    """PIDs whose command line or environment mentions ``marker``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            blob = (entry / "cmdline").read_bytes() + (entry / "environ").read_bytes()
        except OSError:
            continue
        if marker.encode() in blob:
            found.append(int(entry.name))
    return found


def test_serah_run_becomes_healthy_and_sigint_stops_everything(tmp_path: Path) -> None:
    port = free_port()
    data = tmp_path / "run-data"
    serah = Path(sys.executable).with_name("serah")
    proc = subprocess.Popen(
        [str(serah), "run", "--port", str(port), "--data", str(data)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            line = proc.stdout.readline()  # type: ignore[union-attr]
            if not line:
                break
            output.append(line)
            if "ready at" in line:
                break
        assert any(f"ready at http://127.0.0.1:{port}" in line for line in output), "".join(output)
        # With no account yet, it says how to make the first administrator (no default credentials).
        hint = [proc.stdout.readline() for _ in range(2)]  # type: ignore[union-attr]
        assert "no account yet" in hint[0] and "serah admin create" in hint[1], hint
        health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10)
        assert health.status_code == 200 and health.json()["status"] == "ok"
        assert len(processes_mentioning(str(data))) >= 5  # kafka, store, three workers, gateway
    finally:
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, "".join(output) + rest
    assert "stopped." in rest
    repo = Path(__file__).resolve().parents[2]
    assert not list(repo.glob("serah-*-data")), "a worker wrote into the working tree"
    eventually(lambda: processes_mentioning(str(data)) == [], what="no process left", timeout_s=10)
    try:
        httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
        raise AssertionError("the gateway still answers after SIGINT")
    except httpx.ConnectError:
        pass
