// Command ferretdb-launcher runs an embedded FerretDB on the SQLite backend.
// It exists because `go install .../cmd/ferretdb` panics without a version file,
// while the embeddable package builds cleanly from the module proxy.
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	_ "net/http/pprof"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:27017", "TCP address to listen on")
	dir := flag.String("dir", "", "directory for the SQLite databases")
	pragmas := flag.String("sqlite-pragmas", "", `extra SQLite pragmas, comma-separated, e.g. "synchronous(normal)"`)
	pprofAddr := flag.String("pprof", "", "serve Go's net/http/pprof on this address (off when empty)")
	flag.Parse()
	if *dir == "" {
		fmt.Fprintln(os.Stderr, "ferretdb-launcher: -dir is required")
		os.Exit(2)
	}
	abs, err := filepath.Abs(*dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ferretdb-launcher:", err)
		os.Exit(2)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "ferretdb-launcher:", err)
		os.Exit(2)
	}

	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: *listen},
		Handler:   "sqlite",
		SQLiteURL: "file:" + abs + "/" + pragmaQuery(*pragmas),
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "ferretdb-launcher:", err)
		os.Exit(1)
	}

	// FerretDB allocates a fresh Go document for every document it reads, while its live heap
	// stays small (a few MB), so at Go's default GOGC of 100 it collects many times a second: a
	// fifth of its CPU under list queries. A larger ratio trades some megabytes for that CPU;
	// an explicit GOGC in the environment wins.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go indexIDs(ctx, abs, time.Second)
	if *pprofAddr != "" {
		go func() { fmt.Fprintln(os.Stderr, "ferretdb-launcher: pprof:", http.ListenAndServe(*pprofAddr, nil)) }()
	}
	fmt.Fprintln(os.Stderr, "ferretdb-launcher: listening on", *listen)
	if err := f.Run(ctx); err != nil && ctx.Err() == nil {
		fmt.Fprintln(os.Stderr, "ferretdb-launcher:", err)
		os.Exit(1)
	}
}

// pragmaQuery turns "a(1),b(2)" into "?_pragma=a(1)&_pragma=b(2)"; FerretDB adds its own
// defaults (busy_timeout, journal_mode(wal), auto_vacuum(none)) for pragmas not given.
func pragmaQuery(list string) string {
	q := ""
	for _, p := range strings.Split(list, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		if q == "" {
			q = "?"
		} else {
			q += "&"
		}
		q += "_pragma=" + url.QueryEscape(p)
	}
	return q
}
