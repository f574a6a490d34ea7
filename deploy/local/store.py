"""The MongoDB-wire store: ``MONGO_URL`` if set; else a ``mongod`` on PATH;
else FerretDB v1.24.2 (SQLite backend), built once from its Go module into the
user cache. FerretDB is wrapped by deploy/ferretdb/main.go (see its comment)."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from deploy.local import procs
from deploy.local.tools import cache_dir, free_port, repo_root, require, wait_for_port

FERRETDB_VERSION = "v1.24.2"


def ensure_ferretdb() -> Path:
    src = repo_root() / "deploy" / "ferretdb"
    digest = hashlib.sha256(b"".join((src / f).read_bytes() for f in ("main.go", "go.mod", "go.sum"))).hexdigest()
    binary = cache_dir(f"ferretdb-{FERRETDB_VERSION}-{digest[:12]}") / "serah-ferretdb"
    if binary.exists():
        return binary
    go = require("go", "Install Go 1.22 or newer (to build FerretDB), put a mongod on PATH, or set MONGO_URL.")
    print(f"serah: building FerretDB {FERRETDB_VERSION} from its Go module (once)…", flush=True)
    env = {**os.environ, "CGO_ENABLED": "0", "GOFLAGS": "-mod=mod"}
    tmp = binary.with_suffix(".tmp")
    result = subprocess.run([go, "build", "-o", str(tmp), "."], cwd=src, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"could not build FerretDB {FERRETDB_VERSION}:\n{result.stderr[-3000:]}")
    tmp.rename(binary)
    return binary


@dataclass
class Store:
    url: str
    kind: str  # "external", "mongod" or "ferretdb"
    proc: subprocess.Popen[bytes] | None = None

    def stop(self) -> None:
        if self.proc is not None:
            procs.stop(self.proc)


def start_store(data: Path, port: int | None = None, timeout_s: float = 60, prefer_external: bool = True) -> Store:
    if prefer_external and os.environ.get("MONGO_URL"):
        return Store(os.environ["MONGO_URL"], "external")
    port = port or free_port()
    data.mkdir(parents=True, exist_ok=True)
    mongod = shutil.which("mongod")
    if mongod:
        db = data / "mongod"
        db.mkdir(exist_ok=True)
        proc = procs.start([mongod, "--bind_ip", "127.0.0.1", "--port", str(port), "--dbpath", str(db)], data / "mongod.log")
        kind = "mongod"
    else:
        binary = ensure_ferretdb()
        proc = procs.start(
            [str(binary), "-listen", f"127.0.0.1:{port}", "-sqlite-dir", str(data / "ferretdb")], data / "ferretdb.log"
        )
        kind = "ferretdb"
    try:
        wait_for_port(port, timeout_s, proc, what=kind)
    except Exception:
        procs.stop(proc)
        raise
    return Store(f"mongodb://127.0.0.1:{port}/", kind, proc)
