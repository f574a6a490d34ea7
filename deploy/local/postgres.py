"""A PostgreSQL server on loopback for FerretDB's PostgreSQL backend: Debian's
``postgresql-15`` binaries (scripts/setup installs them), a cluster made once
per data folder, TCP on 127.0.0.1 only, no Unix socket, trusted local login.

PostgreSQL refuses to run as root. Run as root (a CI machine, a container) it
runs as the ``postgres`` account the Debian package creates: the cluster's
folder is handed to that account, and the folders above it inside the clone's
run-time folder are made traversable (x for others, not readable) so it can
reach it. A cluster that account could still not reach (a clone inside a
private home folder) is kept under the system's temporary folder instead."""

from __future__ import annotations

import glob
import hashlib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from deploy.local import procs
from deploy.local.tools import MissingTool, free_port, repo_root, wait_for_port

ACCOUNT = "postgres"  # the server's account when we are root (made by Debian's package)
ADVICE = "Install PostgreSQL 15 (apt-get install postgresql-15), or set SERAH_STORE_BACKEND=sqlite."

# A development and test store on a small machine: a few connections per worker
# and test process, FerretDB's pool of 50 besides. Durability as PostgreSQL's defaults.
_SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "unix_socket_directories": "",
    "max_connections": "200",
    "shared_buffers": "256MB",
    "logging_collector": "off",
}


def bindir() -> Path:
    """The folder of ``postgres`` and ``initdb``: on PATH, else Debian's versioned folder."""
    for name in ("postgres", "initdb"):
        found = shutil.which(name)
        if found and (Path(found).resolve().parent / "initdb").exists():
            return Path(found).resolve().parent
    debian = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"), key=lambda p: int(Path(p).parts[-3]))
    if debian:
        return Path(debian[-1]).parent
    raise MissingTool(f"PostgreSQL's server binaries are not installed. {ADVICE}")


def _server_user() -> pwd.struct_passwd | None:
    """The account the server runs as when we are root; None: as ourselves."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(ACCOUNT)
    except KeyError:
        raise MissingTool(f"running as root needs the '{ACCOUNT}' account to run PostgreSQL. {ADVICE}") from None


def _reachable(path: Path, user: pwd.struct_passwd | None) -> Path:
    """``path`` if ``user`` can reach it, after opening the clone's own run-time
    folders to traversal; else a folder of its own under the temporary folder."""
    if user is None:
        return path
    runtime = repo_root() / ".serah"
    blocked = []
    for parent in path.parents:
        st = parent.stat()
        if st.st_mode & 0o001 or st.st_uid == user.pw_uid:
            continue
        if parent == runtime or runtime in parent.parents:
            parent.chmod(st.st_mode | 0o001)
        else:
            blocked.append(parent)
    if not blocked:
        return path
    tag = hashlib.sha256(str(path).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"serah-postgres-{tag}"


def _wait_ready(bins: Path, port: int, timeout_s: float, proc: subprocess.Popen[bytes], log: Path) -> None:
    """Listening is not yet answering: a cluster recovering after a crash refuses logins a while."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"PostgreSQL exited with code {proc.returncode}; see {log}")
        ready = subprocess.run(
            [str(bins / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(port), "-U", ACCOUNT],
            stdin=subprocess.DEVNULL,
        )
        if ready.returncode == 0:
            return
        time.sleep(0.2)
    raise TimeoutError(f"PostgreSQL did not accept connections within {timeout_s:.0f}s; see {log}")


@dataclass
class Postgres:
    url: str
    proc: subprocess.Popen[bytes]
    cluster: Path
    port: int
    log: Path

    def stop(self) -> None:
        # SIGINT is PostgreSQL's fast shutdown: it does not wait for clients to leave.
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                procs.stop(self.proc, grace_s=0)

    def start_again(self, timeout_s: float = 120) -> None:
        """The server started again on the same cluster and port, after it stopped or was
        killed (as a service manager would); a killed one first replays its WAL."""
        if self.proc.poll() is None:
            raise RuntimeError("PostgreSQL is still running")
        self.proc = _serve(self.cluster, self.port, self.log, timeout_s)


def cluster_folder(data: Path) -> Path:
    """The folder the cluster of ``start_postgres(data)`` lives in."""
    return _reachable(data / "cluster", _server_user())


def start_postgres(data: Path, port: int | None = None, timeout_s: float = 60) -> Postgres:
    """Starts (making it first if new) the cluster in ``data``; returns its URL for FerretDB."""
    bins = bindir()
    user = _server_user()
    data.mkdir(parents=True, exist_ok=True)
    cluster = cluster_folder(data)
    uid = None if user is None else user.pw_uid
    gid = None if user is None else user.pw_gid
    if not (cluster / "PG_VERSION").exists():
        cluster.mkdir(parents=True, exist_ok=True)
        if uid is not None and gid is not None:
            os.chown(cluster, uid, gid)
        cluster.chmod(0o700)
        result = subprocess.run(
            [str(bins / "initdb"), "-D", str(cluster), "-U", ACCOUNT, "--auth=trust", "--no-sync", "-E", "UTF8"]
            + ["--locale=C.UTF-8"],
            capture_output=True,
            text=True,
            cwd="/",
            stdin=subprocess.DEVNULL,
            user=uid,
            group=gid,
        )
        if result.returncode != 0:
            raise RuntimeError(f"initdb failed in {cluster}:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
    port = port or free_port()
    log = data / "postgres.log"
    proc = _serve(cluster, port, log, timeout_s)
    return Postgres(f"postgres://{ACCOUNT}@127.0.0.1:{port}/postgres", proc, cluster, port, log)


def _serve(cluster: Path, port: int, log: Path, timeout_s: float) -> subprocess.Popen[bytes]:
    """The server of ``cluster`` on ``port``, once it accepts logins."""
    bins = bindir()
    user = _server_user()
    uid = None if user is None else user.pw_uid
    gid = None if user is None else user.pw_gid
    settings = [arg for k, v in {**_SETTINGS, "port": str(port)}.items() for arg in ("-c", f"{k}={v}")]
    log.touch()
    proc = procs.start([str(bins / "postgres"), "-D", str(cluster), *settings], log, cwd=Path("/"), user=uid, group=gid)
    try:
        wait_for_port(port, timeout_s, proc, what=f"PostgreSQL (log: {log})")
        _wait_ready(bins, port, timeout_s, proc, log)
    except Exception:
        procs.stop(proc)
        raise
    return proc
