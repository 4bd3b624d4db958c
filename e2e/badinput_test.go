package e2e

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Bad input against the real binary: whatever arrives on a socket, the
// broker answers as Kafka would or closes that one connection, and keeps
// serving everyone else.

// rawHeader returns a request header (v1: key, version, correlation id,
// null client id) with no body.
func rawHeader(key, version int16) []byte {
	b := binary.BigEndian.AppendUint16(nil, uint16(key))
	b = binary.BigEndian.AppendUint16(b, uint16(version))
	b = binary.BigEndian.AppendUint32(b, 1)
	return binary.BigEndian.AppendUint16(b, 0xffff)
}

func TestBadInput(t *testing.T) {
	b := startBroker(t, withProps("request.timeout.ms", "2000"))
	createTopic(t, b.Admin(t), "bad", 1)

	t.Run("frame sizes out of bounds close the connection", func(t *testing.T) {
		for _, f := range []struct {
			size int32
			body []byte
		}{
			{-1, nil},
			{0, nil},
			{3, []byte{0, 18, 0}},
			{200 << 20, rawHeader(18, 0)}, // over socket.request.max.bytes
		} {
			c := dialRaw(t, b.Addr)
			c.write(append(sizePrefix(f.size), f.body...))
			c.expectClosed(5 * time.Second)
		}
	})

	t.Run("an unknown api key or version closes the connection", func(t *testing.T) {
		for _, h := range [][]byte{rawHeader(9999, 0), rawHeader(-2, 0), rawHeader(3, 99)} {
			c := dialRaw(t, b.Addr)
			c.write(append(sizePrefix(int32(len(h))), h...))
			c.expectClosed(5 * time.Second)
		}
	})

	t.Run("ApiVersions v99 gets UNSUPPORTED_VERSION and the connection stays", func(t *testing.T) {
		c := dialRaw(t, b.Addr)
		req := kmsg.NewPtrApiVersionsRequest()
		req.Version = 99
		req.ClientSoftwareName, req.ClientSoftwareVersion = "e2e", "1"
		c.write(c.frame(req))
		body, err := c.readFrame(5 * time.Second)
		if err != nil {
			t.Fatalf("no answer to ApiVersions v99: %v", err)
		}
		// KIP-511: the answer is in the v0 format, whatever was asked.
		resp := c.decode(&kmsg.ApiVersionsRequest{Version: 0}, body).(*kmsg.ApiVersionsResponse)
		if err := kerr.ErrorForCode(resp.ErrorCode); err != kerr.UnsupportedVersion {
			t.Errorf("ApiVersions v99 answered %v, want UNSUPPORTED_VERSION", err)
		}
		keys := map[int16]kmsg.ApiVersionsResponseApiKey{}
		for _, k := range resp.ApiKeys {
			keys[k.ApiKey] = k
		}
		for _, key := range []int16{0, 1, 3, 18} {
			if _, ok := keys[key]; !ok {
				t.Errorf("the UNSUPPORTED_VERSION answer does not list api key %d: %+v", key, resp.ApiKeys)
			}
		}
		if k := keys[18]; k.MaxVersion < 3 {
			t.Errorf("ApiVersions is listed up to v%d, want at least v3", k.MaxVersion)
		}
		again := kmsg.NewPtrApiVersionsRequest()
		again.Version = 3
		again.ClientSoftwareName, again.ClientSoftwareVersion = "e2e", "1"
		if r := c.roundTrip(again).(*kmsg.ApiVersionsResponse); r.ErrorCode != 0 || len(r.ApiKeys) == 0 {
			t.Errorf("ApiVersions v3 on the same connection: error %d, %d keys", r.ErrorCode, len(r.ApiKeys))
		}
	})

	t.Run("a corrupted CRC gets CORRUPT_MESSAGE and the connection stays", func(t *testing.T) {
		c := dialRaw(t, b.Addr)
		good := batch{producerID: -1, sequence: -1, timestamp: time.Now().UnixMilli(), values: []string{"one", "two"}}
		bad := good.encode()
		bad[len(bad)-1] ^= 0xff // a value byte, after the CRC was computed
		r := partitionResult(t, c.roundTrip(produceRequest("bad", 0, bad)).(*kmsg.ProduceResponse))
		if err := kerr.ErrorForCode(r.ErrorCode); err != kerr.CorruptMessage {
			t.Fatalf("a batch with a wrong CRC got %v, want CORRUPT_MESSAGE", err)
		}
		r = partitionResult(t, c.roundTrip(produceRequest("bad", 0, good.encode())).(*kmsg.ProduceResponse))
		if r.ErrorCode != 0 || r.BaseOffset != 0 {
			t.Fatalf("the good batch on the same connection: %v at offset %d; want it stored at 0", kerr.ErrorForCode(r.ErrorCode), r.BaseOffset)
		}
	})

	t.Run("a frame trickled in closes near request.timeout.ms", func(t *testing.T) {
		c := dialRaw(t, b.Addr)
		closed := make(chan time.Time, 1)
		go func() {
			var buf [1]byte
			c.conn.Read(buf[:]) // returns when the broker closes (or the test does)
			closed <- time.Now()
		}()
		began := time.Now()
		c.write(append(sizePrefix(1<<20), rawHeader(0, 9)...))
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case at := <-closed:
				took := at.Sub(began)
				t.Logf("closed %v after the first byte (request.timeout.ms=2000)", took.Round(time.Millisecond))
				if took < 1500*time.Millisecond || took > 10*time.Second {
					t.Errorf("the slow frame was cut off after %v; want about 2 s", took)
				}
				return
			case <-tick.C:
				if time.Since(began) > 20*time.Second {
					t.Fatal("the broker still waits for the frame after 20 s")
				}
				c.conn.SetWriteDeadline(time.Now().Add(time.Second))
				c.conn.Write([]byte{0}) // fails once the broker has closed
			}
		}
	})

	// After all of it, the broker is alive and serves a normal client.
	if !b.Alive() {
		t.Fatal("the broker process died")
	}
	cl := b.Client(t, kgo.DefaultProduceTopic("bad"))
	if err := cl.ProduceSync(testContext(t, 30*time.Second), &kgo.Record{Value: []byte("still fine")}).FirstErr(); err != nil {
		t.Fatalf("a normal producer after the bad input: %v", err)
	}
	recs := readAll(t, b, "bad")[0]
	if got := strings.Join(values(recs), ","); got != "one,two,still fine" {
		t.Errorf("partition bad/0 holds %q, want only the good records", got)
	}
}

// procStatus returns a field of /proc/<pid>/status in bytes ("VmRSS").
func procStatus(t *testing.T, pid int, field string) int64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("%s: %q", field, v)
			}
			return kb << 10
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}

// announceFrames opens n connections that each announce a frame of
// socket.request.max.bytes (100 MiB) and send only its first kilobyte,
// checks that the broker waits for the rest on every one, and returns the
// broker's RSS and virtual size before and after. The connections are
// closed on return.
func announceFrames(t *testing.T, b *Broker, n int) (rss, vm [2]int64) {
	t.Helper()
	pid := b.PID()
	rss[0], vm[0] = procStatus(t, pid, "VmRSS"), procStatus(t, pid, "VmSize")
	start := append(sizePrefix(100<<20), rawHeader(0, 9)...)
	start = append(start, make([]byte, 1024)...)
	var cs []*rawConn
	defer func() {
		for _, c := range cs {
			c.conn.Close()
		}
	}()
	for i := 0; i < n; i++ {
		c := dialRaw(t, b.Addr)
		c.write(start)
		cs = append(cs, c)
	}
	deadline := time.Now().Add(300 * time.Millisecond)
	for i, c := range cs {
		c.conn.SetReadDeadline(deadline)
		var buf [1]byte
		if n, err := c.conn.Read(buf[:]); n > 0 || !isTimeout(err) {
			t.Fatalf("connection %d: the broker did not wait for the rest of the frame: read %d bytes, %v", i, n, err)
		}
	}
	rss[1], vm[1] = procStatus(t, pid, "VmRSS"), procStatus(t, pid, "VmSize")
	const mib = 1 << 20
	t.Logf("%d frames of 100 MiB announced, 1 KiB of each sent: RSS %d → %d MiB (%+d), VmSize %d → %d MiB (%+d)",
		n, rss[0]/mib, rss[1]/mib, (rss[1]-rss[0])/mib, vm[0]/mib, vm[1]/mib, (vm[1]-vm[0])/mib)
	return rss, vm
}

// A broker that allocated frames by their announced size would need 10 GiB
// for 100 frames of 100 MiB; samsa's bodies grow as their bytes arrive.
func TestAnnouncedFramesCostOnlyWhatArrives(t *testing.T) {
	b := startBroker(t)
	if err := pingBroker(b.Addr); err != nil {
		t.Fatal(err)
	}
	rss, _ := announceFrames(t, b, 100)
	if grew := rss[1] - rss[0]; grew > 16<<20 {
		t.Errorf("RSS grew by %d MiB for 100 KiB received", grew>>20)
	}
	if !b.Alive() {
		t.Fatal("the broker process died")
	}
}

// The same on a heap that has been used: freed memory the runtime hands out
// again is zeroed, so any part of a buffer allocated ahead of the bytes
// becomes resident, where fresh pages from the kernel would not.
func TestAnnouncedFramesCostOnlyWhatArrivesOnAUsedHeap(t *testing.T) {
	b := startBroker(t)
	announceFrames(t, b, 100) // leaves freed buffers behind once closed
	waitUntil(t, 10*time.Second, "the broker serves after the first round", func() error { return pingBroker(b.Addr) })
	rss, _ := announceFrames(t, b, 100)
	if grew := rss[1] - rss[0]; grew > 16<<20 {
		t.Errorf("RSS grew by %d MiB for 100 KiB received", grew>>20)
	}
}
