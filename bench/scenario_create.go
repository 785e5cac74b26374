package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"sync/atomic"
)

// scenarioCreate posts new players to the service on its embedded database:
// first a short closed loop to find the maximum, then a fixed rate of half
// that, reporting latency percentiles and every error.
func scenarioCreate(ctx context.Context, s *suite) error {
	dir, err := s.tempDir("create")
	if err != nil {
		return err
	}
	svc, err := startService(s, "service-create", filepath.Join(dir, "data"), "")
	if err != nil {
		return err
	}
	defer svc.stop()
	url := svc.base + "/ch11/player/add"
	// Ids never repeat across runs: each request, from any worker, takes
	// the next.
	var next atomic.Int64
	req := postRequest(url, func(int64) []byte {
		return fmt.Appendf(nil, `{"player_id":%d,"fname":"Ann","lname":"Lee","age":20,"birthday":"2004-01-02","date_started":"2020-05-01"}`, next.Add(1))
	})

	calib, err := runRate(ctx, rateOptions{Rate: 0, Duration: s.dur, Workers: s.conns, Request: req})
	if err != nil {
		return err
	}
	if calib.Errors+calib.BadStatus > 0 {
		return fmt.Errorf("create, closed loop: %d errors, %d bad statuses (first: %s)", calib.Errors, calib.BadStatus, calib.FirstError)
	}
	rate := calib.RPS / 2
	s.logf("create: closed loop %.0f req/s; fixed rate %.0f req/s", calib.RPS, rate)
	var runs []Load
	var errs int64
	for run := range s.runs {
		l, err := runRate(ctx, rateOptions{Rate: rate, Duration: s.dur, Workers: s.conns, Request: req})
		if err != nil {
			return err
		}
		runs = append(runs, l)
		errs += l.Errors + l.BadStatus
		if l.FirstError != "" {
			s.logf("create run %d: %d errors, first: %s", run+1, l.Errors+l.BadStatus, l.FirstError)
		}
	}
	m := median(runs)
	t := s.addTable(&table{ID: "create", Title: "Create (POST /ch11/player/add) at a fixed rate, embedded database",
		Note: fmt.Sprintf("Closed loop with %d workers for %s to find the maximum, then %d runs of %s at half of it with our fixed-rate loader "+
			"(latency from each request's intended start); medians; errors summed over the runs.", s.conns, s.dur, s.runs, s.dur),
		Header: []string{"closed-loop max req/s", "fixed rate req/s", "achieved req/s", "p50 / p90 / p99 / p99.9 ms", "max ms", "errors"},
		Runs:   map[string][]Load{"closed loop": {calib}, "fixed rate": runs}})
	t.row(rps(calib.RPS), rps(rate), rps(m.RPS), us(m.P50)+" / "+us(m.P90)+" / "+us(m.P99)+" / "+us(m.P999), us(m.Max), strconv.FormatInt(errs, 10))
	s.plots.throughput = append(s.plots.throughput, bar{label: "create (closed loop)", ours: calib.RPS})
	s.plots.fixedLatency = append(s.plots.fixedLatency, latencyBars{label: "create @" + kilo(rate) + "/s", ours: m})
	return nil
}
