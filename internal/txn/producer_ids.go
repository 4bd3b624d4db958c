// Package txn holds the producer side of exactly-once: producer-id
// allocation today, the transaction coordinator later.
//
// Producer ids come in blocks from the active controller, which records
// each block in the metadata log before handing it out, so an id is never
// given twice, across restarts and controller changes. A broker draws ids
// from its current block and asks for the next when it runs out.
package txn

import (
	"context"
	"fmt"
	"sync"
)

// BlockFetcher asks the controller for the next block of producer ids:
// the first id and how many follow it.
type BlockFetcher func(ctx context.Context) (start int64, n int32, err error)

// IDAllocator hands out producer ids. It is safe for concurrent use.
type IDAllocator struct {
	fetch BlockFetcher

	mu   sync.Mutex // guards next and end; held across a block fetch so only one happens
	next int64
	end  int64 // first id past the current block
}

// NewIDAllocator returns an allocator that gets its blocks from fetch.
func NewIDAllocator(fetch BlockFetcher) *IDAllocator {
	return &IDAllocator{fetch: fetch}
}

// Next returns an unused producer id.
func (a *IDAllocator) Next(ctx context.Context) (int64, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.next >= a.end {
		start, n, err := a.fetch(ctx)
		if err != nil {
			return -1, fmt.Errorf("allocate producer id block: %w", err)
		}
		if n <= 0 || start < 0 {
			return -1, fmt.Errorf("allocate producer id block: controller returned an empty block")
		}
		a.next, a.end = start, start+int64(n)
	}
	id := a.next
	a.next++
	return id, nil
}
