// Copyright 2021 FerretDB Inc.
// Modified by Call24x7: no projection means the document as it is, without copying it; an
// inclusion of top-level fields picks them without copying the document (see pickTopLevel).
//
// Licensed under the Apache License, Version 2.0 (the "License");
// you may not use this file except in compliance with the License.
// You may obtain a copy of the License at
//
//     http://www.apache.org/licenses/LICENSE-2.0
//
// Unless required by applicable law or agreed to in writing, software
// distributed under the License is distributed on an "AS IS" BASIS,
// WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
// See the License for the specific language governing permissions and
// limitations under the License.

package common

import (
	"strings"

	"github.com/FerretDB/FerretDB/internal/types"
	"github.com/FerretDB/FerretDB/internal/util/iterator"
	"github.com/FerretDB/FerretDB/internal/util/lazyerrors"
)

// ProjectionIterator returns an iterator that projects documents returned by the underlying iterator.
// It will be added to the given closer.
//
// Next method returns the next projected document.
//
// Close method closes the underlying iterator.
func ProjectionIterator(iter types.DocumentsIterator, closer *iterator.MultiCloser, projection, filter *types.Document) (types.DocumentsIterator, error) { //nolint:lll // for readability
	projectionValidated, inclusion, err := ValidateProjection(projection)
	if err != nil {
		return nil, lazyerrors.Error(err)
	}

	res := &projectionIterator{
		iter:       iter,
		projection: projectionValidated,
		filter:     filter,
		inclusion:  inclusion,
		picks:      topLevelPicks(projectionValidated, inclusion),
	}
	closer.Add(res)

	return res, nil
}

// projectionIterator is returned by ProjectionIterator.
type projectionIterator struct {
	iter       types.DocumentsIterator
	projection *types.Document
	filter     *types.Document // filter is used by positional operator to get first matching array element.
	inclusion  bool
	picks      *picks // non-nil when the projection only includes top-level fields
}

// picks is an inclusion projection of top-level fields: the names kept, and whether _id is.
type picks struct {
	fields map[string]struct{}
	withID bool
}

// topLevelPicks returns the projection as picks when every field in it is a plain top-level
// name set to true (and _id, if present, to true or false); nil otherwise (dotted paths,
// positional "$", new values and exclusions keep FerretDB's general code).
func topLevelPicks(projection *types.Document, inclusion bool) *picks {
	if !inclusion || projection.Len() == 0 {
		return nil
	}

	p := &picks{fields: make(map[string]struct{}, projection.Len()), withID: true}

	keys, values := projection.Keys(), projection.Values()

	for i, key := range keys {
		value, ok := values[i].(bool)
		if !ok || strings.ContainsAny(key, ".$") {
			return nil
		}

		if key == "_id" {
			p.withID = value
			continue
		}

		if !value {
			return nil
		}

		p.fields[key] = struct{}{}
	}

	return p
}

// pickTopLevel builds the projected document the way ProjectDocument does for such a
// projection: _id first, then the kept fields in the stored document's order; missing fields
// are left out. The values are shared, not copied: doc is this query's own copy and is dropped
// after projection. ProjectDocument deep-copies the document and re-copies the result for every
// field it sets, which made projections cost more than the fields they saved.
func pickTopLevel(doc *types.Document, p *picks) *types.Document {
	projected := types.MakeDocument(len(p.fields) + 1)
	projected.SetRecordID(doc.RecordID())

	if p.withID {
		if id, err := doc.Get("_id"); err == nil {
			projected.Set("_id", id)
		}
	}

	values := doc.Values()

	for i, key := range doc.Keys() {
		if _, ok := p.fields[key]; ok {
			projected.Set(key, values[i])
		}
	}

	return projected
}

// Next implements iterator.Interface. See ProjectionIterator for details.
func (iter *projectionIterator) Next() (struct{}, *types.Document, error) {
	var unused struct{}

	_, doc, err := iter.iter.Next()
	if err != nil {
		return unused, nil, lazyerrors.Error(err)
	}

	// ProjectDocument copies the whole document twice even for an empty projection, only to
	// return the same fields with _id first; stored documents already start with _id.
	if iter.projection.Len() == 0 && (doc.Len() == 0 || doc.Command() == "_id") {
		return unused, doc, nil
	}

	if iter.picks != nil {
		return unused, pickTopLevel(doc, iter.picks), nil
	}

	projected, err := ProjectDocument(doc, iter.projection, iter.filter, iter.inclusion)
	if err != nil {
		return unused, nil, lazyerrors.Error(err)
	}

	return unused, projected, nil
}

// Close implements iterator.Interface. See ProjectionIterator for details.
func (iter *projectionIterator) Close() {
	iter.iter.Close()
}

// check interfaces
var (
	_ types.DocumentsIterator = (*projectionIterator)(nil)
)
