package network

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"sort"

	"golang.org/x/sys/unix"
)

// IPAM hands out a network's addresses, one per owner (a container), and
// records them in a file per network under its directory.
//
// Several processes may allocate at once: each change happens under an
// exclusive flock(2) of the network's lock file, which the kernel
// releases when its holder dies, so a killed process never leaves the
// allocator locked. The record is replaced by rename(2), so a crash
// leaves either the old record or the new one, never half of one. An
// address whose owner died before releasing it stays taken, so it cannot
// be handed out twice, until Reclaim returns it.
type IPAM struct{ dir string }

// NewIPAM keeps its records in dir.
func NewIPAM(dir string) *IPAM { return &IPAM{dir: dir} }

// pool is a network's record.
type pool struct {
	Subnet netip.Prefix          `json:"subnet"`
	Last   netip.Addr            `json:"last,omitzero"` // the last address handed out
	Owners map[netip.Addr]string `json:"owners"`        // address -> owner
}

// Allocate gives owner an address of subnet on network: the address it
// already holds, or the next free one after the last handed out, so a
// released address is not reused at once.
func (a *IPAM) Allocate(network string, subnet netip.Prefix, owner string) (netip.Addr, error) {
	var got netip.Addr
	err := a.update(network, func(p *pool) (bool, error) {
		if p.Subnet.IsValid() && p.Subnet != subnet {
			return false, fmt.Errorf("network: %s's allocations are for %s, not %s", network, p.Subnet, subnet)
		}
		p.Subnet = subnet
		for ip, o := range p.Owners {
			if o == owner {
				got = ip
				return false, nil
			}
		}
		start := p.Last
		if !start.IsValid() || !subnet.Contains(start) {
			start = Gateway(subnet)
		}
		for ip := next(subnet, start); ; ip = next(subnet, ip) {
			if _, taken := p.Owners[ip]; !taken && usable(subnet, ip) {
				got = ip
				break
			}
			if ip == start {
				return false, fmt.Errorf("network: %s (%s) has %d containers: %w", network, subnet, len(p.Owners), ErrAddressesUsedUp)
			}
		}
		p.Owners[got] = owner
		p.Last = got
		return true, nil
	})
	return got, err
}

// next is the address after ip, wrapping round to the start of subnet.
func next(subnet netip.Prefix, ip netip.Addr) netip.Addr {
	n := ip.Next()
	if !subnet.Contains(n) {
		return subnet.Addr()
	}
	return n
}

// Release returns owner's address on network, if it holds one.
func (a *IPAM) Release(network, owner string) error {
	return a.update(network, func(p *pool) (bool, error) {
		changed := false
		for ip, o := range p.Owners {
			if o == owner {
				delete(p.Owners, ip)
				changed = true
			}
		}
		return changed, nil
	})
}

// Reclaim releases every address on network whose owner keep rejects:
// the recovery after a crash, once the caller knows which owners still
// exist. It returns the addresses freed.
func (a *IPAM) Reclaim(network string, keep func(owner string) bool) ([]netip.Addr, error) {
	var freed []netip.Addr
	err := a.update(network, func(p *pool) (bool, error) {
		for ip, o := range p.Owners {
			if !keep(o) {
				delete(p.Owners, ip)
				freed = append(freed, ip)
			}
		}
		return len(freed) > 0, nil
	})
	sort.Slice(freed, func(i, j int) bool { return freed[i].Less(freed[j]) })
	return freed, err
}

// Allocations lists network's addresses and their owners.
func (a *IPAM) Allocations(network string) (map[netip.Addr]string, error) {
	var out map[netip.Addr]string
	err := a.update(network, func(p *pool) (bool, error) {
		out = p.Owners
		return false, nil
	})
	return out, err
}

// Drop forgets network's record: the network is gone.
func (a *IPAM) Drop(network string) error {
	for _, f := range []string{a.file(network), a.file(network) + ".lock"} {
		if err := os.Remove(f); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("network: %w", err)
		}
	}
	return nil
}

func (a *IPAM) file(network string) string { return filepath.Join(a.dir, network+".json") }

// update runs change on network's record under its lock, and writes the
// record back if change says it changed.
func (a *IPAM) update(network string, change func(*pool) (bool, error)) error {
	if !validName().MatchString(network) {
		return fmt.Errorf("network: %q is not a network name", network)
	}
	if err := os.MkdirAll(a.dir, 0o755); err != nil {
		return fmt.Errorf("network: address records: %w", err)
	}
	lock, err := os.OpenFile(a.file(network)+".lock", os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("network: address records: %w", err)
	}
	defer lock.Close() // closing the descriptor releases the lock
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil {
		return fmt.Errorf("network: locking %s: %w", lock.Name(), err)
	}
	p := pool{Owners: map[netip.Addr]string{}}
	b, err := os.ReadFile(a.file(network))
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return fmt.Errorf("network: address records: %w", err)
	default:
		if err := json.Unmarshal(b, &p); err != nil {
			return fmt.Errorf("network: address record %s is damaged (%v): remove it and the containers on %s, or restore it", a.file(network), err, network)
		}
		if p.Owners == nil {
			p.Owners = map[netip.Addr]string{}
		}
	}
	changed, err := change(&p)
	if err != nil || !changed {
		return err
	}
	b, err = json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(a.file(network), b)
}

// writeFileAtomic replaces name with data: written to a temporary file in
// the same directory, synced, then renamed over name.
func writeFileAtomic(name string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".tmp-")
	if err != nil {
		return fmt.Errorf("network: %w", err)
	}
	defer os.Remove(f.Name()) // after a successful rename, there is nothing to remove
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("network: writing %s: %w", name, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("network: writing %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("network: writing %s: %w", name, err)
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return fmt.Errorf("network: %w", err)
	}
	if err := os.Rename(f.Name(), name); err != nil {
		return fmt.Errorf("network: writing %s: %w", name, err)
	}
	return nil
}
