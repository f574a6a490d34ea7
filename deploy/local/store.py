"""The MongoDB-wire store: ``MONGO_URL`` if set; else a ``mongod`` on PATH;
else FerretDB v1.24.2 (SQLite backend), built once from its Go module into the
user cache. FerretDB is wrapped by deploy/ferretdb/main.go (see its comment)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from deploy.local import procs
from deploy.local.tools import cache_dir, free_port, repo_root, require, wait_for_port

FERRETDB_VERSION = "v1.24.2"


# Four small fixes to FerretDB v1.24.2's SQLite backend, applied to its source
# before building (nothing else differs; README, "The store"):
#
# 1. It creates its unique _id index on  _ferretdb_sjson->"_id"  but looks
#    documents up by  _ferretdb_sjson->'$._id' : equal in value, not in text, so
#    SQLite never uses the index and every find/update/delete by _id scans the
#    whole table. We make the lookup use the index's own expression.
# 2. It narrows a query to one row by _id only when the filter has no other
#    key, so a version-guarded update {_id, version} scans the table too. The
#    handler re-applies the complete filter to whatever the backend returns, so
#    narrowing by _id whenever the filter names one is safe.
#
# Measured at 5,000 documents: find by _id 119/s -> 1,860/s; update by _id
# 35/s -> 852/s; update by {_id, version} 37/s -> 810/s.
#
# 3. It caps each database's SQLite connection pool at 100, but an update holds
#    TWO connections: its query's rows stay open (one connection) while the
#    write transaction asks for another (msg_update.go -> common.UpdateDocument
#    -> UpdateAll -> BeginTx). With 100 updates in flight at once (our batched
#    workers send up to 200 guarded update_one's each), every connection is
#    held by an open query whose owner waits for a second one: database/sql
#    waits forever and FerretDB stops answering anything on that database
#    (goroutine dump: 100 in UpdateAll/BeginTx/DB.conn, 100 open Rows, the
#    rest in QueryContext/DB.conn). A bulk_write of 100+ updates does it alone,
#    since each statement's rows stay open until the whole command ends.
#    Uncapped, the pool never waits; it is still bounded by the clients'
#    connection pools (pymongo: 100 per process), and idle connections above
#    100 are closed as before. tests/integration/test_store_concurrency.py.
# 4. A filter {_id: {$in: [strings]}} is answered by scanning the table; it now
#    reads those rows by the _id index (WHERE ... IN (...)), so a worker reads a
#    batch's 200 documents in one round trip (a scan of ~20,000 documents took
#    2-3 s; 200 concurrent reads by _id cost the worker's CPU more than the rest of
#    its batch). The handler re-applies the complete filter as for fix 2.
# 5. Write transactions on one database take turns in FerretDB (a mutex around
#    fsql.DB.InTransaction) instead of racing for SQLite's write lock, whose busy
#    handler sleeps 1-100 ms between tries: with three workers writing at once a
#    single-document update took ~50 ms and a batch of 12 took 150-400 ms, the
#    cores mostly idle. WAL readers never wait on it; each insert/update command
#    is one such transaction, so nothing holds the mutex while it waits for another.
_QUERY_BY_ID = """\
		case string, types.ObjectID:
			whereClause = fmt.Sprintf(` WHERE %s = ?`, metadata.IDColumn)
			args = []any{string(must.NotFail(sjson.MarshalSingleValue(v)))}
"""
_IDS_IN = """
// idsIn returns the SQL arguments of {$in: [strings]} (the _id column's JSON text), or nil.
func idsIn(d *types.Document) []any {
	in, err := d.Get("$in")
	arr, ok := in.(*types.Array)
	if err != nil || !ok || d.Len() != 1 || arr.Len() == 0 || arr.Len() > 10000 {
		return nil
	}
	args := make([]any, arr.Len())
	for i := range args {
		s, ok := must.NotFail(arr.Get(i)).(string)
		if !ok {
			return nil
		}
		args[i] = string(must.NotFail(sjson.MarshalSingleValue(s)))
	}
	return args
}
"""
_PATCHES = (
    (
        "internal/backends/sqlite/metadata/metadata.go",
        "IDColumn = DefaultColumn + \"->'$._id'\"",
        'IDColumn = DefaultColumn + `->"_id"`',
    ),
    ("internal/backends/sqlite/collection.go", "if params.Filter.Len() == 1 {", 'if params.Filter.Has("_id") {'),
    ("internal/backends/sqlite/metadata/pool/opendb.go", "db.SetMaxOpenConns(100)", "db.SetMaxOpenConns(0)"),
    (
        "internal/backends/sqlite/collection.go",
        _QUERY_BY_ID,
        _QUERY_BY_ID
        + """\
		case *types.Document:
			if in := idsIn(v.(*types.Document)); in != nil {
				whereClause = fmt.Sprintf(` WHERE %s IN (?%s)`, metadata.IDColumn, strings.Repeat(", ?", len(in)-1))
				args = in
			}
""",
    ),
    ("internal/backends/sqlite/collection.go", "\n// InsertAll implements", _IDS_IN + "\n// InsertAll implements"),
    ("internal/util/fsql/db.go", '\t"log/slog"\n\t"time"\n', '\t"log/slog"\n\t"sync"\n\t"time"\n'),
    ("internal/util/fsql/db.go", "\tsqlDB     *sql.DB\n", "\tsqlDB     *sql.DB\n\twriteMu   sync.Mutex\n"),
    (
        "internal/util/fsql/db.go",
        "\tvar sqlTx *sql.Tx\n\n\tif sqlTx, err = db.sqlDB.BeginTx(ctx, nil)",
        "\tdb.writeMu.Lock()\n\tdefer db.writeMu.Unlock()\n\n\tvar sqlTx *sql.Tx\n\n"
        + "\tif sqlTx, err = db.sqlDB.BeginTx(ctx, nil)",
    ),
)


def ensure_ferretdb() -> Path:
    src = repo_root() / "deploy" / "ferretdb"
    parts = [(src / f).read_bytes() for f in ("main.go", "go.mod", "go.sum")] + [repr(_PATCHES).encode()]
    digest = hashlib.sha256(b"".join(parts)).hexdigest()
    home = cache_dir(f"ferretdb-{FERRETDB_VERSION}-{digest[:12]}")
    binary = home / "serah-ferretdb"
    if binary.exists():
        return binary
    go = require("go", "Install Go 1.22 or newer (to build FerretDB), put a mongod on PATH, or set MONGO_URL.")
    print(f"serah: building FerretDB {FERRETDB_VERSION} from its Go module (once)…", flush=True)
    env = {**os.environ, "CGO_ENABLED": "0", "GOFLAGS": "-mod=mod"}

    def go_run(*args: str, cwd: Path) -> str:
        result = subprocess.run([go, *args], cwd=cwd, env=env, capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(
                f"could not build FerretDB {FERRETDB_VERSION} (go {' '.join(args)}):\n{result.stderr[-3000:]}"
            )
        return result.stdout

    module = json.loads(go_run("mod", "download", "-json", f"github.com/FerretDB/FerretDB@{FERRETDB_VERSION}", cwd=src))
    patched = home / "FerretDB"
    shutil.rmtree(patched, ignore_errors=True)
    shutil.copytree(module["Dir"], patched)
    for path in patched.rglob("*"):
        path.chmod(path.stat().st_mode | 0o200)  # the module cache is read-only
    for name, old, new in _PATCHES:
        target = patched / name
        text = target.read_text()
        if old not in text:
            raise RuntimeError(f"FerretDB {FERRETDB_VERSION}: {name} no longer contains {old!r}")
        target.write_text(text.replace(old, new))
    build = home / "build"
    shutil.rmtree(build, ignore_errors=True)
    build.mkdir()
    for f in ("main.go", "go.mod", "go.sum"):
        shutil.copy(src / f, build / f)
    go_run("mod", "edit", f"-replace=github.com/FerretDB/FerretDB={patched}", cwd=build)
    tmp = binary.with_suffix(".tmp")
    go_run("build", "-o", str(tmp), ".", cwd=build)
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
        proc = procs.start(
            [mongod, "--bind_ip", "127.0.0.1", "--port", str(port), "--dbpath", str(db)], data / "mongod.log"
        )
        kind = "mongod"
    else:
        binary = ensure_ferretdb()
        args = [str(binary), "-listen", f"127.0.0.1:{port}", "-sqlite-dir", str(data / "ferretdb")]
        if os.environ.get("SERAH_FERRETDB_PPROF"):  # e.g. 127.0.0.1:6060: go tool pprof http://…/debug/pprof/profile
            args += ["-pprof", os.environ["SERAH_FERRETDB_PPROF"]]
        proc = procs.start(args, data / "ferretdb.log")
        kind = "ferretdb"
    try:
        wait_for_port(port, timeout_s, proc, what=kind)
    except Exception:
        procs.stop(proc)
        raise
    return Store(f"mongodb://127.0.0.1:{port}/", kind, proc)
