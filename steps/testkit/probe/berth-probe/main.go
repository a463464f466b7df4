// Command berth-probe prints, as JSON, what it sees of its environment. The
// test kit copies it into a rootfs and runs it inside a container; the test
// then checks the report. It is static, so it needs nothing from the rootfs.
package main

import (
	"encoding/json"
	"fmt"
	"os"

	"berth/steps/testkit/probe"
)

func main() {
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(probe.Collect()); err != nil {
		fmt.Fprintln(os.Stderr, "berth-probe:", err)
		os.Exit(1)
	}
}
