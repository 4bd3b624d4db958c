package api

import (
	"container/list"
	"sync"
	"time"

	"github.com/samsa-io/samsa/internal/metadata"
)

// Incremental fetch sessions (KIP-227). A client that opens a session sends
// its full partition list once; afterwards it sends only changes, and the
// broker answers only partitions that have news (records, or a changed high
// watermark, log start offset or error). The broker keeps, per session, the
// partitions in fetch order with their fetch position and what it last told
// the client.

// Session epochs with special meaning.
const (
	initialEpoch int32 = 0  // open a new session
	finalEpoch   int32 = -1 // no session / close the session
)

// sessionKey identifies a partition within a session: by topic id from
// Fetch v13 on, by name before.
type sessionKey struct {
	topic   string
	topicID metadata.UUID
	part    int32
}

// sessionPartition is what a session remembers of one partition.
type sessionPartition struct {
	key sessionKey

	// What the client asked for, last time it said.
	fetchOffset        int64
	currentLeaderEpoch int32
	lastFetchedEpoch   int32
	logStartOffset     int64
	maxBytes           int32

	// What the client was last told, to decide whether there is news.
	highWatermark    int64
	lastStableOffset int64
	respLogStart     int64
	errorCode        int16
	told             bool
}

// fetchSession is one client's session.
type fetchSession struct {
	id int32

	mu         sync.Mutex          // guards the fields below; held briefly, never across a wait
	epoch      int32               // the epoch the next request must carry
	partitions []*sessionPartition // in fetch order
	index      map[sessionKey]*sessionPartition
	lastUsed   time.Time     // guarded by fetchSessions.mu
	elem       *list.Element // position in the LRU list; guarded by fetchSessions.mu
}

// fetchSessions is the broker's session cache, bounded by
// max.incremental.fetch.session.cache.slots; when full, the least recently
// used session idle for longer than the eviction time is replaced.
type fetchSessions struct {
	mu       sync.Mutex // guards everything below
	max      int
	nextID   int32
	sessions map[int32]*fetchSession
	lru      *list.List // front = most recently used
	now      func() time.Time
}

// evictAfter is how long a session must be idle before a new one may take
// its slot (Kafka's min.incremental.fetch.session.eviction.ms).
const evictAfter = 2 * time.Minute

func newFetchSessions(max int) *fetchSessions {
	if max <= 0 {
		max = 1000
	}
	return &fetchSessions{max: max, sessions: map[int32]*fetchSession{}, lru: list.New(), now: time.Now}
}

// create opens a session, or returns nil when the cache is full of busy
// sessions (the client then fetches without one, as Kafka allows).
func (s *fetchSessions) create() *fetchSession {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if len(s.sessions) >= s.max {
		back := s.lru.Back()
		if back == nil || now.Sub(back.Value.(*fetchSession).lastUsed) < evictAfter {
			return nil
		}
		s.removeLocked(back.Value.(*fetchSession))
	}
	for {
		s.nextID++
		if s.nextID <= 0 {
			s.nextID = 1
		}
		if _, taken := s.sessions[s.nextID]; !taken {
			break
		}
	}
	fs := &fetchSession{id: s.nextID, epoch: 1, index: map[sessionKey]*sessionPartition{}, lastUsed: now}
	fs.elem = s.lru.PushFront(fs)
	s.sessions[fs.id] = fs
	return fs
}

// get returns a session and marks it used.
func (s *fetchSessions) get(id int32) *fetchSession {
	s.mu.Lock()
	defer s.mu.Unlock()
	fs := s.sessions[id]
	if fs != nil {
		fs.lastUsed = s.now()
		s.lru.MoveToFront(fs.elem)
	}
	return fs
}

func (s *fetchSessions) remove(id int32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if fs := s.sessions[id]; fs != nil {
		s.removeLocked(fs)
	}
}

func (s *fetchSessions) removeLocked(fs *fetchSession) {
	delete(s.sessions, fs.id)
	s.lru.Remove(fs.elem)
}

// upsert adds a partition to the session or updates what the client asked.
func (fs *fetchSession) upsert(sp sessionPartition) *sessionPartition {
	if cur, ok := fs.index[sp.key]; ok {
		cur.fetchOffset, cur.currentLeaderEpoch = sp.fetchOffset, sp.currentLeaderEpoch
		cur.lastFetchedEpoch, cur.logStartOffset, cur.maxBytes = sp.lastFetchedEpoch, sp.logStartOffset, sp.maxBytes
		return cur
	}
	p := sp
	fs.partitions = append(fs.partitions, &p)
	fs.index[p.key] = &p
	return &p
}

// moveToBack moves the partitions that returned records to the end of the
// session's fetch order, keeping the others' order, as Kafka's sessions do:
// the next fetch reads the partitions that got nothing first, so one with a
// backlog larger than max_bytes does not starve those after it. A nil
// session does nothing.
func (fs *fetchSession) moveToBack(served []*sessionPartition) {
	if fs == nil || len(served) == 0 {
		return
	}
	moved := make(map[*sessionPartition]bool, len(served))
	for _, p := range served {
		moved[p] = true
	}
	kept := fs.partitions[:0:0]
	for _, p := range fs.partitions {
		if !moved[p] {
			kept = append(kept, p)
		}
	}
	fs.partitions = append(kept, served...)
}

// forget removes a partition from the session.
func (fs *fetchSession) forget(k sessionKey) {
	if _, ok := fs.index[k]; !ok {
		return
	}
	delete(fs.index, k)
	for i, p := range fs.partitions {
		if p.key == k {
			fs.partitions = append(fs.partitions[:i], fs.partitions[i+1:]...)
			break
		}
	}
}
