package server

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
)

// errShortFile means the file ended before the region did: the segment was
// truncated under the reader. The frame can no longer be completed, so the
// connection must close.
var errShortFile = errors.New("log data shorter than announced")

// rawTCP is implemented by connection wrappers whose writes may go straight
// to a TCP socket (a listener that peeked at the first bytes, say), so
// sendfile may write to that socket; they return nil when they cannot (the
// wrapped connection speaks TLS). A TLS connection must never implement it.
type rawTCP interface{ RawTCPConn() *net.TCPConn }

// sendFile writes size bytes of f starting at pos to nc. On TCP it uses
// sendfile(2) with an explicit offset, which leaves f's file position alone
// (net.TCPConn.ReadFrom would use and move it, racing with other readers of
// the same segment). Other connections fall back to a copy.
func sendFile(nc net.Conn, f *os.File, pos, size int64) error {
	tc, ok := nc.(*net.TCPConn)
	if rw, isWrapped := nc.(rawTCP); isWrapped {
		tc = rw.RawTCPConn()
		ok = tc != nil
	}
	if !ok {
		n, err := io.Copy(nc, io.NewSectionReader(f, pos, size))
		if err == nil && n < size {
			err = errShortFile
		}
		return err
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return err
	}
	src := int(f.Fd())
	var serr error
	err = rc.Write(func(dst uintptr) bool {
		for size > 0 {
			n, err := syscall.Sendfile(int(dst), src, &pos, int(min(size, 1<<30)))
			if n > 0 {
				size -= int64(n)
			}
			switch {
			case errors.Is(err, syscall.EAGAIN):
				return false // wait until the socket is writable
			case errors.Is(err, syscall.EINTR):
				continue
			case err != nil:
				serr = fmt.Errorf("sendfile: %w", err)
				return true
			case n == 0:
				serr = errShortFile
				return true
			}
		}
		return true
	})
	if err != nil {
		return err
	}
	return serr
}
