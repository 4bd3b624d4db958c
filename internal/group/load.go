package group

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/record"
)

// load reads the partition's log from its start to the high watermark,
// rebuilds its groups and offsets, and starts serving them. Bad bytes are
// skipped with a warning, never trusted and never fatal: a batch that fails
// its CRC or does not decompress, a record whose key or value does not
// parse, a record type or value version newer than this coordinator knows.
func (p *partition) load() {
	c := p.c
	start := time.Now()
	st := &loadState{groups: map[string]*kmsg.GroupMetadataValue{}, offsets: map[string]map[tp]loaded{}, txns: map[int64]map[gtp]loaded{}}
	off := p.log.LogStartOffset()
	for p.ctx.Err() == nil && off < p.log.LoadEnd() {
		data, err := p.log.Read(off, c.cfg.Group.OffsetsLoadBufferSize)
		if err != nil {
			c.log.Warn("cannot read __consumer_offsets; retrying", "partition", p.id, "offset", off, "err", err)
			select {
			case <-p.ctx.Done():
			case <-time.After(time.Second):
			}
			continue
		}
		if len(data) == 0 {
			break
		}
		next := st.batches(data, off)
		if next <= off {
			c.log.Error("__consumer_offsets does not advance past a batch; loaded what came before",
				"partition", p.id, "offset", off)
			break
		}
		off = next
	}
	if p.ctx.Err() != nil {
		return
	}
	now := c.now()
	groups := st.build(c.rules, now)
	if !p.install(groups) {
		return
	}
	for _, a := range p.actors() {
		a.post(func(g *group, now int64) { g.onLoaded(now) })
	}
	p.ready.Store(true)
	if st.skipped > 0 {
		c.log.Warn("skipped unreadable or unknown records while loading __consumer_offsets",
			"partition", p.id, "records", st.skipped, "first_err", st.firstErr)
	}
	c.log.Info("loaded group coordinator partition", "partition", p.id, "groups", len(groups),
		"offsets", st.numOffsets, "end_offset", off, "elapsed", time.Since(start).Round(time.Millisecond))
}

// gtp is a group's partition, the key of an offset while loading.
type gtp struct {
	group string
	tp    tp
}

// loaded is an offset read from the log, with the base offset of the batch
// that held it: a transactional commit applies only over an older one.
type loaded struct {
	o  offset
	at int64
}

// loadState is what the records read so far say.
type loadState struct {
	groups     map[string]*kmsg.GroupMetadataValue // latest metadata per group
	offsets    map[string]map[tp]loaded            // latest offset per group and partition
	txns       map[int64]map[gtp]loaded            // transactional commits awaiting their marker, per producer id
	numOffsets int
	skipped    int
	firstErr   error
}

func (st *loadState) skip(err error) {
	st.skipped++
	if st.firstErr == nil {
		st.firstErr = err
	}
}

// batches applies the batches in data, whose first batch holds offset from
// (records before from are skipped), and returns the offset to read next.
func (st *loadState) batches(data []byte, from int64) int64 {
	next := from
	for len(data) > 0 {
		h, err := record.ParseHeader(data)
		if err != nil || h.Size() > int64(len(data)) || h.Size() < record.LogOverhead {
			return next // an incomplete batch at the end: read it again from its start
		}
		batch := data[:h.Size()]
		data = data[h.Size():]
		switch {
		case h.Magic != 2:
			st.skip(fmt.Errorf("batch at offset %d has magic %d", h.BaseOffset, h.Magic))
			next = max(next, h.BaseOffset+1)
			continue
		case h.Size() < record.HeaderSize || record.ComputeCRC(batch) != h.CRC:
			st.skip(fmt.Errorf("batch at offset %d fails its CRC", h.BaseOffset))
		case h.Control():
			st.control(batch, h)
		default:
			if err := st.records(batch, h, from); err != nil {
				st.skip(fmt.Errorf("batch at offset %d: %w", h.BaseOffset, err))
			}
		}
		next = max(next, h.NextOffset())
	}
	return next
}

// control applies a transaction marker to the producer's pending commits.
func (st *loadState) control(batch []byte, h record.Header) {
	m, err := record.ParseEndTxnMarker(batch)
	if err != nil {
		st.skip(fmt.Errorf("control batch at offset %d: %w", h.BaseOffset, err))
		return
	}
	pending := st.txns[m.ProducerID]
	delete(st.txns, m.ProducerID)
	if !m.Commit {
		return
	}
	for k, l := range pending {
		if cur, ok := st.offsets[k.group][k.tp]; !ok || cur.at < l.at {
			st.putOffset(k, l)
		}
	}
}

// records applies the records of a data batch.
func (st *loadState) records(batch []byte, h record.Header, from int64) error {
	section := batch[record.HeaderSize:]
	var r record.Record
	apply := func() {
		if h.BaseOffset+int64(r.OffsetDelta) >= from {
			st.record(&r, h)
		}
	}
	if h.Codec() == record.CodecNone {
		it := record.NewIter(section, h.NumRecords)
		for it.Next(&r) {
			apply()
		}
		return it.Err()
	}
	dr, err := record.NewDecompressReader(h.Codec(), section, record.DefaultDecompressLimit)
	if err != nil {
		return err
	}
	defer dr.Release()
	rd := record.NewReader(dr, h.NumRecords, record.DefaultDecompressLimit)
	defer rd.Release()
	for rd.Next(&r) {
		apply()
	}
	return rd.Err()
}

var errNullKey = errors.New("record without a key")

// record applies one record. Values are copied: a record's bytes belong to
// the read buffer (or the decompressor's).
func (st *loadState) record(r *record.Record, h record.Header) {
	if r.Key == nil {
		st.skip(errNullKey)
		return
	}
	k, err := decodeKey(r.Key)
	if err != nil {
		st.skip(err)
		return
	}
	switch k.kind {
	case keyOther:
		st.skip(fmt.Errorf("record key version %d (a newer group type)", int16(r.Key[0])<<8|int16(r.Key[1])))
	case keyGroup:
		if r.Value == nil {
			delete(st.groups, k.group)
			return
		}
		v, err := decodeGroupValue(bytes.Clone(r.Value))
		if err != nil {
			st.skip(err)
			return
		}
		st.groups[k.group] = v
	case keyOffset:
		key := gtp{k.group, k.tp}
		var pending map[gtp]loaded
		if h.Transactional() {
			if pending = st.txns[h.ProducerID]; pending == nil {
				pending = map[gtp]loaded{}
				st.txns[h.ProducerID] = pending
			}
		}
		if r.Value == nil {
			if pending != nil {
				delete(pending, key)
			} else if offs := st.offsets[k.group]; offs != nil {
				if _, ok := offs[k.tp]; ok {
					delete(offs, k.tp)
					st.numOffsets--
				}
			}
			return
		}
		o, err := decodeOffsetValue(r.Value)
		if err != nil {
			st.skip(err)
			return
		}
		l := loaded{o: o, at: h.BaseOffset}
		if pending != nil {
			pending[key] = l
		} else {
			st.putOffset(key, l)
		}
	}
}

func (st *loadState) putOffset(k gtp, l loaded) {
	offs := st.offsets[k.group]
	if offs == nil {
		offs = map[tp]loaded{}
		st.offsets[k.group] = offs
	}
	if _, ok := offs[k.tp]; !ok {
		st.numOffsets++
	}
	offs[k.tp] = l
}

// build turns what was read into groups. Groups with metadata come back as
// written (Stable with their members, or Empty); groups with offsets only
// are Empty groups without a protocol type. Transactional commits whose
// marker never came are dropped.
func (st *loadState) build(r *rules, now int64) []*group {
	out := make([]*group, 0, len(st.groups)+len(st.offsets))
	for id, v := range st.groups {
		out = append(out, groupFromValue(id, v, r, now))
	}
	for id, offs := range st.offsets {
		if _, ok := st.groups[id]; !ok && len(offs) > 0 {
			out = append(out, newGroup(id, r, now))
		}
	}
	for _, g := range out {
		for t, l := range st.offsets[g.id] {
			o := l.o
			g.offsets[t] = &o
		}
	}
	return out
}

// groupFromValue rebuilds a group from its latest GroupMetadata record:
// Stable with its members and their assignments, or Empty. Members'
// sessions start now. A record that cannot be right (members without a
// protocol, repeated member or instance ids) loses what is wrong in it.
func groupFromValue(id string, v *kmsg.GroupMetadataValue, r *rules, now int64) *group {
	g := newGroup(id, r, now)
	g.persisted = true
	g.generation, g.protoType, g.stateTime = v.Generation, v.ProtocolType, v.CurrentStateTimestamp
	if v.Version < 2 {
		g.stateTime = -1
	}
	if len(v.Members) > 0 && v.Protocol == nil {
		r.log.Warn("group metadata has members but no protocol; loading the group empty", "group", id)
		v.Members = nil
	}
	for i := range v.Members {
		vm := &v.Members[i]
		if _, dup := g.members[vm.MemberID]; dup || vm.MemberID == "" {
			continue
		}
		if vm.InstanceID != nil {
			if _, dup := g.static[*vm.InstanceID]; dup {
				continue
			}
		}
		m := &member{
			id:           vm.MemberID,
			instanceID:   vm.InstanceID,
			clientID:     vm.ClientID,
			clientHost:   vm.ClientHost,
			rebalanceMs:  vm.RebalanceTimeoutMillis,
			sessionMs:    vm.SessionTimeoutMillis,
			protocolType: v.ProtocolType,
			protocols:    []protocol{{name: *v.Protocol, metadata: vm.Subscription}},
			assignment:   vm.Assignment,
			deadline:     now + int64(vm.SessionTimeoutMillis),
		}
		if v.Version == 0 {
			m.rebalanceMs = m.sessionMs
		}
		g.add(m)
	}
	if len(g.members) > 0 {
		g.protocol = v.Protocol
		if v.Leader != nil && g.members[*v.Leader] != nil {
			g.leader = *v.Leader
		}
		g.state = stateStable
	}
	g.computeSubscribed()
	return g
}

// onLoaded starts a loaded group: members' sessions run from now, and a
// group larger than group.max.size rebalances so that the members beyond
// it are turned away (they may commit until then).
func (g *group) onLoaded(now int64) {
	for _, m := range g.order {
		m.deadline = now + int64(m.sessionMs)
	}
	if len(g.members) > int(g.rules.maxSize) {
		g.rules.log.Info("loaded group is larger than group.max.size; rebalancing", "group", g.id,
			"members", len(g.members), "max", g.rules.maxSize)
		g.prepareRebalance(now)
	}
}
