//go:build !386

package broker_test

import (
	"syscall"
	"unsafe"
)

// tcpInfo reads a socket's TCP_INFO (the syscall package has no
// getsockopt for it).
func tcpInfo(fd int) (syscall.TCPInfo, error) {
	var info syscall.TCPInfo
	size := uint32(unsafe.Sizeof(info))
	_, _, errno := syscall.Syscall6(syscall.SYS_GETSOCKOPT, uintptr(fd), syscall.IPPROTO_TCP, syscall.TCP_INFO,
		uintptr(unsafe.Pointer(&info)), uintptr(unsafe.Pointer(&size)), 0)
	if errno != 0 {
		return info, errno
	}
	return info, nil
}
