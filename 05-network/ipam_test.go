package network_test

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	namespaces "berth/02-namespaces"
	network "berth/05-network"
)

// The test binary doubles as a second allocating process: with
// BERTH_IPAM_CHILD=dir:network:owner[:hold] it allocates, prints the
// address, and with "hold" keeps the network's lock until it is killed.
func TestMain(m *testing.M) {
	namespaces.Init() // containers are this binary, re-executed as their init
	if spec := os.Getenv("BERTH_IPAM_CHILD"); spec != "" {
		os.Exit(ipamChild(strings.Split(spec, ",")))
	}
	os.Exit(m.Run())
}

var subnet = netip.MustParsePrefix("10.89.7.0/24")

func ipamChild(args []string) int {
	dir, net, owners := args[0], args[1], args[2:]
	a := network.NewIPAM(dir)
	for _, o := range owners {
		if o == "hold" {
			f, err := os.OpenFile(filepath.Join(dir, net+".json.lock"), os.O_RDWR|os.O_CREATE, 0o644)
			if err == nil {
				err = unix.Flock(int(f.Fd()), unix.LOCK_EX)
			}
			if err != nil {
				fmt.Println("error:", err)
				return 1
			}
			fmt.Println("holding")
			time.Sleep(time.Hour)
		}
		ip, err := a.Allocate(net, subnet, o)
		if err != nil {
			fmt.Println("error:", err)
			return 1
		}
		fmt.Println(ip)
	}
	return 0
}

func child(t *testing.T, args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "BERTH_IPAM_CHILD="+strings.Join(args, ","))
	return cmd
}

func TestIPAMSkipsReservedAddressesAndReusesLate(t *testing.T) {
	a := network.NewIPAM(t.TempDir())
	small := netip.MustParsePrefix("10.89.9.0/29") // .0 network, .1 gateway, .7 broadcast
	var got []string
	for i := 0; i < 5; i++ {
		ip, err := a.Allocate("small", small, fmt.Sprint("c", i))
		require.NoError(t, err)
		got = append(got, ip.String())
	}
	assert.Equal(t, []string{"10.89.9.2", "10.89.9.3", "10.89.9.4", "10.89.9.5", "10.89.9.6"}, got)
	_, err := a.Allocate("small", small, "one-too-many")
	assert.ErrorIs(t, err, network.ErrAddressesUsedUp)

	again, err := a.Allocate("small", small, "c2")
	require.NoError(t, err)
	assert.Equal(t, "10.89.9.4", again.String(), "an owner asking again gets the address it holds")

	require.NoError(t, a.Release("small", "c1"))
	require.NoError(t, a.Release("small", "c3"))
	next, err := a.Allocate("small", small, "c7")
	require.NoError(t, err)
	assert.Equal(t, "10.89.9.3", next.String(), "after the last handed out (.6), wrapping round to the first free")
}

func TestIPAMConcurrentAllocationsAreDistinct(t *testing.T) {
	dir := t.TempDir()
	a := network.NewIPAM(dir)
	var mu sync.Mutex
	seen := map[string]string{}
	record := func(ip, owner string) {
		mu.Lock()
		defer mu.Unlock()
		if prev, dup := seen[ip]; dup {
			t.Errorf("%s handed to both %s and %s", ip, prev, owner)
		}
		seen[ip] = owner
	}
	var wg sync.WaitGroup
	// 25 goroutines in this process, each with its own lock descriptor...
	for i := 0; i < 25; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			owner := fmt.Sprint("g", i)
			ip, err := a.Allocate("busy", subnet, owner)
			if assert.NoError(t, err) {
				record(ip.String(), owner)
			}
		}()
	}
	// ...and 25 more in five other processes at the same time.
	for p := 0; p < 5; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			args := []string{dir, "busy"}
			for i := 0; i < 5; i++ {
				args = append(args, fmt.Sprintf("p%d-%d", p, i))
			}
			out, err := child(t, args...).CombinedOutput()
			if assert.NoError(t, err, string(out)) {
				for i, line := range strings.Fields(string(out)) {
					record(line, fmt.Sprintf("p%d-%d", p, i))
				}
			}
		}()
	}
	wg.Wait()
	assert.Len(t, seen, 50, "50 allocations, 50 distinct addresses")
	got, err := a.Allocations("busy")
	require.NoError(t, err)
	assert.Len(t, got, 50, "and all 50 recorded")
}

func TestIPAMSurvivesAKilledAllocator(t *testing.T) {
	dir := t.TempDir()
	a := network.NewIPAM(dir)
	// A process allocates, then dies without releasing: its address stays
	// taken, so it cannot be handed out twice.
	out, err := child(t, dir, "crash", "victim").Output()
	require.NoError(t, err)
	victim := strings.TrimSpace(string(out))
	mine, err := a.Allocate("crash", subnet, "survivor")
	require.NoError(t, err)
	assert.NotEqual(t, victim, mine.String())

	// A process killed while it holds the lock does not block the others:
	// the kernel drops a flock with its holder.
	holder := child(t, dir, "crash", "hold")
	stdout, err := holder.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, holder.Start())
	buf := make([]byte, 8)
	_, err = stdout.Read(buf)
	require.NoError(t, err)
	require.Equal(t, "holding", strings.TrimSpace(string(buf)))
	require.NoError(t, holder.Process.Kill())
	holder.Wait()
	// A temporary file left by a write cut short is ignored.
	require.NoError(t, os.WriteFile(filepath.Join(dir, ".crash.json.tmp-123"), []byte(`{"owners":{`), 0o644))

	other, err := a.Allocate("crash", subnet, "after-kill")
	require.NoError(t, err)
	assert.NotContains(t, []string{victim, mine.String()}, other.String())

	// Recovery: the caller knows which owners still exist.
	freed, err := a.Reclaim("crash", func(owner string) bool { return owner != "victim" })
	require.NoError(t, err)
	assert.Equal(t, []netip.Addr{netip.MustParseAddr(victim)}, freed, "no address is lost for good")
	left, err := a.Allocations("crash")
	require.NoError(t, err)
	assert.Len(t, left, 2)
}

func TestIPAMRefusesADamagedRecord(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "bad.json"), []byte("{not json"), 0o644))
	_, err := network.NewIPAM(dir).Allocate("bad", subnet, "x")
	assert.ErrorContains(t, err, "is damaged")
	_, err = network.NewIPAM(dir).Allocate("../escape", subnet, "x")
	assert.ErrorContains(t, err, "not a network name")
}
