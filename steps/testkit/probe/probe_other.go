//go:build !linux

package probe

import "errors"

func nsInode(string) (uint64, error) { return 0, errors.New("probe: namespaces are a Linux feature") }
