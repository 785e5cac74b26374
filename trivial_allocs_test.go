package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"testing"
)

// trivialAllocsBaseline is the committed baseline of TestTrivialRouteAllocs:
// the service's own allocations per request on the trivial route, by layer
// name (those of bare Gin and of the httptest harness subtracted).
// Regenerate it after a change that is meant to allocate more or less:
//
//	UPDATE_ALLOC_BASELINE=1 go test -run TestTrivialRouteAllocs .
//
// and commit the file with the change, saying why in the commit message.
const trivialAllocsBaseline = "testdata/trivial-allocs.json"

// allocGrowthAllowed is how far above the baseline a layer may go: CI's
// machines are noisy, so the guard counts allocations, not time.
const allocGrowthAllowed = 0.20

// TestTrivialRouteAllocs fails when the service's own allocations per
// request on the trivial route (what its layers allocate beyond bare Gin
// answering the same bytes through the same harness) grow by more than
// allocGrowthAllowed over the committed baseline.
func TestTrivialRouteAllocs(t *testing.T) {
	layers := map[string]trivialLayer{}
	for _, l := range trivialRouteLayers(t) {
		layers[l.name] = l
	}
	bare := requestAllocs(t, layers[layerBareGin])
	measured := map[string]float64{}
	for _, name := range []string{layerServiceDefault, layerTracingOff} {
		measured[name] = requestAllocs(t, layers[name]) - bare
	}
	if os.Getenv("UPDATE_ALLOC_BASELINE") != "" {
		writeAllocBaseline(t, measured)
		return
	}
	baseline := readAllocBaseline(t)
	cases := []struct {
		layer string
		what  string
	}{
		{layerServiceDefault, "metrics, access log, tracing none (the service's default)"},
		{layerTracingOff, "tracing to an exporter, nothing sampled"},
	}
	for _, c := range cases {
		t.Run(c.layer, func(t *testing.T) {
			want, ok := baseline[c.layer]
			if !ok {
				t.Fatalf("%s has no entry %q; regenerate it with UPDATE_ALLOC_BASELINE=1", trivialAllocsBaseline, c.layer)
			}
			got := measured[c.layer]
			t.Logf("%s: %.0f allocations per request over bare Gin (%.0f); baseline %.0f", c.what, got, bare, want)
			if limit := math.Floor(want * (1 + allocGrowthAllowed)); got > limit {
				t.Errorf("%s: %.0f allocations per request over bare Gin, baseline %.0f, at most %.0f allowed (+%.0f%%): "+
					"find the new allocation (go test -run '^$' -bench 'TrivialRouteLayers' -benchmem -memprofile mem.pprof .), "+
					"or, if it is meant, regenerate %s with UPDATE_ALLOC_BASELINE=1",
					c.what, got, want, limit, 100*allocGrowthAllowed, trivialAllocsBaseline)
			}
		})
	}
}

// requestAllocs is the allocations of one trivial request through layer,
// the least of a few rounds: goroutines left by other tests of the package
// can only add to testing.AllocsPerRun's count, which is process-wide.
func requestAllocs(t *testing.T, layer trivialLayer) float64 {
	t.Helper()
	if layer.handler == nil {
		t.Fatalf("no layer %q", layer.name)
	}
	least := math.Inf(1)
	for range 5 {
		least = min(least, testing.AllocsPerRun(200, func() { serveTrivial(t, layer.handler) }))
	}
	return least
}

func readAllocBaseline(t *testing.T) map[string]float64 {
	t.Helper()
	raw, err := os.ReadFile(trivialAllocsBaseline)
	if err != nil {
		t.Fatalf("read the baseline: %v", err)
	}
	var baseline map[string]float64
	if err := json.Unmarshal(raw, &baseline); err != nil {
		t.Fatalf("%s: %v", trivialAllocsBaseline, err)
	}
	return baseline
}

func writeAllocBaseline(t *testing.T, measured map[string]float64) {
	t.Helper()
	raw, err := json.MarshalIndent(measured, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(trivialAllocsBaseline, append(raw, '\n'), 0o644); err != nil {
		t.Fatal(fmt.Errorf("write the baseline: %w", err))
	}
	t.Logf("wrote %s: %v", trivialAllocsBaseline, measured)
}
