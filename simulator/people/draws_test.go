package people

import (
	"slices"
	"sort"
	"testing"
	"time"

	"smsim/simulator/core"
)

// The people draw what the simulator's seeded source draws, so that a seed
// gives the crowd it always gave.
func TestDrawsAreTheSimulators(t *testing.T) {
	seed := int64(42)
	ours, theirs := newDraws(&seed), core.NewSeededSource(seed)
	for _, parts := range [][]string{{"people", "arrival", "0"}, {"people", "kind", "7"}, {"people", "3", "admin", "name"}, {}} {
		if a, b := ours.Uint64(parts...), theirs.Uint64(parts...); a != b {
			t.Errorf("Uint64%q: %d, the simulator's %d", parts, a, b)
		}
		if a, b := ours.Float64(parts...), theirs.Float64(parts...); a != b {
			t.Errorf("Float64%q: %v, the simulator's %v", parts, a, b)
		}
		for _, r := range [][2]time.Duration{{20 * time.Second, 3 * time.Minute}, {time.Hour, time.Hour}, {time.Minute, 0}} {
			if a, b := ours.Between(r[0], r[1], parts...), theirs.Between(r[0], r[1], parts...); a != b {
				t.Errorf("Between(%s, %s)%q: %s, the simulator's %s", r[0], r[1], parts, a, b)
			}
		}
	}
	if a, b := newDraws(nil).Uint64("x"), newDraws(nil).Uint64("x"); a == b {
		t.Errorf("two unseeded draws of one name are both %d", a)
	}
}

// The people's numbers start as the carriers' do.
func TestPrefixesAreTheCarriers(t *testing.T) {
	var want []string
	for _, ps := range core.Carriers {
		want = append(want, ps...)
	}
	sort.Strings(want)
	if !slices.Equal(prefixes, want) {
		t.Fatalf("prefixes %v, the carriers' %v", prefixes, want)
	}
}
