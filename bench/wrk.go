package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// wrkScript makes wrk print one machine-readable line at the end, with the
// percentiles that --latency prints for humans plus p99.9, and, when
// WRK_IDS is set, spreads get-by-id over ids 1..WRK_IDS. Without WRK_IDS no
// request() function is defined, so wrk reuses one prebuilt request and its
// own cost stays as low as it can be.
const wrkScript = `
local ids = tonumber(os.getenv("WRK_IDS") or "0")
if ids > 0 then
  local prefix = os.getenv("WRK_PATH")
  request = function()
    return wrk.format("GET", prefix .. math.random(1, ids))
  end
end
done = function(s, lat, req)
  local e = s.errors
  io.write(string.format("RESULT %d %d %d %d %d %d %d %d %d %d\n",
    s.requests, s.duration, s.bytes, e.connect + e.read + e.write + e.timeout, e.status,
    lat:percentile(50), lat:percentile(90), lat:percentile(99), lat:percentile(99.9), lat.max))
end
`

// Load is one closed-loop (wrk) or fixed-rate run's outcome. Latencies are
// in microseconds.
type Load struct {
	Requests  int64   `json:"requests"`
	Seconds   float64 `json:"seconds"`
	RPS       float64 `json:"rps"`
	Errors    int64   `json:"errors"`     // socket errors and timeouts
	BadStatus int64   `json:"bad_status"` // answers other than 2xx/3xx
	P50       int64   `json:"p50_us"`
	P90       int64   `json:"p90_us"`
	P99       int64   `json:"p99_us"`
	P999      int64   `json:"p999_us"`
	Max       int64   `json:"max_us"`
	// FirstError describes the first failure of a fixed-rate run.
	FirstError string `json:"first_error,omitempty"`
}

// wrkOptions shape one wrk run.
type wrkOptions struct {
	URL      string // full URL; with IDs, the prefix to which an id is appended
	IDs      int
	Conns    int
	Threads  int
	Duration time.Duration
}

func runWrk(ctx context.Context, dir string, o wrkOptions) (Load, error) {
	script := filepath.Join(dir, "report.lua")
	if err := os.WriteFile(script, []byte(wrkScript), 0o644); err != nil {
		return Load{}, err
	}
	url := o.URL
	env := os.Environ()
	if o.IDs > 0 {
		// wrk wants the URL's host; the path with the id comes from request().
		i := strings.Index(strings.TrimPrefix(url, "http://"), "/") + len("http://")
		env = append(env, "WRK_IDS="+strconv.Itoa(o.IDs), "WRK_PATH="+url[i:])
		url = url[:i] + "/"
	}
	secs := max(1, int(o.Duration.Round(time.Second)/time.Second))
	// wrk's default timeout is 2 s, shorter than a list of 100k records.
	cmd := exec.CommandContext(ctx, "wrk", "--latency", "--timeout", "60s", "-s", script,
		"-t", strconv.Itoa(o.Threads), "-c", strconv.Itoa(o.Conns), "-d", strconv.Itoa(secs)+"s", url)
	cmd.Env = env
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return Load{}, fmt.Errorf("wrk %s: %w: %s", o.URL, err, stderr.String())
	}
	for line := range strings.Lines(out.String()) {
		rest, ok := strings.CutPrefix(line, "RESULT ")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 10 {
			break
		}
		n := make([]int64, len(f))
		for i, s := range f {
			n[i], _ = strconv.ParseInt(s, 10, 64)
		}
		l := Load{Requests: n[0], Seconds: float64(n[1]) / 1e6, Errors: n[3], BadStatus: n[4],
			P50: n[5], P90: n[6], P99: n[7], P999: n[8], Max: n[9]}
		if l.Seconds > 0 {
			l.RPS = float64(l.Requests) / l.Seconds
		}
		return l, nil
	}
	return Load{}, fmt.Errorf("wrk %s printed no RESULT line:\n%s%s", o.URL, out.String(), stderr.String())
}
