package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	demo01 "berth/01-chroot/demo"
	demo02 "berth/02-namespaces/demo"
	demo03 "berth/03-cgroups/demo"
	demo04 "berth/04-unionfs/demo"
	demo05 "berth/05-network/demo"
	demo06 "berth/06-images/demo"
	demo07 "berth/final/demo"
	"berth/steps/host"
	"berth/steps/testkit"
	"berth/steps/testkit/narrate"
)

// chapter is one step of the course.
type chapter struct {
	N         int
	Slug      string // the package directory, e.g. "01-chroot"
	Title     string
	Mechanism string
	Doc       string
	Needs     []string // names of host checks that must not fail
	Issue     int      // the issue that writes a planned chapter
	Demo      func(context.Context, *narrate.Narrator) error
}

// chapters is the course, in order. A chapter without a demo is planned.
var chapters = []chapter{
	{N: 1, Slug: "01-chroot", Title: demo01.Title, Mechanism: "chroot(2), pivot_root(2), mount namespace",
		Doc: "docs/01-chroot.md", Needs: []string{"root", "busybox"}, Demo: demo01.Run},
	{N: 2, Slug: "02-namespaces", Title: demo02.Title, Mechanism: "clone(2), setns(2), user namespaces, PID 1",
		Doc: "docs/02-namespaces.md", Needs: []string{"root", "busybox"}, Demo: demo02.Run},
	{N: 3, Slug: "03-cgroups", Title: demo03.Title, Mechanism: "cgroupfs: memory, cpu, pids, cpuset",
		Doc: "docs/03-cgroups.md", Needs: []string{"root", "busybox", "cgroups"}, Demo: demo03.Run},
	{N: 4, Slug: "04-unionfs", Title: demo04.Title, Mechanism: "overlayfs, whiteouts, layer tarballs",
		Doc: "docs/04-unionfs.md", Needs: []string{"root", "busybox", "overlayfs"}, Demo: demo04.Run},
	{N: 5, Slug: "05-network", Title: demo05.Title, Mechanism: "veth, bridge, IPAM, NAT, published ports",
		Doc: "docs/05-network.md", Needs: []string{"root", "busybox", "veth+bridge", "iptables/nft"}, Demo: demo05.Run},
	{N: 6, Slug: "06-images", Title: demo06.Title, Mechanism: "OCI layout, digests, distribution API, docker save",
		Doc: "docs/06-images.md", Needs: []string{"root", "busybox", "overlayfs", "docker-registry"}, Demo: demo06.Run},
	{N: 7, Slug: "final", Title: demo07.Title, Mechanism: "every chapter together: run, ps, logs, exec, stop, rm",
		Doc: "docs/07-final.md", Needs: []string{"root", "busybox", "cgroups", "overlayfs", "veth+bridge", "iptables/nft"}, Demo: demo07.Run},
}

func (c chapter) ready() bool {
	if c.Demo == nil {
		return false
	}
	root, err := testkit.ModuleRoot()
	if err != nil {
		return false
	}
	_, err = os.Stat(filepath.Join(root, c.Slug))
	return err == nil
}

func (c chapter) status() string {
	if c.ready() {
		return "ready"
	}
	return "planned"
}

func findChapter(n int) (chapter, bool) {
	for _, c := range chapters {
		if c.N == n {
			return c, true
		}
	}
	return chapter{}, false
}

// chapterArg turns a command-line argument into a written chapter, or says
// why it cannot.
func chapterArg(arg string) (chapter, error) {
	n, err := strconv.Atoi(arg)
	if err != nil {
		return chapter{}, fmt.Errorf("%q is not a chapter number (try: steps list)", arg)
	}
	c, ok := findChapter(n)
	if !ok {
		return chapter{}, fmt.Errorf("there is no chapter %d (try: steps list)", n)
	}
	if !c.ready() {
		return chapter{}, fmt.Errorf("chapter %d (%s) is not written yet (issue %d)", n, c.Title, c.Issue)
	}
	return c, nil
}

// hostChecks runs the doctor's checks on this host.
func hostChecks() []host.Result {
	h := host.System()
	h.Busybox = testkit.FindBusybox
	return h.Check()
}

// runnable says whether the host passes the checks c needs, and if not,
// which check stops it. A failed check stops a chapter; so does a warning on
// a check that is not core, because those warn only when something is
// missing.
func runnable(c chapter, results []host.Result) (bool, string) {
	byName := map[string]host.Result{}
	for _, r := range results {
		byName[r.Name] = r
	}
	for _, need := range c.Needs {
		r, ok := byName[need]
		if ok && (r.Status == host.Fail || r.Status == host.Warn && !r.Core) {
			return false, need
		}
	}
	return true, ""
}
