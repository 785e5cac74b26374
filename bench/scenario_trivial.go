package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// trivialRoute is the service's cheapest route: the legacy Flask mount's
// index when the service has it, else liveness. The baseline answers the
// same bytes on the same path.
func trivialRoute(ctx context.Context, base string) (path, contentType string, body []byte, err error) {
	for _, p := range []string{"/ch11/flask/index", "/health/live"} {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+p, nil)
		if err != nil {
			return "", "", nil, err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return "", "", nil, err
		}
		buf, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err == nil && resp.StatusCode == http.StatusOK {
			return p, resp.Header.Get("Content-Type"), buf, nil
		}
	}
	return "", "", nil, fmt.Errorf("neither /ch11/flask/index nor /health/live answers 200")
}

// variant is one configuration of the service under the trivial load.
type variant struct {
	name  string
	short string // for plot labels
	env   []string
	// jaeger: the variant exports spans to a live Jaeger.
	jaeger bool
}

// scenarioTrivial compares the service's trivial route with the bare-Gin
// baseline: closed-loop throughput and latency with wrk, then latency at a
// fixed rate of half the service's measured maximum, for both.
func scenarioTrivial(ctx context.Context, s *suite) error {
	t := s.addTable(&table{ID: "trivial", Title: "Trivial route vs bare Gin",
		Header: []string{"service variant", "service req/s", "bare Gin req/s", "ratio (median of paired runs)", "target",
			"service p50 / p99 / p99.9 ms", "bare Gin p50 / p99 / p99.9 ms", "service CPU ms/1k", "bare Gin CPU ms/1k", "service peak RSS MB"},
		Runs: map[string][]Load{}})
	fixed := s.addTable(&table{ID: "trivial-rate", Title: "Trivial route at a fixed rate (half the service's maximum through the same loader)",
		Note:   "Our fixed-rate loader (coordinated-omission safe: latency from each request's intended start). Both servers get the same rate. Target: service p99 < 5 ms.",
		Header: []string{"service variant", "loader's closed-loop max req/s", "rate req/s", "service p50 / p99 / p99.9 ms", "bare Gin p50 / p99 / p99.9 ms", "errors", "target"},
		Runs:   map[string][]Load{}})

	dir, err := s.tempDir("trivial")
	if err != nil {
		return err
	}
	// In-process first, while no server competes for the cores.
	if err := profileTrivialChain(ctx, s); err != nil {
		return err
	}
	var jaeger *jaegerProc
	defer func() { jaeger.stop() }()
	// Observability off first; the variants with it on follow once the
	// first service shows that it has it.
	variants := []variant{{name: "access log only", short: "access log"}}
	for vi := 0; vi < len(variants); vi++ {
		v := variants[vi]
		env := v.env
		if v.jaeger {
			if jaeger == nil {
				if jaeger, err = startJaeger(s); err != nil {
					return err
				}
			}
			env = append(append([]string{}, env...), jaeger.env...)
		}
		svc, err := startService(s, "service-trivial-"+strconv.Itoa(vi), filepath.Join(dir, "data-"+strconv.Itoa(vi)), "", env...)
		if err != nil {
			return fmt.Errorf("%s: %w", v.name, err)
		}
		if vi == 0 && hasObservability(ctx, svc.base) {
			// Metrics cannot be switched off: the first variant has them.
			variants[0].name, variants[0].short = "metrics + access log, no tracing", "metrics+log"
			v = variants[0]
			variants = append(variants, observabilityVariants()...)
		}
		err = trivialVariant(ctx, s, dir, svc, v, t, fixed)
		svc.stop()
		if err != nil {
			return fmt.Errorf("%s: %w", v.name, err)
		}
	}
	return nil
}

func trivialVariant(ctx context.Context, s *suite, dir string, svc *service, v variant, t, fixed *table) error {
	path, contentType, body, err := trivialRoute(ctx, svc.base)
	if err != nil {
		return err
	}
	t.Note = fmt.Sprintf("GET %s (%d bytes) on the service (embedded database, access log to /dev/null) and on gin.New() answering the same bytes; "+
		"wrk -t%d -c%d, %d runs of %s alternating service and baseline; medians. Targets: >= 85%% of bare Gin with metrics + access log, >= 75%% with tracing at 100%%.",
		path, len(body), s.threads, s.conns, s.runs, s.dur)
	bodyFile := filepath.Join(dir, "body")
	if err := os.WriteFile(bodyFile, body, 0o644); err != nil {
		return err
	}
	bl, err := startBaseline(s, "-route", path, "-body-file", bodyFile, "-content-type", contentType)
	if err != nil {
		return err
	}
	defer bl.stop()

	var ours, base side
	for run := range s.runs {
		o := wrkOptions{URL: svc.base + path, Conns: s.conns, Threads: s.threads, Duration: s.dur}
		ob := o
		ob.URL = bl.base + path
		if err := alternate(run,
			func() error { return wrkSide(ctx, s, svc.pid(), o, &ours) },
			func() error { return wrkSide(ctx, s, bl.pid(), ob, &base) },
		); err != nil {
			return err
		}
		s.logf("trivial (%s) run %d: service %.0f req/s, bare Gin %.0f req/s", v.name, run+1, ours.last().RPS, base.last().RPS)
	}
	t.Runs[v.name+" service"], t.Runs[v.name+" bare Gin"] = ours.loads, base.loads
	o, b := median(ours.loads), median(base.loads)
	rt := pairedRatio(ours.loads, base.loads)
	target := 0.85
	if v.name == tracing100 {
		target = 0.75
	}
	t.row(v.name, rps(o.RPS), rps(b.RPS), pct(rt), fmt.Sprintf("%s (>= %.0f%%)", verdict(rt >= target), 100*target),
		us(o.P50)+" / "+us(o.P99)+" / "+us(o.P999), us(b.P50)+" / "+us(b.P99)+" / "+us(b.P999),
		f1(medianF(ours.cpu)), f1(medianF(base.cpu)), mb(ours.peakRSS))
	s.plots.throughput = append(s.plots.throughput, bar{label: "trivial: " + v.short, ours: o.RPS, base: b.RPS, baseName: "bare Gin"})
	s.plots.latency = append(s.plots.latency, latencyBars{label: "trivial: " + v.short, ours: o, base: b})

	// Fixed rate: half the service's maximum, the same for both servers.
	// The maximum is measured again with the fixed-rate loader itself in a
	// closed loop: it costs more CPU per request than wrk, and on two
	// shared cores half of wrk's maximum would already saturate the
	// service and measure a queue instead of a latency.
	calib, err := runRate(ctx, rateOptions{Duration: s.dur, Workers: s.conns, Request: getRequest(svc.base + path)})
	if err != nil {
		return err
	}
	rate := calib.RPS / 2
	var fo, fb []Load
	for run := range fixedRuns(s) {
		for _, target := range []struct {
			base string
			out  *[]Load
		}{{svc.base, &fo}, {bl.base, &fb}} {
			l, err := runRate(ctx, rateOptions{Rate: rate, Duration: s.dur, Workers: s.conns, Request: getRequest(target.base + path)})
			if err != nil {
				return err
			}
			*target.out = append(*target.out, l)
		}
		s.logf("trivial (%s) fixed %.0f req/s run %d: service p99 %s ms, bare Gin p99 %s ms", v.name, rate, run+1,
			us(fo[len(fo)-1].P99), us(fb[len(fb)-1].P99))
	}
	fixed.Runs[v.name+" service"], fixed.Runs[v.name+" bare Gin"] = fo, fb
	mo, mbase := median(fo), median(fb)
	var errs int64
	for _, l := range append(append([]Load{}, fo...), fb...) {
		errs += l.Errors + l.BadStatus
	}
	fixed.row(v.name, rps(calib.RPS), rps(rate), us(mo.P50)+" / "+us(mo.P99)+" / "+us(mo.P999), us(mbase.P50)+" / "+us(mbase.P99)+" / "+us(mbase.P999),
		strconv.FormatInt(errs, 10), verdict(mo.P99 < int64(5*time.Millisecond/time.Microsecond))+" (p99 < 5 ms)")
	s.plots.fixedLatency = append(s.plots.fixedLatency, latencyBars{label: v.short + " @" + kilo(rate) + "/s", ours: mo, base: mbase})
	return nil
}

// fixedRuns is how many fixed-rate runs each variant gets: fewer than the
// closed-loop runs, which the rate depends on, to keep the suite's time.
func fixedRuns(s *suite) int { return max(1, s.runs/2+1) }
