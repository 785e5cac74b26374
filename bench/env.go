package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// binaries built by the suite, in out/bin.
type binaries struct {
	service, baseline, ferretdb, ceiling string
}

// build compiles the service and the helpers with the toolchain running the
// suite, so the service and the bare-Gin baseline share a Go version.
func build(ctx context.Context, root, out string) (binaries, error) {
	dir := filepath.Join(out, "bin")
	b := binaries{
		service:  filepath.Join(dir, "sports-service"),
		baseline: filepath.Join(dir, "baseline"),
		ferretdb: filepath.Join(dir, "ferretdb"),
		ceiling:  filepath.Join(dir, "ceiling"),
	}
	for bin, pkg := range map[string]string{
		b.service: ".", b.baseline: "./bench/cmd/baseline", b.ferretdb: "./bench/cmd/ferretdb", b.ceiling: "./bench/cmd/ceiling",
	} {
		if err := goBuild(ctx, root, bin, pkg); err != nil {
			return b, err
		}
	}
	return b, nil
}

func goBuild(ctx context.Context, root, bin, pkg string, flags ...string) error {
	args := append([]string{"build", "-o", bin}, flags...)
	cmd := exec.CommandContext(ctx, "go", append(args, pkg)...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %w\n%s", pkg, err, out)
	}
	return nil
}

// ferret is a FerretDB helper process.
type ferret struct {
	*proc
	uri string
}

// startFerret runs FerretDB on a SQLite directory (pgURL empty) or on
// PostgreSQL.
func startFerret(s *suite, name, sqliteDir, pgURL string) (*ferret, error) {
	args := []string{"-handler", "sqlite", "-sqlite-dir", sqliteDir}
	if pgURL != "" {
		args = []string{"-handler", "postgresql", "-postgresql-url", pgURL}
	}
	pr, pw := io.Pipe()
	p, err := startProc(s.out, name, nil, pw, s.bin.ferretdb, args...)
	if err != nil {
		return nil, err
	}
	r := bufio.NewReader(pr)
	uri, err := waitLine(r, "uri ")
	if err != nil {
		p.stop()
		return nil, fmt.Errorf("%s: %w: %s", name, err, tail(p.log))
	}
	go func() { _, _ = io.Copy(io.Discard, r) }()
	return &ferret{proc: p, uri: uri}, nil
}

// service is a running sports service.
type service struct {
	*proc
	base    string        // http://127.0.0.1:PORT
	startup time.Duration // exec to /health/ready 200
}

// startService runs the service binary: on the embedded database in
// dataDir when uri is empty, else against uri. extra adds environment
// variables (observability settings).
func startService(s *suite, name, dataDir, uri string, extra ...string) (*service, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	env := []string{
		"LISTEN_ADDR=127.0.0.1:" + strconv.Itoa(port),
		"ENV_FILE=" + os.DevNull, // no stray .env
		"DATA_DIR=" + dataDir,
		"MONGODB_URI=" + uri,
		"LOG_LEVEL=info", // the access log stays on, as in production
		"LOG_FORMAT=json",
	}
	env = append(env, extra...)
	start := time.Now()
	p, err := startProc(s.out, name, env, nil, s.bin.service)
	if err != nil {
		return nil, err
	}
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	took, err := waitHTTP(p, base+"/health/ready", start, 60*time.Second)
	if err != nil {
		p.stop()
		return nil, err
	}
	return &service{proc: p, base: base, startup: took}, nil
}

// startBaseline runs the bare-Gin baseline.
func startBaseline(s *suite, args ...string) (*service, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	start := time.Now()
	p, err := startProc(s.out, "baseline", nil, nil, s.bin.baseline, append([]string{"-addr", "127.0.0.1:" + strconv.Itoa(port)}, args...)...)
	if err != nil {
		return nil, err
	}
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	took, err := waitHTTP(p, base+"/ready", start, 30*time.Second)
	if err != nil {
		p.stop()
		return nil, err
	}
	return &service{proc: p, base: base, startup: took}, nil
}

// runCeiling runs the driver-only loop and converts its answer to a Load;
// it also returns the CPU time the loop used (the driver's client-side
// work, plus a start-up that is negligible over a run).
func runCeiling(ctx context.Context, s *suite, uri, mode string, conns, ids, want int, d time.Duration, count int64) (Load, time.Duration, error) {
	cmd := exec.CommandContext(ctx, s.bin.ceiling, "-uri", uri, "-mode", mode, "-c", strconv.Itoa(conns),
		"-d", d.String(), "-ids", strconv.Itoa(max(ids, 1)), "-want", strconv.Itoa(want), "-n", strconv.FormatInt(count, 10))
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return Load{}, 0, fmt.Errorf("ceiling %s: %w: %s", mode, err, stderr.String())
	}
	var res struct {
		Requests int64   `json:"requests"`
		Errors   int64   `json:"errors"`
		Seconds  float64 `json:"seconds"`
		RPS      float64 `json:"rps"`
		P50      int64   `json:"p50_us"`
		P90      int64   `json:"p90_us"`
		P99      int64   `json:"p99_us"`
		P999     int64   `json:"p999_us"`
	}
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		return Load{}, 0, fmt.Errorf("ceiling output %q: %w", strings.TrimSpace(out.String()), err)
	}
	if res.Errors > 0 {
		return Load{}, 0, fmt.Errorf("ceiling %s: %d errors: %s", mode, res.Errors, stderr.String())
	}
	cpu := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	return Load{Requests: res.Requests, Seconds: res.Seconds, RPS: res.RPS,
		P50: res.P50, P90: res.P90, P99: res.P99, P999: res.P999}, cpu, nil
}
