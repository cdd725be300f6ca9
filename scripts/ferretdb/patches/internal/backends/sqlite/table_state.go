// Call24x7 addition to FerretDB's SQLite backend (Apache-2.0), copied into the vendored module at build time (scripts/lib/setup.mjs).

package sqlite

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/FerretDB/FerretDB/internal/backends/sqlite/metadata"
	"github.com/FerretDB/FerretDB/internal/types"
	"github.com/FerretDB/FerretDB/internal/util/fsql"
	"github.com/FerretDB/FerretDB/internal/util/lazyerrors"
)

// tableState is what pushdown knows about one collection's table in this process.
//
// Irregular fields (see pushdown.go) are found once by a scan of the table, and from then on by
// looking at every document this process writes before it is written. FerretDB is the only
// writer of its SQLite files, so together they cover every stored document: a document written
// before the scan is seen by it, one written after was marked first.
type tableState struct {
	m         sync.Mutex
	scanned   bool
	irregular map[string]bool
	shadows   map[string]bool // names of the FerretDB indexes that have a shadow index
	checked   time.Time       // when shadows was last compared with the schema
}

// shadowRecheck is how often the shadow indexes are compared with SQLite's schema, which
// catches a collection dropped and created again under the same table name.
const shadowRecheck = time.Second

var tableStates sync.Map // "<db>\x00<table>" -> *tableState

func stateFor(dbName, table string) *tableState {
	key := dbName + "\x00" + table
	if st, ok := tableStates.Load(key); ok {
		return st.(*tableState)
	}

	st, _ := tableStates.LoadOrStore(key, &tableState{irregular: map[string]bool{}, shadows: map[string]bool{}})

	return st.(*tableState)
}

func (st *tableState) isIrregular(field string) bool {
	st.m.Lock()
	defer st.m.Unlock()

	return st.irregular[field]
}

// noteDocs marks the irregular fields of documents about to be written.
func noteDocs(dbName, table string, docs []*types.Document) {
	var found []string

	for _, doc := range docs {
		iter := doc.Iterator()

		for {
			k, v, err := iter.Next()
			if err != nil {
				break
			}

			if _, _, ok := scalar(v); !ok && v != types.Null {
				found = append(found, k)
			}
		}

		iter.Close()
	}

	if len(found) == 0 {
		return
	}

	st := stateFor(dbName, table)
	st.m.Lock()
	defer st.m.Unlock()

	for _, k := range found {
		st.irregular[k] = true
	}
}

// ready makes sure the table was scanned and its indexes have shadows; it reports false when
// pushdown must not be used for the table.
func (st *tableState) ready(ctx context.Context, db *fsql.DB, meta *metadata.Collection) bool {
	st.m.Lock()
	defer st.m.Unlock()

	if !st.scanned {
		if err := st.scan(ctx, db, meta.TableName); err != nil {
			return false
		}

		st.scanned = true
	}

	// shadows are best effort: without one a query is still exact, only slower
	if time.Since(st.checked) > shadowRecheck {
		if err := st.loadShadows(ctx, db, meta.TableName); err == nil {
			st.checked = time.Now()
		}
	}

	_ = st.syncShadows(ctx, db, meta)

	return true
}

// scan finds the fields that hold anything but regular scalars in any stored document.
func (st *tableState) scan(ctx context.Context, db *fsql.DB, table string) error {
	quoted := make([]string, len(regularTypes))
	for i, t := range regularTypes {
		quoted[i] = "'" + t + "'"
	}

	q := fmt.Sprintf(
		`SELECT DISTINCT j.key FROM %q AS t, json_each(t._ferretdb_sjson, '$."$s".p') AS j `+
			`WHERE j.value->>'t' IS NULL OR j.value->>'t' NOT IN (%s)`,
		table, strings.Join(quoted, ", "),
	)

	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return lazyerrors.Error(err)
	}
	defer rows.Close()

	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return lazyerrors.Error(err)
		}

		st.irregular[k] = true
	}

	return rows.Err()
}

// loadShadows reads which shadow indexes exist.
func (st *tableState) loadShadows(ctx context.Context, db *fsql.DB, table string) error {
	rows, err := db.QueryContext(ctx, `SELECT name, coalesce(sql, '') FROM sqlite_master WHERE type = 'index' AND tbl_name = ?`, table)
	if err != nil {
		return lazyerrors.Error(err)
	}
	defer rows.Close()

	found := map[string]bool{}

	for rows.Next() {
		var name, sql string
		if err := rows.Scan(&name, &sql); err != nil {
			return lazyerrors.Error(err)
		}

		index, ok := strings.CutPrefix(name, table+"_")
		if !ok {
			continue
		}

		if shadowed, ok := strings.CutSuffix(index, "__c247_pushdown"); ok {
			found[shadowed] = true
			continue
		}

		// built by the patched registry on pushdown expressions already: needs no shadow
		if strings.Contains(sql, `'$."$s".p.`) {
			found[index] = true
		}
	}

	if err := rows.Err(); err != nil {
		return lazyerrors.Error(err)
	}

	st.shadows = found

	return nil
}

// shadowName is the SQLite index that mirrors FerretDB's index name with pushdown expressions.
func shadowName(table, index string) string {
	return table + "_" + index + "__c247_pushdown"
}

// syncShadows creates a shadow for every index of the collection that lacks one, and drops the
// shadows of indexes that were dropped. Indexes made before the registry was patched are built
// on `->` JSON text, which neither sorts like MongoDB nor matches the expressions pushdown uses;
// newer ones are built on those expressions and count as their own shadow.
func (st *tableState) syncShadows(ctx context.Context, db *fsql.DB, meta *metadata.Collection) error {
	current := map[string]bool{}

	var errs []error

	for _, index := range meta.Settings.Indexes {
		current[index.Name] = true

		if st.shadows[index.Name] {
			continue
		}

		cols := make([]string, 0, len(index.Key)*2)

		for _, key := range index.Key {
			col, ok := metadata.PushdownIndexColumns(key.Field, key.Descending)
			if !ok {
				cols = nil
				break
			}

			cols = append(cols, col)
		}

		if len(cols) > 0 {
			q := fmt.Sprintf(`CREATE INDEX IF NOT EXISTS %q ON %q (%s)`,
				shadowName(meta.TableName, index.Name), meta.TableName, strings.Join(cols, ", "))
			if _, err := db.ExecContext(ctx, q); err != nil {
				errs = append(errs, lazyerrors.Error(err))
				continue
			}
		}

		st.shadows[index.Name] = true
	}

	for name := range st.shadows {
		if current[name] {
			continue
		}

		q := fmt.Sprintf(`DROP INDEX IF EXISTS %q`, shadowName(meta.TableName, name))
		if _, err := db.ExecContext(ctx, q); err != nil {
			errs = append(errs, lazyerrors.Error(err))
			continue
		}

		delete(st.shadows, name)
	}

	return errors.Join(errs...)
}
