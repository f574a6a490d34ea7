// Command serah-ferretdb runs FerretDB v1 (PostgreSQL or SQLite backend) as a
// local MongoDB-wire server for development and tests.
//
// Why a wrapper instead of `go install .../cmd/ferretdb`: the module as served
// by the Go proxy lacks the generated build/version/version.txt, so the stock
// binary panics at start-up. FerretDB's embeddable package skips that check.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	_ "net/http/pprof" // served only with -pprof, for profiling the store under load
	"os"
	"os/signal"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:27017", "TCP address to listen on")
	sqliteDir := flag.String("sqlite-dir", "data", "directory holding the SQLite databases")
	postgresURL := flag.String("postgresql-url", "", "if set, store in this PostgreSQL database instead of SQLite")
	pprof := flag.String("pprof", "", "if set, serve Go's profiles (/debug/pprof) on this address")
	flag.Parse()

	if *pprof != "" {
		go func() { fmt.Fprintln(os.Stderr, http.ListenAndServe(*pprof, nil)) }()
	}

	config := ferretdb.Config{
		Listener: ferretdb.ListenerConfig{TCP: *listen},
		Logger:   slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	if *postgresURL != "" {
		config.Handler = "postgresql"
		config.PostgreSQLURL = *postgresURL
	} else {
		if err := os.MkdirAll(*sqliteDir, 0o755); err != nil {
			fmt.Fprintf(os.Stderr, "cannot create %s: %v\n", *sqliteDir, err)
			os.Exit(1)
		}
		config.Handler = "sqlite"
		config.SQLiteURL = "file:" + *sqliteDir + "/"
	}
	f, err := ferretdb.New(&config)
	if err != nil {
		fmt.Fprintf(os.Stderr, "cannot start FerretDB: %v\n", err)
		os.Exit(1)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	fmt.Fprintf(os.Stderr, "serah-ferretdb listening on %s\n", *listen)
	if err := f.Run(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "FerretDB stopped: %v\n", err)
		os.Exit(1)
	}
}
