// Call24x7 addition to FerretDB's SQLite backend (Apache-2.0), copied into the vendored module at build time (scripts/lib/setup.mjs).

package sqlite

import (
	"container/list"
	"os"
	"strconv"
	"sync"

	"github.com/FerretDB/FerretDB/internal/handler/sjson"
	"github.com/FerretDB/FerretDB/internal/types"
)

// Decoding a stored document (sjson, through encoding/json) is most of FerretDB's CPU time on
// reads: about 100 µs for a small document. The cache is keyed by the stored text itself, so an
// entry can never be stale: a changed document is different text and misses. Callers get a deep
// copy, because update commands modify the documents they read.
var docCache = newDecodeCache(cacheBytesFromEnv())

// Documents larger than this are decoded every time; they would crowd out the small hot ones.
const maxCachedDocBytes = 64 << 10

func cacheBytesFromEnv() int {
	if v, err := strconv.Atoi(os.Getenv("FERRETDB_DOC_CACHE_MB")); err == nil && v >= 0 {
		return v << 20
	}
	return 64 << 20
}

type decodeCache struct {
	m       sync.Mutex
	limit   int
	size    int
	entries map[string]*list.Element
	lru     *list.List // front is the most recently used
}

type cacheEntry struct {
	key string
	doc *types.Document
}

func newDecodeCache(limit int) *decodeCache {
	return &decodeCache{limit: limit, entries: map[string]*list.Element{}, lru: list.New()}
}

// decodeCached returns the document stored as b.
func decodeCached(b []byte) (*types.Document, error) {
	return docCache.decode(b)
}

func (c *decodeCache) decode(b []byte) (*types.Document, error) {
	if c.limit == 0 || len(b) > maxCachedDocBytes {
		return sjson.Unmarshal(b)
	}

	c.m.Lock()
	if e, ok := c.entries[string(b)]; ok {
		c.lru.MoveToFront(e)
		doc := e.Value.(*cacheEntry).doc
		c.m.Unlock()
		return doc.DeepCopy(), nil
	}
	c.m.Unlock()

	doc, err := sjson.Unmarshal(b)
	if err != nil {
		return nil, err
	}

	key := string(b)
	kept := doc.DeepCopy()

	c.m.Lock()
	defer c.m.Unlock()
	if _, ok := c.entries[key]; ok {
		return doc, nil
	}
	c.entries[key] = c.lru.PushFront(&cacheEntry{key: key, doc: kept})
	c.size += len(key)
	for c.size > c.limit {
		oldest := c.lru.Back()
		entry := oldest.Value.(*cacheEntry)
		c.lru.Remove(oldest)
		delete(c.entries, entry.key)
		c.size -= len(entry.key)
	}
	return doc, nil
}
