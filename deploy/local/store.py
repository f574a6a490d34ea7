"""The MongoDB-wire store: ``MONGO_URL`` if set; else a ``mongod`` on PATH;
else FerretDB v1.24.2, built once from its Go module into the user cache, on
PostgreSQL (deploy/local/postgres.py) or, with ``SERAH_STORE_BACKEND=sqlite``,
on SQLite files. FerretDB is wrapped by deploy/ferretdb/main.go (see its comment)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from deploy.local import procs
from deploy.local.postgres import Postgres, start_postgres
from deploy.local.tools import cache_dir, free_port, repo_root, require, wait_for_port

FERRETDB_VERSION = "v1.24.2"
BACKENDS = ("postgresql", "sqlite")  # FerretDB's; the first is the default
# FerretDB decodes every document it reads into short-lived Go values; with Go's default
# (a collection each time the heap doubles) a fifth or more of its CPU went to the
# collector. Collecting at 5x the live heap, and harder as the heap nears 2 GiB (a soft
# limit): scans of 20,000 documents 36 % faster, sorted scans 77 % (three alternating
# runs; docs/performance.md). The environment's own GOGC / GOMEMLIMIT win.
GO_MEMORY = {"GOGC": "400", "GOMEMLIMIT": "2GiB"}


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

# FerretDB's PostgreSQL backend keeps each document as one jsonb value and creates
# every index, _id's included, on an expression such as  (_jsonb->'_id') . Its
# query pushdown compares with jsonb containment,  _jsonb->$1 @> $2 , which no
# such index can answer (the key is a parameter and @> is not a btree operator):
# every find, update and delete by _id read the whole table (EXPLAIN: Seq Scan).
#
# 6. An equality on _id, or on the first field of an index, as a string or an
#    ObjectID, or $in of strings, is compared with  =  /  IN  on the index's own
#    expression, so PostgreSQL answers it from the index. _id cannot hold an array;
#    another indexed field compared so matches a document whose field holds an
#    array only if the array itself is equal (MongoDB would also match an element):
#    Serah indexes no field that holds an array. The handler re-applies the whole
#    filter to what the backend returns, as for fixes 2 and 4.
_PG_INDEXED = """
// indexedFields returns the top-level fields an index starts with, _id included.
func indexedFields(meta *metadata.Collection) map[string]bool {
	fields := map[string]bool{"_id": true}
	for _, idx := range meta.Indexes {
		if len(idx.Key) > 0 && !strings.ContainsRune(idx.Key[0].Field, '.') {
			fields[idx.Key[0].Field] = true
		}
	}
	return fields
}

// indexedEqual returns the SQL filter and arguments comparing an indexed field with =
// (or IN) on the index's expression, or "" if the value is not a string, an ObjectID,
// {$eq: one of them} or {$in: [strings]}.
func indexedEqual(p *metadata.Placeholder, key string, v any) (string, []any) {
	column := metadata.DefaultColumn + "->'" + strings.ReplaceAll(key, "'", "''") + "'"
	switch v := v.(type) {
	case string, types.ObjectID:
		return fmt.Sprintf(`%s = %s`, column, p.Next()), []any{string(must.NotFail(sjson.MarshalSingleValue(v)))}
	case *types.Document:
		if v.Len() != 1 {
			return "", nil
		}
		if eq, err := v.Get("$eq"); err == nil {
			return indexedEqual(p, key, eq)
		}
		in, err := v.Get("$in")
		arr, ok := in.(*types.Array)
		if err != nil || !ok || arr.Len() == 0 || arr.Len() > 10000 {
			return "", nil
		}
		marks := make([]string, arr.Len())
		args := make([]any, arr.Len())
		for i := range args {
			s, ok := must.NotFail(arr.Get(i)).(string)
			if !ok {
				return "", nil
			}
			marks[i] = p.Next()
			args[i] = string(must.NotFail(sjson.MarshalSingleValue(s)))
		}
		return fmt.Sprintf(`%s IN (%s)`, column, strings.Join(marks, ", ")), args
	}
	return "", nil
}

// prepareWhereClause adds WHERE clause with given filters to the query and returns the query and arguments.
func prepareWhereClause(p *metadata.Placeholder, sqlFilters *types.Document) (string, []any, error) {
	return prepareIndexedWhereClause(p, sqlFilters, map[string]bool{"_id": true})
}

// prepareIndexedWhereClause is prepareWhereClause comparing the indexed fields by their indexes.
func prepareIndexedWhereClause(
	p *metadata.Placeholder, sqlFilters *types.Document, indexed map[string]bool,
) (string, []any, error) {
"""
# 7. An update command held each update's query open (one pooled connection) until
#    the whole command ended, and took a second connection for each write: a bulk
#    write of more updates than the pool has connections (50 on PostgreSQL) waited
#    forever (fix 3 lifted SQLite's cap instead). Each update now reads the
#    documents it changes and gives the query's connection back before writing.
_UPDATE_READ_FIRST = """
		// Read the documents to change and give the query's connection back before writing.
		docs, err := iterator.ConsumeValues(iter)
		closer.Close()
		if err != nil {
			return 0, 0, nil, lazyerrors.Error(err)
		}

		read := iterator.Values(iterator.ForSlice(docs))
		result, err := common.UpdateDocument(ctx, c, "update", read, &u)
		read.Close()
"""

# 8. A page in _id order is cut by PostgreSQL. FerretDB pushes a limit down only with
#    neither filter nor sort, so a page of one office's views read, decoded and sorted
#    every view of the office in Go first. When a find sorts by _id ascending with a
#    limit, and its filter is a string _id compared with $gt/$gte plus indexed fields
#    compared as fix 6 compares them, the backend selects exactly what the filter does,
#    and adds ORDER BY _id LIMIT n (the handler still filters, sorts and limits).
_PG_PAGE = """
// pageFields returns the top-level fields of every index, _id included.
func pageFields(meta *metadata.Collection) map[string]bool {
	fields := map[string]bool{"_id": true}
	for _, idx := range meta.Indexes {
		for _, k := range idx.Key {
			if !strings.ContainsRune(k.Field, '.') {
				fields[k.Field] = true
			}
		}
	}
	return fields
}

// idAfter compares a string _id with $gt or $gte as MongoDB does: strings only (by the
// type FerretDB records), in byte order (the cluster's C locale orders jsonb strings so).
func idAfter(p *metadata.Placeholder, v any) (string, []any) {
	d, ok := v.(*types.Document)
	if !ok || d.Len() != 1 {
		return "", nil
	}
	op := d.Keys()[0]
	s, ok := must.NotFail(d.Get(op)).(string)
	sign := map[string]string{"$gt": ">", "$gte": ">="}[op]
	if !ok || sign == "" {
		return "", nil
	}
	column := metadata.DefaultColumn + "->'_id'"
	typed := metadata.DefaultColumn + `->'$s'->'p'->'_id'->'t' = '"string"'`
	arg := string(must.NotFail(sjson.MarshalSingleValue(s)))
	return fmt.Sprintf(`%s %s %s AND %s`, column, sign, p.Next(), typed), []any{arg}
}

// idPage returns WHERE, ORDER BY and LIMIT of a page in _id order when SQL selects exactly
// what the filter does, else "": the handler must then see every document the filter may match.
func idPage(params *backends.QueryParams, indexed map[string]bool) (string, []any) {
	if params.IDPage <= 0 || params.Limit != 0 || params.Sort.Len() != 0 || params.Filter == nil ||
		!params.Filter.Has("_id") {
		return "", nil
	}
	var p metadata.Placeholder
	var filters []string
	var args []any
	for _, key := range params.Filter.Keys() {
		v := must.NotFail(params.Filter.Get(key))
		f, a := "", []any(nil)
		if key == "_id" {
			f, a = idAfter(&p, v)
		} else if indexed[key] {
			f, a = indexedEqual(&p, key, v)
		}
		if f == "" {
			return "", nil
		}
		filters = append(filters, f)
		args = append(args, a...)
	}
	order := fmt.Sprintf(" ORDER BY %s->'_id' LIMIT %d", metadata.DefaultColumn, params.IDPage)
	return " WHERE " + strings.Join(filters, " AND ") + order, args
}

"""
_PG_PAGE_QUERY = """
	q += where

	sort, sortArgs := prepareOrderByClause(params.Sort)

	q += sort
	args = append(args, sortArgs...)

	if params.Limit != 0 {
		q += fmt.Sprintf(` LIMIT %s`, placeholder.Next())
		args = append(args, params.Limit)
	}

	rows, err := p.Query(ctx, q, args...)
"""
_PG_PAGE_WHERE = """
	if page, pageArgs := idPage(params, pageFields(meta)); page != "" {
		where, args = page, pageArgs
	}
"""
_PG_PAGE_FIND = """
	// A page in _id order: the backend may cut it itself when it applies the whole filter.
	if !h.DisablePushdown && params.Skip == 0 && params.Limit > 0 && qp.Limit == 0 && qp.Filter != nil &&
		qp.Filter.Len() == params.Filter.Len() && params.Sort.Len() == 1 && params.Sort.Keys()[0] == "_id" {
		if order, ok := must.NotFail(params.Sort.Get("_id")).(int64); ok && order == 1 {
			qp.IDPage = params.Limit
		}
	}

	h.L.DebugContext(ctx, fmt.Sprintf("Converted %+v for %+v to %+v.", params, cInfo, qp))
"""
_PG_PATCHES = (
    (
        "internal/handler/msg_update.go",
        """
		result, err := common.UpdateDocument(ctx, c, "update", iter, &u)
""",
        _UPDATE_READ_FIRST,
    ),
    (
        "internal/backends/postgresql/query.go",
        """// prepareWhereClause adds WHERE clause with given filters to the query and returns the query and arguments.
func prepareWhereClause(p *metadata.Placeholder, sqlFilters *types.Document) (string, []any, error) {
""",
        _PG_INDEXED,
    ),
    (
        "internal/backends/postgresql/query.go",
        """		if strings.HasPrefix(rootKey, "$") {
			continue
		}
""",
        """		if strings.HasPrefix(rootKey, "$") {
			continue
		}

		if indexed[rootKey] {
			if f, a := indexedEqual(p, rootKey, rootVal); f != "" {
				filters = append(filters, f)
				args = append(args, a...)
				continue
			}
		}
""",
    ),
    (
        "internal/backends/postgresql/collection.go",
        "prepareWhereClause(&placeholder, params.Filter)",
        "prepareIndexedWhereClause(&placeholder, params.Filter, indexedFields(meta))",
    ),
    (
        "internal/backends/collection.go",
        "\tLimit  int64\n\n\tOnlyRecordIDs bool\n",
        "\tLimit  int64\n\tIDPage int64\n\n\tOnlyRecordIDs bool\n",
    ),
    (
        "internal/backends/postgresql/query.go",
        "\n// prepareOrderByClause returns",
        _PG_PAGE + "// prepareOrderByClause returns",
    ),
    (
        "internal/backends/postgresql/query.go",
        '\t"github.com/FerretDB/FerretDB/internal/backends/postgresql/metadata"\n',
        '\t"github.com/FerretDB/FerretDB/internal/backends"\n\t"github.com/FerretDB/FerretDB/internal/backends/postgresql/metadata"\n',
    ),
    ("internal/backends/postgresql/collection.go", _PG_PAGE_QUERY, _PG_PAGE_WHERE + _PG_PAGE_QUERY),
    (
        "internal/handler/msg_find.go",
        """
	h.L.DebugContext(ctx, fmt.Sprintf("Converted %+v for %+v to %+v.", params, cInfo, qp))
""",
        _PG_PAGE_FIND,
    ),
)
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
    *_PG_PATCHES,
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


def backend(chosen: str | None = None) -> str:
    """FerretDB's backend: ``chosen``, else ``SERAH_STORE_BACKEND``, else the default."""
    chosen = chosen or os.environ.get("SERAH_STORE_BACKEND") or BACKENDS[0]
    if chosen not in BACKENDS:
        raise ValueError(f"SERAH_STORE_BACKEND must be one of {', '.join(BACKENDS)}, not {chosen!r}")
    return chosen


@dataclass
class Store:
    url: str
    kind: str  # "external", "mongod", "ferretdb/postgresql" or "ferretdb/sqlite"
    proc: subprocess.Popen[bytes] | None = None
    postgres: Postgres | None = None

    def stop(self) -> None:
        if self.proc is not None:
            procs.stop(self.proc)
        if self.postgres is not None:
            self.postgres.stop()


def start_store(
    data: Path,
    port: int | None = None,
    timeout_s: float = 60,
    prefer_external: bool = True,
    backend_name: str | None = None,
) -> Store:
    if prefer_external and os.environ.get("MONGO_URL"):
        return Store(os.environ["MONGO_URL"], "external")
    port = port or free_port()
    data.mkdir(parents=True, exist_ok=True)
    mongod = shutil.which("mongod")
    postgres = None
    if mongod:
        db = data / "mongod"
        db.mkdir(exist_ok=True)
        proc = procs.start(
            [mongod, "--bind_ip", "127.0.0.1", "--port", str(port), "--dbpath", str(db)], data / "mongod.log"
        )
        kind = "mongod"
    else:
        binary = ensure_ferretdb()
        args = [str(binary), "-listen", f"127.0.0.1:{port}"]
        if backend(backend_name) == "postgresql":
            postgres = start_postgres(data / "postgres", timeout_s=timeout_s)
            args += ["-postgresql-url", postgres.url]
        else:
            args += ["-sqlite-dir", str(data / "ferretdb")]
        if os.environ.get("SERAH_FERRETDB_PPROF"):  # e.g. 127.0.0.1:6060: go tool pprof http://…/debug/pprof/profile
            args += ["-pprof", os.environ["SERAH_FERRETDB_PPROF"]]
        proc = procs.start(args, data / "ferretdb.log", {**GO_MEMORY, **os.environ})
        kind = f"ferretdb/{backend(backend_name)}"
    store = Store(f"mongodb://127.0.0.1:{port}/", kind, proc, postgres)
    try:
        wait_for_port(port, timeout_s, proc, what=kind)
    except Exception:
        store.stop()
        raise
    return store
