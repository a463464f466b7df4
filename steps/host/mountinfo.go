package host

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// mount is one line of /proc/<pid>/mountinfo, described in proc(5):
//
//	36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
//	id parent dev root point options [optional...] - fstype source superoptions
type mount struct {
	ID, Parent   int
	Root         string   // the directory of the filesystem mounted here
	Point        string   // the mount point, relative to the process's root
	Options      string   // per-mount options, e.g. "rw,relatime"
	Optional     []string // propagation tags: "shared:N", "master:N", "propagate_from:N", "unbindable"
	FSType       string   // e.g. "cgroup2", "ext4"
	Source       string   // e.g. "/dev/vda", "cgroup"
	SuperOptions string   // per-superblock options; for cgroup v1 they name the controllers
}

func (h Host) mounts() ([]mount, error) {
	data, err := os.ReadFile(h.path("/proc/self/mountinfo"))
	if err != nil {
		return nil, fmt.Errorf("reading mountinfo: %w", err)
	}
	return parseMountinfo(string(data))
}

// parseMountinfo parses the whole of a mountinfo file. The file is read at
// once rather than with a bufio.Scanner because an overlay mount with many
// layers makes a line longer than the scanner's default limit.
func parseMountinfo(data string) ([]mount, error) {
	var mounts []mount
	for i, line := range strings.Split(data, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		m, err := parseMountinfoLine(line)
		if err != nil {
			return nil, fmt.Errorf("mountinfo line %d: %w", i+1, err)
		}
		mounts = append(mounts, m)
	}
	return mounts, nil
}

func parseMountinfoLine(line string) (mount, error) {
	// The kernel escapes space, tab, newline and backslash in paths as
	// octal (\040), so splitting on spaces is safe.
	fields := strings.Split(line, " ")
	// A lone "-" ends the optional fields, whose number varies.
	sep := -1
	for i := 6; i < len(fields); i++ {
		if fields[i] == "-" {
			sep = i
			break
		}
	}
	if len(fields) < 6 || sep < 0 || len(fields) < sep+4 {
		return mount{}, fmt.Errorf("malformed: %q", line)
	}
	id, err := strconv.Atoi(fields[0])
	if err != nil {
		return mount{}, fmt.Errorf("mount id %q: %w", fields[0], err)
	}
	parent, err := strconv.Atoi(fields[1])
	if err != nil {
		return mount{}, fmt.Errorf("parent id %q: %w", fields[1], err)
	}
	m := mount{
		ID:           id,
		Parent:       parent,
		Root:         unescapeOctal(fields[3]),
		Point:        unescapeOctal(fields[4]),
		Options:      fields[5],
		FSType:       fields[sep+1],
		Source:       unescapeOctal(fields[sep+2]),
		SuperOptions: fields[sep+3],
	}
	if sep > 6 {
		m.Optional = fields[6:sep]
	}
	return m, nil
}

// unescapeOctal undoes the kernel's mangling of paths (fs/seq_file.c
// mangle_path): a backslash followed by three octal digits is one byte.
func unescapeOctal(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && isOctal(s[i+1]) && isOctal(s[i+2]) && isOctal(s[i+3]) {
			b.WriteByte((s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0'))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }
