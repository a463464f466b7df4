//go:build !linux

package cgroup

import "os"

func readFile(path string) ([]byte, error) { return os.ReadFile(path) }

func writeFile(path, value string) error {
	if err := os.WriteFile(path, []byte(value), 0o644); err != nil {
		return writeError(path, value, err)
	}
	return nil
}
