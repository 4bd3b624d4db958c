//go:build !unix

package quorum

import (
	"os"
	"path/filepath"
)

// lockDir opens dir/LOCK; without flock it cannot exclude a second writer.
func lockDir(dir string) (*os.File, error) {
	return os.OpenFile(filepath.Join(dir, "LOCK"), os.O_RDWR|os.O_CREATE, 0o644)
}
