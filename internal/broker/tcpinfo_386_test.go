package broker_test

import (
	"errors"
	"syscall"
)

// tcpInfo is not read on 386, where getsockopt is a socketcall the
// syscall package does not expose; the test that needs it fails there.
func tcpInfo(int) (syscall.TCPInfo, error) {
	return syscall.TCPInfo{}, errors.New("TCP_INFO is not read on 386")
}
