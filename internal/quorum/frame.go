package quorum

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"slices"

	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// Wire format of the TCP transport (drawn in doc.go): a connection opens with
// a hello naming the sender and the intended receiver, then carries frames of
// one raft message each.

const (
	helloMagic   = "SMQR"
	helloVersion = 1
	helloLen     = 21 // magic 4 | version 1 | from 8 | to 8
	frameHdrLen  = 8  // length u32 | crc32c u32
	readChunk    = 1 << 20
)

// IsRaftHello reports whether the first bytes of a connection are a raft
// hello, so one listener can carry both raft and the Kafka protocol (whose
// frames start with a size that can never be this large).
func IsRaftHello(first4 []byte) bool { return string(first4) == helloMagic }

func appendHello(dst []byte, from, to uint64) []byte {
	dst = append(dst, helloMagic...)
	dst = append(dst, helloVersion)
	dst = binary.LittleEndian.AppendUint64(dst, from)
	return binary.LittleEndian.AppendUint64(dst, to)
}

func parseHello(b []byte) (from, to uint64, err error) {
	if len(b) != helloLen || string(b[:4]) != helloMagic {
		return 0, 0, errors.New("not a samsa quorum connection")
	}
	if b[4] != helloVersion {
		return 0, 0, fmt.Errorf("unknown quorum protocol version %d", b[4])
	}
	return binary.LittleEndian.Uint64(b[5:]), binary.LittleEndian.Uint64(b[13:]), nil
}

// writeFrame marshals m and writes it as one frame.
func writeFrame(w *bufio.Writer, m *pb.Message, maxBytes int) error {
	b, err := proto.Marshal(m)
	if err != nil {
		return err
	}
	if len(b) > maxBytes {
		return fmt.Errorf("%s of %d bytes exceeds the %d-byte frame limit", m.GetType(), len(b), maxBytes)
	}
	var hdr [frameHdrLen]byte
	binary.LittleEndian.PutUint32(hdr[0:], uint32(len(b)))
	binary.LittleEndian.PutUint32(hdr[4:], crc32.Checksum(b, castagnoli))
	if _, err := w.Write(hdr[:]); err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// readFrame reads one frame and decodes its message. Memory grows with the
// bytes that actually arrive, never with the length a peer claims.
func readFrame(r io.Reader, maxBytes int) (*pb.Message, error) {
	var hdr [frameHdrLen]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := int(binary.LittleEndian.Uint32(hdr[0:]))
	if n > maxBytes {
		return nil, fmt.Errorf("frame of %d bytes exceeds the %d-byte limit", n, maxBytes)
	}
	buf := make([]byte, 0, min(n, readChunk))
	for len(buf) < n {
		k := min(n-len(buf), readChunk)
		buf = slices.Grow(buf, k)
		if _, err := io.ReadFull(r, buf[len(buf):len(buf)+k]); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		buf = buf[:len(buf)+k]
	}
	if got, want := binary.LittleEndian.Uint32(hdr[4:]), crc32.Checksum(buf, castagnoli); got != want {
		return nil, fmt.Errorf("frame crc mismatch: stored %#08x, computed %#08x", got, want)
	}
	m := &pb.Message{}
	if err := proto.Unmarshal(buf, m); err != nil {
		return nil, fmt.Errorf("decode raft message: %w", err)
	}
	return m, nil
}
