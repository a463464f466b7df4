package engine

import (
	"context"
	"fmt"
	"io"
	"os"
	goruntime "runtime"
	"strings"

	"golang.org/x/sys/unix"

	image "berth/06-images"
	"berth/final/runtime"
)

// Version is berth's own version, and the Docker Engine API version its
// types follow.
const (
	EngineVersion = "0.8.0"
	APIVersion    = "1.41"
)

// Version describes this engine, as GET /version does.
func (e *Engine) Version() Version {
	v := Version{Version: EngineVersion, APIVersion: APIVersion, MinAPIVersion: "1.24",
		GoVersion: goruntime.Version(), Os: goruntime.GOOS, Arch: goruntime.GOARCH, KernelVersion: kernelVersion()}
	v.Platform.Name = "berth"
	return v
}

func kernelVersion() string {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return ""
	}
	return unix.ByteSliceToString(u.Release[:])
}

// Info describes the host and what the engine holds, as GET /info does.
func (e *Engine) Info(ctx context.Context) (Info, error) {
	in := Info{
		Driver: e.images.Snapshotter().Name(), DockerRootDir: e.root, CgroupDriver: "cgroupfs",
		KernelVersion: kernelVersion(), OSType: "linux", Architecture: goruntime.GOARCH,
		NCPU: goruntime.NumCPU(), MemTotal: int64(memTotal()), ServerVersion: EngineVersion,
		Runtimes: map[string]struct{ Path string }{"berth": {Path: "/proc/self/exe"}}, DefaultRuntime: "berth",
		SecurityOptions: []string{"name=seccomp,profile=unconfined"},
	}
	in.ContainerStart = "re-executed init (this kernel has no pidns key for proc, Linux 6.18, or forbids ptrace)"
	if runtime.DirectSupported() {
		in.ContainerStart = "direct, from a thread of the monitor (with -t or --init: re-executed init)"
	}
	in.Name, _ = os.Hostname()
	in.ID = strings.ToUpper(bootID())
	if l, err := hostLayout(); err == nil {
		in.CgroupVersion = "1"
		if l.Mode == "v2" {
			in.CgroupVersion = "2"
		}
	}
	if b, err := os.ReadFile("/etc/os-release"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "PRETTY_NAME="); ok {
				in.OperatingSystem = strings.Trim(v, `"`)
			}
		}
	}
	all, err := e.all()
	if err != nil {
		return in, err
	}
	for _, c := range all {
		st, err := e.status(c)
		if err != nil {
			return in, err
		}
		in.Containers++
		if st.Running {
			in.ContainersRunning++
		} else {
			in.ContainersStopped++
		}
	}
	imgs, err := e.images.List()
	if err != nil {
		return in, fmt.Errorf("engine: %w", err)
	}
	in.Images = len(imgs)
	return in, nil
}

// ImageImport makes an image of a root filesystem tarball, as docker
// import does (chapter 06's Import), and returns its ID.
func (e *Engine) ImageImport(ctx context.Context, r io.Reader, ref string, changes []string, message string) (string, error) {
	// The name may move off an image a container stands on: pin those first.
	if _, err := e.keepUsedImages(); err != nil {
		return "", err
	}
	img, err := image.Import(r, e.images, image.ImportOptions{Ref: ref, Changes: changes, Message: message})
	if err != nil {
		return "", err
	}
	return img.ID().String(), nil
}
