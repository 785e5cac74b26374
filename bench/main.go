// Command bench is the performance suite of the sports service. From the
// repository root:
//
//	go run ./bench                 # every scenario, 5 runs each (about 25 minutes)
//	go run ./bench -smoke          # every scenario once for about 1 s: keeps the suite working in CI
//	go run ./bench -only db,scaling -runs 3
//	go run ./bench -only refs -base 9de986e -runs 3 -d 5s   # before/after of the reference writes
//
// It builds the service and its helpers, starts them on loopback ports,
// drives them with wrk (closed loop) and its own fixed-rate loader, and
// writes results.md, results.json and PNG plots to -out. It never fails on
// a figure: targets are reported, not asserted. docs/performance.md
// describes the method and the figures.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// suite holds the settings and collects the results.
type suite struct {
	root, out string
	bin       binaries
	smoke     bool
	runs      int
	dur       time.Duration
	conns     int
	threads   int
	sizes     []int
	pg        bool
	reuse     bool
	baseRev   string // git revision the refs scenario compares with

	tables []*table
	plots  plotData
}

var scenarios = []struct {
	name string
	run  func(context.Context, *suite) error
}{
	{"trivial", scenarioTrivial},
	{"db", scenarioDB},
	{"gateway", scenarioGateway},
	{"create", scenarioCreate},
	{"resources", scenarioResources},
	{"scaling", scenarioScaling},
	{"refs", scenarioRefs},
}

func main() {
	s := &suite{}
	only := flag.String("only", "", "comma-separated scenarios to run (default all): "+scenarioNames())
	flag.StringVar(&s.out, "out", "bench/out", "directory for results, logs and binaries")
	flag.BoolVar(&s.smoke, "smoke", false, "run each scenario once for about 1 s (CI: checks the suite works; figures mean nothing)")
	flag.IntVar(&s.runs, "runs", 5, "runs of each measurement; tables show medians")
	flag.DurationVar(&s.dur, "d", 10*time.Second, "duration of each closed-loop run")
	flag.IntVar(&s.conns, "c", 32, "concurrent connections (wrk) and goroutines (ceiling)")
	flag.IntVar(&s.threads, "t", 2, "wrk threads")
	sizes := flag.String("sizes", "1000,10000,100000", "player counts of the scaling scenario")
	flag.BoolVar(&s.pg, "pg", true, "also run the scaling scenario on FerretDB's PostgreSQL backend (needs initdb)")
	replot := flag.Bool("replot", false, "only draw the PNGs again from -out's plots.json (no measurement)")
	flag.StringVar(&s.baseRev, "base", "", "git revision to build and compare with in the refs scenario (e.g. main~3); empty: this build only")
	flag.BoolVar(&s.reuse, "reuse", false, "keep the scaling scenario's SQLite database from a previous run (seeding 100,000 players takes minutes)")
	flag.Parse()
	if err := s.init(*sizes); err != nil {
		fatal(err)
	}
	if *replot {
		if err := s.replot(); err != nil {
			fatal(err)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := s.run(ctx, *only); err != nil {
		fatal(err)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}

func scenarioNames() string {
	names := make([]string, len(scenarios))
	for i, sc := range scenarios {
		names[i] = sc.name
	}
	return strings.Join(names, ",")
}

func (s *suite) init(sizes string) error {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return fmt.Errorf("go env GOMOD: %w", err)
	}
	s.root = filepath.Dir(strings.TrimSpace(string(out)))
	if !filepath.IsAbs(s.out) {
		s.out = filepath.Join(s.root, s.out)
	}
	if err := os.MkdirAll(s.out, 0o755); err != nil {
		return err
	}
	for f := range strings.SplitSeq(sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return fmt.Errorf("-sizes: %q is not a count", f)
		}
		s.sizes = append(s.sizes, n)
	}
	// Ascending: one database grows from size to size.
	slices.Sort(s.sizes)
	if s.smoke {
		// Enough to exercise every code path; the figures mean nothing.
		s.runs, s.dur, s.sizes = 1, time.Second, []int{100, 200}
	}
	if _, err := exec.LookPath("wrk"); err != nil {
		return fmt.Errorf("wrk is not installed (apt-get install wrk)")
	}
	return nil
}

func (s *suite) run(ctx context.Context, only string) error {
	want := map[string]bool{}
	for f := range strings.SplitSeq(only, ",") {
		if f = strings.TrimSpace(f); f != "" {
			if !slices.ContainsFunc(scenarios, func(sc struct {
				name string
				run  func(context.Context, *suite) error
			}) bool {
				return sc.name == f
			}) {
				return fmt.Errorf("-only: no scenario %q (have %s)", f, scenarioNames())
			}
			want[f] = true
		}
	}
	s.logf("building into %s", filepath.Join(s.out, "bin"))
	bin, err := build(ctx, s.root, s.out)
	if err != nil {
		return err
	}
	s.bin = bin
	started := time.Now()
	for _, sc := range scenarios {
		if len(want) > 0 && !want[sc.name] {
			continue
		}
		s.logf("== %s", sc.name)
		if err := sc.run(ctx, s); err != nil {
			// Keep what was measured before the failure.
			if werr := s.writeResults(); werr != nil {
				s.logf("write results: %v", werr)
			}
			return fmt.Errorf("scenario %s: %w", sc.name, err)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	if err := s.writeResults(); err != nil {
		return err
	}
	s.logf("done in %s: %s", time.Since(started).Round(time.Second), filepath.Join(s.out, "results.md"))
	return nil
}

func (s *suite) logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

// tempDir is a fresh directory under out/tmp, emptied first.
func (s *suite) tempDir(name string) (string, error) {
	dir := filepath.Join(s.out, "tmp", name)
	if err := os.RemoveAll(dir); err != nil {
		return "", err
	}
	return dir, os.MkdirAll(dir, 0o755)
}

func (s *suite) writeResults() error {
	var md strings.Builder
	fmt.Fprintf(&md, "# Performance suite results\n\n%s\n\n", machine(s))
	for _, t := range s.tables {
		t.markdown(&md)
	}
	if err := os.WriteFile(filepath.Join(s.out, "results.md"), []byte(md.String()), 0o644); err != nil {
		return err
	}
	data, err := json.MarshalIndent(s.tables, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(s.out, "results.json"), data, 0o644); err != nil {
		return err
	}
	plots, err := json.MarshalIndent(s.plots, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(s.out, "plots.json"), plots, 0o644); err != nil {
		return err
	}
	return s.plot()
}

// machine describes where the figures come from.
func machine(s *suite) string {
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if v, ok := strings.CutPrefix(line, "model name"); ok {
				cpu = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	goVersion, _ := exec.Command("go", "env", "GOVERSION").Output()
	mode := fmt.Sprintf("%d runs of %s each, medians; wrk -t%d -c%d", s.runs, s.dur, s.threads, s.conns)
	if s.smoke {
		mode = "SMOKE RUN: one short run each; the figures mean nothing"
	}
	return fmt.Sprintf("Machine: %d cores (%s), %s. %s. Started %s.", numCPU(), cpu,
		strings.TrimSpace(string(goVersion)), mode, time.Now().UTC().Format(time.RFC3339))
}
