package storage

import "syscall"

// syncFileRange is sync_file_range(2), which 32-bit ARM has as
// arm_sync_file_range (sync_file_range2): flags come second, so that each
// 64-bit argument starts at an even register, as the EABI passes them (low
// word first). The syscall package has no wrapper for it there.
func syncFileRange(fd int, off, n int64, flags int) error {
	_, _, errno := syscall.Syscall6(syscall.SYS_ARM_SYNC_FILE_RANGE, uintptr(fd), uintptr(flags),
		uintptr(off), uintptr(off>>32), uintptr(n), uintptr(n>>32))
	if errno != 0 {
		return errno
	}
	return nil
}
