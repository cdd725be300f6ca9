// Copyright 2021 FerretDB Inc.
// Replaced by Call24x7 (Apache-2.0 applies): see below.
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

// Package resource keeps FerretDB's leak-tracking API as no-ops.
//
// Upstream records a pprof sample with a stack trace and sets a finalizer for every iterator,
// including one per document field walk: about a quarter of the server's CPU time on list
// queries. Its finalizer also panics (killing the server) when an unclosed iterator is
// collected, which is a debugging aid, not something an embedded database should do.
package resource

// Token is a field that tracked structs carried for upstream's leak tracking.
type Token byte

// NewToken returns a new token.
func NewToken() *Token {
	return new(Token)
}

// Track does nothing; see the package comment.
func Track(obj any, token *Token) {}

// Untrack does nothing; see the package comment.
func Untrack(obj any, token *Token) {}
