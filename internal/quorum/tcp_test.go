package quorum

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"slices"
	"testing"
	"time"

	pb "go.etcd.io/raft/v3/raftpb"
)

// tcpCluster binds a TCPTransport per node on 127.0.0.1, 127.0.0.2, … and
// starts the nodes over them, or skips the test if those addresses are
// missing.
func tcpCluster(t *testing.T, size int) *cluster {
	var voters []Voter
	bound := map[uint64]*TCPTransport{}
	for id := uint64(1); id <= uint64(size); id++ {
		ip := net.IPv4(127, 0, 0, byte(id)).String()
		tr, err := NewTCPTransport(TCPConfig{NodeID: id, ListenAddr: ip + ":0", Logger: testLogger(t)})
		if err != nil {
			for _, tr := range bound {
				tr.Stop()
			}
			t.Skipf("cannot listen on %s (%v): this test needs 127.0.0.1-%d on the loopback interface", ip, err, size)
		}
		bound[id] = tr
		voters = append(voters, Voter{ID: id, Addr: tr.Addr()})
	}
	newTr := func(id uint64) Transport {
		if tr := bound[id]; tr != nil {
			delete(bound, id)
			return tr
		}
		// A restarted node listens where it did before.
		tr, err := NewTCPTransport(TCPConfig{NodeID: id, ListenAddr: voters[id-1].Addr, Logger: testLogger(t)})
		if err != nil {
			t.Fatalf("relisten node %d: %v", id, err)
		}
		return tr
	}
	return startCluster(t, voters, newTr, func(cfg *Config) { cfg.TickInterval = 10 * time.Millisecond })
}

func TestTCPThreeVoters(t *testing.T) {
	c := tcpCluster(t, 3)
	old := c.waitLeader()
	proposeAll(t, c.nodes[old], []string{"one"})
	for _, id := range c.running() {
		c.waitValues(id, []string{"one"})
	}

	// Outgoing connections come from the sender's own address.
	tr := c.nodes[old].tr.(*TCPTransport)
	tr.mu.Lock()
	var remotes []string
	for conn := range tr.conns {
		host, _, _ := net.SplitHostPort(conn.RemoteAddr().String())
		remotes = append(remotes, host)
	}
	tr.mu.Unlock()
	for _, id := range c.others(old) {
		if want := net.IPv4(127, 0, 0, byte(id)).String(); !slices.Contains(remotes, want) {
			t.Errorf("leader's inbound connections come from %v, want one from node %d at %s", remotes, id, want)
		}
	}

	c.stop(old)
	lead := c.waitLeader()
	proposeAll(t, c.nodes[lead], []string{"two"})
	c.start(old)
	for _, id := range c.running() {
		c.waitValues(id, []string{"one", "two"})
	}
}

// recorder is a Handler that keeps what it is given.
type recorder struct{ msgs chan *pb.Message }

func (r *recorder) Deliver(m *pb.Message)       { r.msgs <- m }
func (r *recorder) ReportUnreachable(uint64)    {}
func (r *recorder) ReportSnapshot(uint64, bool) {}

func TestTCPRefusesStrangers(t *testing.T) {
	tr, err := NewTCPTransport(TCPConfig{NodeID: 1, ListenAddr: "127.0.0.1:0", Logger: testLogger(t)})
	if err != nil {
		t.Skipf("cannot listen on 127.0.0.1: %v", err)
	}
	defer tr.Stop()
	tr.AddPeer(2, "127.0.0.1:1") // known, never dialled: nothing is sent to it
	rec := &recorder{msgs: make(chan *pb.Message, 8)}
	if err := tr.Start(t.Context(), rec); err != nil {
		t.Fatal(err)
	}
	connect := func(from, to uint64) (net.Conn, *bufio.Writer) {
		conn, err := net.Dial("tcp", tr.Addr())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		w := bufio.NewWriter(conn)
		w.Write(appendHello(nil, from, to))
		w.Flush()
		return conn, w
	}
	closedByPeer := func(conn net.Conn) bool {
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err := conn.Read(make([]byte, 1))
		return errors.Is(err, io.EOF)
	}

	t.Run("a hello from an unknown node closes the connection", func(t *testing.T) {
		conn, _ := connect(99, 1)
		if !closedByPeer(conn) {
			t.Fatal("connection from node 99 stayed open")
		}
	})
	t.Run("a hello for another node closes the connection", func(t *testing.T) {
		conn, _ := connect(2, 5)
		if !closedByPeer(conn) {
			t.Fatal("connection addressed to node 5 stayed open")
		}
	})
	t.Run("only messages from the hello's node to this node are delivered", func(t *testing.T) {
		_, w := connect(2, 1)
		heartbeat := func(from, to uint64) *pb.Message {
			return &pb.Message{Type: pb.MsgHeartbeat.Enum(), From: new(from), To: new(to), Term: new(uint64(1))}
		}
		for _, m := range []*pb.Message{heartbeat(3, 1), heartbeat(2, 7), heartbeat(2, 1)} {
			if err := writeFrame(w, m, 1<<20); err != nil {
				t.Fatal(err)
			}
		}
		w.Flush()
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		select {
		case m := <-rec.msgs:
			if m.GetFrom() != 2 || m.GetTo() != 1 {
				t.Fatalf("delivered %v, want only the message from 2 to 1", m)
			}
		case <-ctx.Done():
			t.Fatal("the valid message was not delivered")
		}
		select {
		case m := <-rec.msgs:
			t.Fatalf("also delivered %v", m)
		default:
		}
	})
}

func TestFrameBoundsAllocation(t *testing.T) {
	t.Run("a claimed length over the limit is refused before reading", func(t *testing.T) {
		hdr := []byte{0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0}
		if _, err := readFrame(bytes.NewReader(hdr), 1<<20); err == nil {
			t.Fatal("accepted a 2 GiB frame with a 1 MiB limit")
		}
	})
	t.Run("a claimed length beyond the bytes sent ends in an error", func(t *testing.T) {
		hdr := []byte{0, 0, 0, 0x10, 0, 0, 0, 0, 1, 2, 3}
		if _, err := readFrame(bytes.NewReader(hdr), 1<<30); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("readFrame: %v, want io.ErrUnexpectedEOF", err)
		}
	})
	t.Run("a message survives the round trip", func(t *testing.T) {
		var buf bytes.Buffer
		w := bufio.NewWriter(&buf)
		m := &pb.Message{Type: pb.MsgApp.Enum(), From: new(uint64(2)), To: new(uint64(1)),
			Entries: []*pb.Entry{{Index: new(uint64(5)), Term: new(uint64(2)), Data: []byte("x")}}}
		if err := writeFrame(w, m, 1<<20); err != nil {
			t.Fatal(err)
		}
		w.Flush()
		got, err := readFrame(&buf, 1<<20)
		if err != nil || got.GetEntries()[0].GetIndex() != 5 || string(got.GetEntries()[0].GetData()) != "x" {
			t.Fatalf("round trip: %v, %v", got, err)
		}
	})
}

func FuzzReadFrame(f *testing.F) {
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	writeFrame(w, &pb.Message{Type: pb.MsgHeartbeat.Enum(), From: new(uint64(2)), To: new(uint64(1))}, 1<<20)
	w.Flush()
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := readFrame(bytes.NewReader(b), 1<<16)
		if err == nil && m == nil {
			t.Fatal("nil message without an error")
		}
	})
}
