// Command berth-probe prints, as JSON, what it sees of its environment. The
// test kit copies it into a rootfs and runs it inside a container; the test
// then checks the report. It is static, so it needs nothing from the rootfs.
//
// `berth-probe udp-echo PORT` instead answers every UDP datagram on PORT
// with "echo from ADDR: " and the datagram, where ADDR is the sender as the
// container sees it: busybox's nc cannot serve UDP.
package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os"

	"berth/steps/testkit/probe"
)

func main() {
	if len(os.Args) == 3 && os.Args[1] == "udp-echo" {
		if err := udpEcho(os.Args[2]); err != nil {
			fmt.Fprintln(os.Stderr, "berth-probe:", err)
			os.Exit(1)
		}
		return
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(probe.Collect()); err != nil {
		fmt.Fprintln(os.Stderr, "berth-probe:", err)
		os.Exit(1)
	}
}

func udpEcho(port string) error {
	c, err := net.ListenPacket("udp4", ":"+port)
	if err != nil {
		return err
	}
	fmt.Println("listening on udp", c.LocalAddr())
	buf := make([]byte, 64<<10)
	for {
		n, from, err := c.ReadFrom(buf)
		if err != nil {
			return err
		}
		fmt.Printf("got %q from %s\n", buf[:n], from)
		if _, err := c.WriteTo(append([]byte("echo from "+from.String()+": "), buf[:n]...), from); err != nil {
			return err
		}
	}
}
