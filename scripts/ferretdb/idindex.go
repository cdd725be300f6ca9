package main

import (
	"context"
	"database/sql"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the driver FerretDB itself uses
)

// FerretDB 1.24's SQLite backend looks documents up by _id with
// `WHERE _ferretdb_sjson->'$._id' = ?`, but its _id index is built on
// `_ferretdb_sjson->"_id"`. SQLite only uses an expression index for the same expression, so
// every lookup by _id scans the whole table. indexIDs adds an index on the exact expression the
// query uses, for every collection table, and keeps doing so for collections created later.
// The index is invisible to FerretDB (it lists indexes from its own metadata table) and is
// dropped with the table.
func indexIDs(ctx context.Context, dir string, every time.Duration) {
	dbs := map[string]*sql.DB{}
	defer func() {
		for _, db := range dbs {
			_ = db.Close()
		}
	}()
	done := map[string]bool{}
	for {
		files, _ := filepath.Glob(filepath.Join(dir, "*.sqlite"))
		for _, file := range files {
			db := dbs[file]
			if db == nil {
				var err error
				db, err = sql.Open("sqlite", "file:"+file+"?_pragma=busy_timeout(10000)")
				if err != nil {
					log.Printf("ferretdb-launcher: open %s: %v", file, err)
					continue
				}
				db.SetMaxOpenConns(1)
				dbs[file] = db
			}
			if err := indexFile(ctx, db, file, done); err != nil && ctx.Err() == nil {
				fmt.Fprintf(os.Stderr, "ferretdb-launcher: indexing %s: %v\n", file, err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
	}
}

func indexFile(ctx context.Context, db *sql.DB, file string, done map[string]bool) error {
	rows, err := db.QueryContext(ctx, `SELECT table_name FROM _ferretdb_collections`)
	if err != nil {
		if strings.Contains(err.Error(), "no such table") {
			return nil // a database FerretDB has not initialised yet
		}
		return err
	}
	var tables []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			rows.Close()
			return err
		}
		tables = append(tables, t)
	}
	rows.Close()
	for _, t := range tables {
		key := file + "/" + t
		if done[key] {
			continue
		}
		q := fmt.Sprintf(`CREATE INDEX IF NOT EXISTS %q ON %q (_ferretdb_sjson->'$._id')`, t+"_c247_id_lookup", t)
		if _, err := db.ExecContext(ctx, q); err != nil {
			if strings.Contains(err.Error(), "no such table") {
				continue // dropped meanwhile
			}
			return err
		}
		done[key] = true
	}
	return nil
}
