package storage

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

func fsyncConfig() LogConfig {
	cfg := testConfig()
	cfg.SegmentBytes = 1 << 20
	cfg.FlushMessages = 1
	return cfg
}

// blockFirstSync makes the flusher's first fsync wait until the returned
// function is called.
func blockFirstSync(l *Log) (release func()) {
	gate := make(chan struct{})
	var once sync.Once
	hook := func() {
		once.Do(func() { <-gate })
	}
	l.syncHook.Store(&hook)
	var closeOnce sync.Once
	return func() { closeOnce.Do(func() { close(gate) }) }
}

func TestGroupCommit(t *testing.T) {
	_, l, _ := newLog(t, fsyncConfig())
	release := blockFirstSync(l)
	defer release()

	const writers = 50
	errs := make(chan error, writers+1)
	write := func() {
		res, err := l.AppendAsLeader(makeBatch(spec{n: 1, value: 100}), 0, 0)
		if err == nil {
			err = l.WaitDurable(context.Background(), res.LastOffset+1)
		}
		errs <- err
	}
	go write()
	eventually(t, "the first fsync to start", func() bool { return l.fsyncs.Load() == 1 })
	for i := 0; i < writers; i++ {
		go write()
	}
	eventually(t, "every writer to wait", func() bool { return l.nWaiters.Load() == writers+1 })
	if l.DurableOffset() != 0 {
		t.Fatalf("durable offset %d before any fsync finished", l.DurableOffset())
	}
	release()
	for i := 0; i < writers+1; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if n := l.fsyncs.Load(); n > 3 {
		t.Fatalf("%d fsyncs for %d concurrent writers; group commit should need 2", n, writers+1)
	}
	if l.DurableOffset() != writers+1 || l.RecoveryPoint() != writers+1 {
		t.Fatalf("durable %d, recovery point %d", l.DurableOffset(), l.RecoveryPoint())
	}
}

func TestWaitDurableInPageCacheMode(t *testing.T) {
	_, l, _ := newLog(t, testConfig())
	res := appendOK(t, l, spec{n: 3})
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // a wait would fail: this proves it does not wait
	if err := l.WaitDurable(ctx, res.LastOffset+1); err != nil {
		t.Fatalf("WaitDurable: %v", err)
	}
	if l.DurableOffset() != 3 || l.fsyncs.Load() != 0 {
		t.Fatalf("durable %d, %d fsyncs", l.DurableOffset(), l.fsyncs.Load())
	}
	if l.RecoveryPoint() != 0 {
		t.Fatalf("recovery point %d without a flush", l.RecoveryPoint())
	}
}

func TestWaitDurableCancelAndClose(t *testing.T) {
	_, l, _ := newLog(t, fsyncConfig())
	release := blockFirstSync(l)
	res := appendOK(t, l, spec{n: 1})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- l.WaitDurable(ctx, res.LastOffset+1) }()
	eventually(t, "the waiter", func() bool { return l.nWaiters.Load() == 1 })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled wait: %v", err)
	}
	go func() { done <- l.WaitDurable(context.Background(), 100) }() // beyond the log end
	eventually(t, "the waiter", func() bool { return l.nWaiters.Load() == 1 })
	release()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, ErrClosed) {
		t.Fatalf("wait beyond the end at close: %v", err)
	}
	if err := l.WaitDurable(context.Background(), 1); err != nil {
		t.Fatalf("offset made durable by Close: %v", err)
	}
}

func TestOnDurable(t *testing.T) {
	var mu sync.Mutex
	var seen []int64
	cfg := fsyncConfig()
	cfg.OnDurable = func(end int64) {
		mu.Lock()
		seen = append(seen, end)
		mu.Unlock()
	}
	_, l, _ := newLog(t, cfg)
	for i := 0; i < 20; i++ {
		appendOK(t, l, spec{n: 2})
	}
	eventually(t, "OnDurable(40)", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(seen) > 0 && seen[len(seen)-1] == 40
	})
	mu.Lock()
	defer mu.Unlock()
	for i := 1; i < len(seen); i++ {
		if seen[i] <= seen[i-1] {
			t.Fatalf("OnDurable values not increasing: %v", seen)
		}
	}
}

func TestPageCacheBackgroundFlush(t *testing.T) {
	t.Run("every flush.messages", func(t *testing.T) {
		cfg := testConfig()
		cfg.SegmentBytes = 1 << 20
		cfg.FlushMessages = 10
		_, l, _ := newLog(t, cfg)
		for i := 0; i < 4; i++ {
			appendOK(t, l, spec{n: 2})
		}
		if l.RecoveryPoint() != 0 {
			t.Fatalf("flushed after %d messages", l.LogEndOffset())
		}
		appendOK(t, l, spec{n: 2})
		eventually(t, "a flush at 10 messages", func() bool { return l.RecoveryPoint() == 10 })
	})
	t.Run("after flush.ms", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			cfg := testConfig()
			cfg.SegmentBytes = 1 << 20
			cfg.FlushMs = 1000
			_, l, _ := newLog(t, cfg)
			appendOK(t, l, spec{n: 2})
			time.Sleep(500 * time.Millisecond)
			synctest.Wait()
			if l.RecoveryPoint() != 0 {
				t.Fatal("flushed before flush.ms")
			}
			time.Sleep(600 * time.Millisecond)
			synctest.Wait()
			if l.RecoveryPoint() != 2 {
				t.Fatalf("recovery point %d after flush.ms", l.RecoveryPoint())
			}
		})
	})
	t.Run("at every roll", func(t *testing.T) {
		_, l, _ := newLog(t, testConfig())
		for l.NumSegments() < 3 {
			appendOK(t, l, spec{n: 1, value: 500})
		}
		active := (*l.segList.Load())[2].base
		eventually(t, "rolled segments to be flushed", func() bool { return l.RecoveryPoint() == active })
	})
}
