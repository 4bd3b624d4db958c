package txn

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// block is one answer of the fake controller.
type block struct {
	start int64
	n     int32
	err   error
}

// controller is a fake BlockFetcher handing out the given blocks in order,
// then failing.
type controller struct {
	mu     sync.Mutex
	blocks []block
	calls  int
}

func (c *controller) fetch(context.Context) (int64, int32, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	if len(c.blocks) == 0 {
		return 0, 0, errors.New("controller: no more blocks in this test")
	}
	b := c.blocks[0]
	c.blocks = c.blocks[1:]
	return b.start, b.n, b.err
}

func (c *controller) numCalls() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls
}

// next calls a.Next, failing the test on error.
func next(t *testing.T, a *IDAllocator) int64 {
	t.Helper()
	id, err := a.Next(context.Background())
	if err != nil {
		t.Fatalf("Next: %v", err)
	}
	return id
}

func TestIDsAreDrawnFromEachBlockInTurn(t *testing.T) {
	c := &controller{blocks: []block{{start: 1000, n: 3}, {start: 5000, n: 2}}}
	a := NewIDAllocator(c.fetch)
	if c.numCalls() != 0 {
		t.Fatalf("a block was fetched before any id was asked for")
	}
	var got []int64
	var calls []int
	for range 5 {
		got = append(got, next(t, a))
		calls = append(calls, c.numCalls())
	}
	if want := []int64{1000, 1001, 1002, 5000, 5001}; !slices.Equal(got, want) {
		t.Errorf("ids = %v, want %v", got, want)
	}
	// A block is fetched only once the previous one is used up.
	if want := []int{1, 1, 1, 2, 2}; !slices.Equal(calls, want) {
		t.Errorf("fetches after each id = %v, want %v", calls, want)
	}
}

func TestFailedFetchIsReportedAndRetried(t *testing.T) {
	refused := errors.New("not the active controller")
	c := &controller{blocks: []block{{err: refused}, {start: 7, n: 1}}}
	a := NewIDAllocator(c.fetch)
	id, err := a.Next(context.Background())
	if !errors.Is(err, refused) || id != -1 {
		t.Fatalf("Next = %d, %v; want -1 and the fetcher's error", id, err)
	}
	if id := next(t, a); id != 7 {
		t.Errorf("Next after the failure = %d, want 7 from a fresh fetch", id)
	}
}

func TestEmptyBlockIsReported(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    block
	}{
		{"no ids", block{start: 100, n: 0}},
		{"a negative count", block{start: 100, n: -5}},
		{"a negative first id", block{start: -1, n: 10}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &controller{blocks: []block{tc.b, {start: 200, n: 1}}}
			a := NewIDAllocator(c.fetch)
			id, err := a.Next(context.Background())
			if err == nil || id != -1 {
				t.Fatalf("Next = %d, %v; want -1 and an error", id, err)
			}
			if id := next(t, a); id != 200 {
				t.Errorf("Next after the empty block = %d, want 200", id)
			}
		})
	}
}

func TestNextPassesItsContextToTheFetcher(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	a := NewIDAllocator(func(ctx context.Context) (int64, int32, error) { return 0, 0, ctx.Err() })
	if _, err := a.Next(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Next = %v, want context.Canceled", err)
	}
}

func TestConcurrentCallersNeverGetTheSameID(t *testing.T) {
	const (
		callers   = 8
		perCaller = 500
		blockSize = 7
	)
	var (
		inFlight   atomic.Int32
		overlapped atomic.Bool
		mu         sync.Mutex
		nextStart  int64 = 1
		handedOut        = map[int64]bool{} // the first id of every block
	)
	a := NewIDAllocator(func(context.Context) (int64, int32, error) {
		if inFlight.Add(1) > 1 {
			overlapped.Store(true)
		}
		defer inFlight.Add(-1)
		mu.Lock()
		defer mu.Unlock()
		start := nextStart
		nextStart += blockSize + 3 // blocks need not be adjacent
		handedOut[start] = true
		return start, blockSize, nil
	})

	ids := make([][]int64, callers)
	errs := make(chan error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range perCaller {
				id, err := a.Next(context.Background())
				if err != nil {
					errs <- err
					return
				}
				ids[i] = append(ids[i], id)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("Next: %v", err)
	}

	if overlapped.Load() {
		t.Error("two block fetches ran at once")
	}
	seen := map[int64]bool{}
	for _, mine := range ids {
		for _, id := range mine {
			if seen[id] {
				t.Fatalf("id %d handed out twice", id)
			}
			seen[id] = true
			if first := id - (id-1)%(blockSize+3); !handedOut[first] || id-first >= blockSize {
				t.Fatalf("id %d lies outside every block the controller gave", id)
			}
		}
	}
	if len(seen) != callers*perCaller {
		t.Errorf("%d distinct ids, want %d", len(seen), callers*perCaller)
	}
	// No id was skipped: every block but the last is used up.
	if want := (callers*perCaller + blockSize - 1) / blockSize; len(handedOut) != want {
		t.Errorf("%d blocks fetched for %d ids, want %d", len(handedOut), callers*perCaller, want)
	}
}
