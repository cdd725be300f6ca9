// Call24x7 addition to FerretDB's SQLite backend (Apache-2.0), copied into the vendored module at build time (scripts/lib/setup.mjs).

package metadata

import (
	"fmt"
	"regexp"
)

// PushdownField matches the field names find pushdown handles; others need JSON path quoting.
var PushdownField = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Ranks follow MongoDB's sort order of type brackets; null and missing are equal and first.
const (
	RankNull     = 0
	RankNumber   = 1
	RankString   = 2
	RankObjectID = 3
	RankBool     = 4
	RankDate     = 5
)

// TypeExpr is the sjson type name stored for a top-level field.
func TypeExpr(field string) string {
	return fmt.Sprintf(`_ferretdb_sjson->>'$."$s".p.%s.t'`, field)
}

// ValueExpr is a top-level field's value as SQLite compares it: numbers as numbers, strings
// bytewise, ObjectIds as lowercase hex, booleans as 0/1, dates as epoch milliseconds.
func ValueExpr(field string) string {
	return fmt.Sprintf(`_ferretdb_sjson->>'$.%s'`, field)
}

// RankExpr is the place of a top-level field's type bracket in MongoDB's sort order.
func RankExpr(field string) string {
	return fmt.Sprintf(
		`(CASE %s WHEN 'int' THEN %[2]d WHEN 'long' THEN %[2]d WHEN 'double' THEN %[2]d `+
			`WHEN 'string' THEN %[3]d WHEN 'objectId' THEN %[4]d WHEN 'bool' THEN %[5]d WHEN 'date' THEN %[6]d `+
			`ELSE %[7]d END)`,
		TypeExpr(field), RankNumber, RankString, RankObjectID, RankBool, RankDate, RankNull,
	)
}

// PushdownIndexColumns returns the index columns for one key of an index, or ok=false when the
// field is not one pushdown handles (dotted paths, names that need quoting).
func PushdownIndexColumns(field string, descending bool) (string, bool) {
	if !PushdownField.MatchString(field) {
		return "", false
	}

	dir := ""
	if descending {
		dir = " DESC"
	}

	return RankExpr(field) + dir + ", " + ValueExpr(field) + dir, true
}
