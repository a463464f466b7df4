package runtime

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// passwdEntry is a line of /etc/passwd: name:password:uid:gid:gecos:home:shell.
type passwdEntry struct {
	name     string
	uid, gid uint32
	home     string
}

// groupEntry is a line of /etc/group: name:password:gid:member,member.
type groupEntry struct {
	name    string
	gid     uint32
	members []string
}

// ResolveUser turns Docker's --user value into the ids the container's
// process runs as, reading the image's /etc/passwd and /etc/group inside
// rootfs (the host path of the mounted root). It accepts "" (root), "name",
// "uid", "name:group", "uid:gid" and mixes of those. A numeric uid or gid
// need not exist in the files; a name must. The additional groups are the
// primary group and every group that lists the user as a member (only the
// named group when a group is given). home is the user's home directory
// from passwd, "/" if there is none: the engine sets HOME from it when the
// image does not.
//
// The files are resolved inside rootfs: a link such as /etc/passwd ->
// /host/etc/passwd is followed as if rootfs were /, never out of it.
func ResolveUser(rootfs, user string) (specs.User, string, error) {
	userPart, groupPart, hasGroup := strings.Cut(user, ":")
	if hasGroup && groupPart == "" {
		return specs.User{}, "", fmt.Errorf("runtime: invalid user %q: empty group after ':'", user)
	}
	if userPart == "" && hasGroup {
		return specs.User{}, "", fmt.Errorf("runtime: invalid user %q: empty user before ':'", user)
	}

	users, err := readPasswd(rootfs)
	if err != nil {
		return specs.User{}, "", err
	}
	u := specs.User{}
	home := "/"
	var entry *passwdEntry
	uid, numeric := parseID(userPart)
	switch {
	case userPart == "":
		// No user: root, with root's home and groups if passwd has them.
		entry = findUser(users, func(e passwdEntry) bool { return e.uid == 0 })
	case numeric:
		u.UID = uid
		entry = findUser(users, func(e passwdEntry) bool { return e.uid == uid })
	default:
		entry = findUser(users, func(e passwdEntry) bool { return e.name == userPart })
		if entry == nil {
			return specs.User{}, "", fmt.Errorf("runtime: unable to find user %s: no matching entries in passwd file", userPart)
		}
	}
	if entry != nil {
		u.UID, u.GID = entry.uid, entry.gid
		if entry.home != "" {
			home = entry.home
		}
	}
	// A name that is also a number ("1000") is a uid, as for Docker; a
	// numeric uid keeps its value even if passwd maps a name to it.
	if numeric {
		u.UID = uid
	}

	groups, err := readGroup(rootfs)
	if err != nil {
		return specs.User{}, "", err
	}
	if hasGroup {
		gid, numeric := parseID(groupPart)
		if !numeric {
			g := findGroup(groups, func(g groupEntry) bool { return g.name == groupPart })
			if g == nil {
				return specs.User{}, "", fmt.Errorf("runtime: unable to find group %s: no matching entries in group file", groupPart)
			}
			gid = g.gid
		}
		u.GID = gid
		u.AdditionalGids = []uint32{gid}
		return u, home, nil
	}
	u.AdditionalGids = []uint32{u.GID}
	if entry != nil {
		for _, g := range groups {
			for _, m := range g.members {
				if m == entry.name && !containsID(u.AdditionalGids, g.gid) {
					u.AdditionalGids = append(u.AdditionalGids, g.gid)
				}
			}
		}
	}
	return u, home, nil
}

// parseID reads a uid or gid; ok is false for anything but a number in
// range (a name).
func parseID(s string) (uint32, bool) {
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil || n == 1<<32-1 { // (uid_t)-1 means "unchanged" to setuid(2)
		return 0, false
	}
	return uint32(n), true
}

func containsID(ids []uint32, id uint32) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

func findUser(users []passwdEntry, match func(passwdEntry) bool) *passwdEntry {
	for i := range users {
		if match(users[i]) {
			return &users[i]
		}
	}
	return nil
}

func findGroup(groups []groupEntry, match func(groupEntry) bool) *groupEntry {
	for i := range groups {
		if match(groups[i]) {
			return &groups[i]
		}
	}
	return nil
}

// maxDatabase caps what is read of passwd or group: they are small, and a
// hostile image could make them huge (or /dev/zero).
const maxDatabase = 4 << 20

// readDatabase returns the colon-separated records of /etc/<name> inside
// rootfs, or none if the image has no such file.
func readDatabase(rootfs, name string) ([][]string, error) {
	f, err := openInRoot(rootfs, "/etc/"+name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("runtime: reading the image's /etc/%s: %w", name, err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("runtime: the image's /etc/%s is not a regular file", name)
	}
	var out [][]string
	sc := bufio.NewScanner(io.LimitReader(f, maxDatabase))
	sc.Buffer(make([]byte, 0, 4096), 64*1024)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		out = append(out, strings.Split(line, ":"))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("runtime: reading the image's /etc/%s: %w", name, err)
	}
	return out, nil
}

func readPasswd(rootfs string) ([]passwdEntry, error) {
	recs, err := readDatabase(rootfs, "passwd")
	var out []passwdEntry
	for _, r := range recs {
		if len(r) < 4 {
			continue // malformed: skipped, as libc does
		}
		uid, ok1 := parseID(r[2])
		gid, ok2 := parseID(r[3])
		if !ok1 || !ok2 {
			continue
		}
		e := passwdEntry{name: r[0], uid: uid, gid: gid}
		if len(r) > 5 {
			e.home = r[5]
		}
		out = append(out, e)
	}
	return out, err
}

func readGroup(rootfs string) ([]groupEntry, error) {
	recs, err := readDatabase(rootfs, "group")
	var out []groupEntry
	for _, r := range recs {
		if len(r) < 3 {
			continue
		}
		gid, ok := parseID(r[2])
		if !ok {
			continue
		}
		g := groupEntry{name: r[0], gid: gid}
		if len(r) > 3 && r[3] != "" {
			for _, m := range strings.Split(r[3], ",") {
				g.members = append(g.members, strings.TrimSpace(m))
			}
		}
		out = append(out, g)
	}
	return out, err
}
