package engine

import (
	"crypto/rand"
	"fmt"
	"math/big"
	"regexp"
	"sync"
)

// validName is Docker's rule for container names.
var validName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`) })

// A container created without --name gets two words, as Docker's do; these
// lists are the harbour's.
var (
	nameAdjectives = []string{
		"amber", "bold", "brave", "breezy", "calm", "clever", "coastal", "daring",
		"eager", "fair", "gentle", "golden", "hardy", "jolly", "keen", "lucky",
		"mellow", "merry", "nimble", "patient", "proud", "quiet", "rapid", "salty",
		"serene", "steady", "stoic", "swift", "tidal", "trusty", "vigilant", "windy",
	}
	nameNouns = []string{
		"anchor", "ballast", "barge", "beacon", "bollard", "bosun", "breakwater", "buoy",
		"capstan", "cargo", "clipper", "crane", "dinghy", "dock", "ferry", "galley",
		"gantry", "harbour", "hawser", "helm", "jetty", "keel", "lighthouse", "mooring",
		"pier", "pilot", "quay", "rudder", "schooner", "skipper", "tugboat", "wharf",
	}
)

func pick(words []string) string {
	n, err := rand.Int(rand.Reader, big.NewInt(int64(len(words))))
	if err != nil {
		return words[0]
	}
	return words[n.Int64()]
}

// generateName returns a name that taken does not hold: two words, and a
// number after them once the plain pairs run out, as Docker does.
func generateName(taken map[string]bool) string {
	for i := 0; ; i++ {
		name := pick(nameAdjectives) + "_" + pick(nameNouns)
		if i >= 10 {
			name = fmt.Sprintf("%s%d", name, i)
		}
		if !taken[name] {
			return name
		}
	}
}
