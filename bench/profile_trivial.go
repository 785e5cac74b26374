package main

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
)

// Profiles of the whole in-process chain on the trivial route, written
// next to the results (issue #27): the CPU and allocation profiles of
// BenchmarkTrivialRouteLayers' line for the service's default configuration
// (router, access log, metrics, tracing exporter none). Read them with
// `go tool pprof -top <out>/trivial-chain.cpu.pprof` (or -sample_index=
// alloc_objects for the allocations).
const (
	chainBenchmark   = `TrivialRouteLayers/\+_tracing_none$`
	chainCPUProfile  = "trivial-chain.cpu.pprof"
	chainHeapProfile = "trivial-chain.mem.pprof"
)

func profileTrivialChain(ctx context.Context, s *suite) error {
	benchtime := "5s"
	if s.smoke {
		benchtime = "200x"
	}
	// Two runs: recording every allocation (-memprofilerate 1, so that the
	// profile counts allocations per request) would swamp the CPU profile.
	for _, profile := range [][]string{
		{"-cpuprofile", filepath.Join(s.out, chainCPUProfile)},
		{"-memprofile", filepath.Join(s.out, chainHeapProfile), "-memprofilerate", "1"},
	} {
		args := append([]string{"test", "-run", "^$", "-bench", chainBenchmark, "-benchmem", "-benchtime", benchtime,
			// go test would leave the test binary beside the profiles.
			"-o", filepath.Join(s.out, "bin", "sports-service.test")}, profile...)
		cmd := exec.CommandContext(ctx, "go", append(args, ".")...)
		cmd.Dir = s.root
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("profile the trivial chain (%s): %w\n%s", profile[0], err, out)
		}
	}
	s.logf("trivial chain profiles: %s, %s", filepath.Join(s.out, chainCPUProfile), filepath.Join(s.out, chainHeapProfile))
	return nil
}
