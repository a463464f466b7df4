//go:build !linux

package image

import (
	"fmt"
	"io"
	"runtime"
)

// Export needs Linux: overlay mounts and mount namespaces.
func Export(io.Writer, *Store, []string, string) error {
	return fmt.Errorf("image: exporting a container needs Linux (this is %s)", runtime.GOOS)
}
