//go:build !arm

package storage

import "syscall"

// syncFileRange is sync_file_range(2).
func syncFileRange(fd int, off, n int64, flags int) error {
	return syscall.SyncFileRange(fd, off, n, flags)
}
