// Call24x7 addition to FerretDB's SQLite backend (Apache-2.0), copied into the vendored module at build time (scripts/lib/setup.mjs).

package sqlite

import (
	"context"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/FerretDB/FerretDB/internal/backends"
	"github.com/FerretDB/FerretDB/internal/backends/sqlite/metadata"
	"github.com/FerretDB/FerretDB/internal/types"
	"github.com/FerretDB/FerretDB/internal/util/fsql"
	"github.com/FerretDB/FerretDB/internal/util/must"
)

// Upstream pushes down only `{_id: <string or ObjectId>}`: every other find reads, decodes and
// filters the whole collection in Go, and sorts it there, so a page of 100 out of 100,000
// documents costs 100,000 decodes. This file turns a find's filter, sort and limit into SQL over
// the stored JSON when that is exact. Indexes are built on the same expressions
// (metadata/pushdown_index.go), so SQLite can search and order by them.
//
// Exactness rests on MongoDB's comparison rules for scalars: a comparison only matches values
// of the same type bracket (numbers, strings, ObjectIds, booleans, dates), and sorting orders
// brackets first, then values. The stored sjson keeps each top-level field's type in
// `$s.p.<field>.t`; metadata.RankExpr maps it to the bracket's place in MongoDB's sort order, and
// valueExpr reads the value in a form SQLite compares the way MongoDB does (numbers as numbers,
// strings bytewise, ObjectIds as lowercase hex, booleans as 0/1, dates as epoch milliseconds).
// Fields that hold arrays, documents or other types anywhere in the collection ("irregular",
// tracked in table_state.go) are never pushed down, because MongoDB matches arrays by element
// and orders those types in ways these expressions do not reproduce.

var pushdownField = metadata.PushdownField

const (
	rankNull     = metadata.RankNull
	rankNumber   = metadata.RankNumber
	rankString   = metadata.RankString
	rankObjectID = metadata.RankObjectID
	rankBool     = metadata.RankBool
	rankDate     = metadata.RankDate
)

// regularTypes are the sjson type names rankExpr knows; any other makes a field irregular.
var regularTypes = []string{"int", "long", "double", "string", "objectId", "bool", "date", "null"}

var (
	valueExpr = metadata.ValueExpr
	rankExpr  = metadata.RankExpr
)

// scalar returns the SQL argument and rank for a filter value, or ok=false for values that are
// not compared as plain scalars (null, arrays, documents, regexes, binary, timestamps).
func scalar(v any) (arg any, rank int, ok bool) {
	switch v := v.(type) {
	case string:
		return v, rankString, true
	case types.ObjectID:
		return hex.EncodeToString(v[:]), rankObjectID, true
	case bool:
		if v {
			return int64(1), rankBool, true
		}
		return int64(0), rankBool, true
	case time.Time:
		return v.UnixMilli(), rankDate, true
	case int32:
		return int64(v), rankNumber, true
	case int64:
		return v, rankNumber, true
	case float64:
		return v, rankNumber, true
	default:
		return nil, 0, false
	}
}

// sqlCond is a WHERE fragment; exact means it selects exactly what MongoDB would.
type sqlCond struct {
	sql   string
	args  []any
	exact bool
}

// findPlan is what Query and Explain add to their SELECT.
type findPlan struct {
	where   string
	args    []any
	orderBy string
	limit   int64

	filterPushed, sortPushed, limitPushed bool
}

// planFind translates as much of a find as can be done exactly.
func planFind(st *tableState, f *backends.FindPushdown) findPlan {
	var p findPlan

	filter := translateDoc(st, f.Filter)
	if filter.sql != "" {
		p.where = " WHERE " + filter.sql
		p.args = filter.args
		p.filterPushed = true
	}

	sortExact := f.Sort.Len() == 0
	if f.Sort.Len() > 0 {
		if orderBy, ok := translateSort(st, f.Sort); ok {
			p.orderBy = " ORDER BY " + orderBy
			p.sortPushed = true
			sortExact = true
		}
	}

	if filter.exact && sortExact && f.Limit > 0 {
		p.limit = f.Limit
		p.limitPushed = true
	}

	return p
}

// sqlClauses are the parts of a SELECT after FROM, as upstream built them.
type sqlClauses struct {
	where   string
	args    []any
	orderBy string
	limit   int64
}

// pushFind replaces upstream's clauses with what can be pushed down of the find, if anything,
// and reports whether its filter and sort were.
func (cl *sqlClauses) pushFind(ctx context.Context, dbName string, db *fsql.DB, meta *metadata.Collection, find *backends.FindPushdown) (filter, sort bool) {
	if find == nil {
		return false, false
	}

	st := stateFor(dbName, meta.TableName)
	if !st.ready(ctx, db, meta) {
		return false, false
	}

	p := planFind(st, find)
	if p.filterPushed {
		cl.where, cl.args, filter = p.where, p.args, true
	}

	// upstream only orders capped collections by record id; that stays
	if p.sortPushed && cl.orderBy == "" {
		cl.orderBy, sort = p.orderBy, true
	}

	if p.limitPushed && (cl.limit == 0 || p.limit < cl.limit) {
		cl.limit = p.limit
	}

	return filter, sort
}

// translateDoc translates a filter document: an implicit AND of its fields.
// Parts that cannot be translated are left out, which keeps the result a superset.
func translateDoc(st *tableState, doc *types.Document) sqlCond {
	res := sqlCond{exact: true}
	if doc == nil {
		return res
	}

	var parts []string

	for _, key := range doc.Keys() {
		v := must.NotFail(doc.Get(key))

		var c sqlCond

		switch {
		case key == "$comment":
			continue
		case key == "$and":
			c = translateList(st, v, " AND ")
		case key == "$or":
			c = translateList(st, v, " OR ")
		case pushdownField.MatchString(key) && !st.isIrregular(key):
			c = translateField(key, v)
		}

		if c.sql == "" {
			res.exact = false
			continue
		}

		res.exact = res.exact && c.exact
		parts = append(parts, c.sql)
		res.args = append(res.args, c.args...)
	}

	res.sql = strings.Join(parts, " AND ")

	return res
}

// translateList translates the array of filters of $and or $or.
func translateList(st *tableState, v any, op string) sqlCond {
	arr, ok := v.(*types.Array)
	if !ok || arr.Len() == 0 {
		return sqlCond{}
	}

	res := sqlCond{exact: true}

	var parts []string

	for i := 0; i < arr.Len(); i++ {
		doc, ok := must.NotFail(arr.Get(i)).(*types.Document)
		if !ok {
			return sqlCond{}
		}

		c := translateDoc(st, doc)
		if c.sql == "" {
			if op == " OR " {
				return sqlCond{} // an untranslatable branch of an OR could match anything
			}

			res.exact = false

			continue
		}

		res.exact = res.exact && c.exact
		parts = append(parts, "("+c.sql+")")
		res.args = append(res.args, c.args...)
	}

	if len(parts) > 0 {
		res.sql = "(" + strings.Join(parts, op) + ")"
	}

	return res
}

// translateField translates `field: value` or `field: {$op: value, ...}`.
func translateField(field string, v any) sqlCond {
	doc, ok := v.(*types.Document)
	if !ok {
		return compare(field, "=", v)
	}

	res := sqlCond{exact: true}

	var parts []string

	for _, op := range doc.Keys() {
		arg := must.NotFail(doc.Get(op))

		var c sqlCond

		switch op {
		case "$eq":
			c = compare(field, "=", arg)
		case "$lt":
			c = compare(field, "<", arg)
		case "$lte":
			c = compare(field, "<=", arg)
		case "$gt":
			c = compare(field, ">", arg)
		case "$gte":
			c = compare(field, ">=", arg)
		case "$in":
			c = in(field, arg)
		}

		if c.sql == "" {
			// unknown operators, or `{field: {a: 1}}` equality with a document
			res.exact = false
			continue
		}

		parts = append(parts, c.sql)
		res.args = append(res.args, c.args...)
	}

	res.sql = strings.Join(parts, " AND ")

	return res
}

// compare translates one comparison of a field with a scalar, within its type bracket.
func compare(field, op string, v any) sqlCond {
	arg, rank, ok := scalar(v)
	if !ok {
		return sqlCond{}
	}

	sql := fmt.Sprintf(`%s = %d AND %s %s ?`, rankExpr(field), rank, valueExpr(field), op)

	return sqlCond{sql: sql, args: []any{arg}, exact: true}
}

// in translates `field: {$in: [scalars]}`: one IN list per type bracket.
func in(field string, v any) sqlCond {
	arr, ok := v.(*types.Array)
	if !ok || arr.Len() == 0 || arr.Len() > 1000 {
		return sqlCond{}
	}

	byRank := map[int][]any{}
	var ranks []int

	for i := 0; i < arr.Len(); i++ {
		elem := must.NotFail(arr.Get(i))

		arg, rank, ok := scalar(elem)
		if !ok {
			return sqlCond{}
		}

		if _, seen := byRank[rank]; !seen {
			ranks = append(ranks, rank)
		}

		byRank[rank] = append(byRank[rank], arg)
	}

	res := sqlCond{exact: true}

	var parts []string

	for _, rank := range ranks {
		args := byRank[rank]
		marks := strings.TrimSuffix(strings.Repeat("?, ", len(args)), ", ")
		parts = append(parts, fmt.Sprintf(`(%s = %d AND %s IN (%s))`, rankExpr(field), rank, valueExpr(field), marks))
		res.args = append(res.args, args...)
	}

	res.sql = "(" + strings.Join(parts, " OR ") + ")"

	return res
}

// translateSort returns the ORDER BY list, or ok=false if any key cannot be sorted exactly.
func translateSort(st *tableState, sort *types.Document) (string, bool) {
	cols := make([]string, 0, sort.Len()*2)

	for _, key := range sort.Keys() {
		if !pushdownField.MatchString(key) || st.isIrregular(key) {
			return "", false
		}

		var dir string

		switch v := must.NotFail(sort.Get(key)).(type) {
		case int64:
			if v == -1 {
				dir = " DESC"
			} else if v != 1 {
				return "", false
			}
		default:
			return "", false
		}

		cols = append(cols, rankExpr(key)+dir, valueExpr(key)+dir)
	}

	return strings.Join(cols, ", "), true
}
