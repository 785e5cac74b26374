package main

import (
	"context"
	"fmt"
	"path/filepath"
)

// dbPlayers is the collection size of the database-route scenario: list/all
// returns all of them.
const dbPlayers = 100

// scenarioDB compares get-by-id and list/all through the service with the
// database's own ceiling: the ceiling tool running the same queries with
// plain driver calls at the same concurrency against the same FerretDB
// process. FerretDB runs as a process of its own (SQLite backend, the
// embedded database's code) so that both clients share one server and the
// service's CPU excludes the database's.
func scenarioDB(ctx context.Context, s *suite) error {
	dir, err := s.tempDir("db")
	if err != nil {
		return err
	}
	db, err := startFerret(s, "ferretdb-db", filepath.Join(dir, "sqlite"), "")
	if err != nil {
		return err
	}
	defer db.stop()
	if err := seedPlayers(ctx, db.uri, dbPlayers); err != nil {
		return err
	}
	svc, err := startService(s, "service-db", filepath.Join(dir, "unused"), db.uri)
	if err != nil {
		return err
	}
	defer svc.stop()
	if err := checkSeed(ctx, s, svc.base, dbPlayers); err != nil {
		return err
	}

	t := s.addTable(&table{ID: "db", Title: fmt.Sprintf("Database routes vs the plain driver loop (%d players, FerretDB/SQLite in its own process)", dbPlayers),
		Note: fmt.Sprintf("wrk -t%d -c%d against the service; the ceiling tool runs the same FindOne/Find with %d goroutines against the same FerretDB, "+
			"alternating with wrk, %d runs of %s each; medians. CPU columns: CPU ms per 1,000 requests of the service process and of the ceiling process "+
			"(the driver's client-side work); their difference is our layer's own cost (HTTP, routing, middleware, JSON). Target: service >= 85%% of the ceiling.",
			s.threads, s.conns, s.conns, s.runs, s.dur),
		Header: []string{"route", "service req/s", "ceiling req/s", "ratio (median of paired runs)", "target", "service p50 / p99 ms", "ceiling p50 / p99 ms",
			"service CPU ms/1k", "driver CPU ms/1k", "ours CPU ms/1k", "FerretDB CPU ms/1k (service / ceiling)", "service peak RSS MB"},
		Runs: map[string][]Load{}})

	for _, r := range []struct {
		name, mode, url string
		ids, want       int
	}{
		{"get-by-id", "get", svc.base + "/ch11/player/get/", dbPlayers, 0},
		{"list/all", "list", svc.base + "/ch11/player/list/all", 0, dbPlayers},
	} {
		var ours, ceil side
		var dbCPUours, dbCPUceil []float64
		for run := range s.runs {
			err := alternate(run,
				func() error {
					du := measure(db.pid())
					err := wrkSide(ctx, s, svc.pid(), wrkOptions{URL: r.url, IDs: r.ids, Conns: s.conns, Threads: s.threads, Duration: s.dur}, &ours)
					dus := du.done()
					if err == nil {
						dbCPUours = append(dbCPUours, cpuPer1k(dus.CPU, ours.last().Requests))
					}
					return err
				},
				func() error {
					du := measure(db.pid())
					l, cpu, err := runCeiling(ctx, s, db.uri, r.mode, s.conns, r.ids, r.want, s.dur, 0)
					dus := du.done()
					if err != nil {
						return err
					}
					ceil.add(l, Usage{CPU: cpu})
					dbCPUceil = append(dbCPUceil, cpuPer1k(dus.CPU, l.Requests))
					return nil
				})
			if err != nil {
				return err
			}
			s.logf("%s run %d: service %.0f req/s, ceiling %.0f req/s", r.name, run+1, ours.last().RPS, ceil.last().RPS)
		}
		t.Runs[r.name+" service"], t.Runs[r.name+" ceiling"] = ours.loads, ceil.loads
		o, c := median(ours.loads), median(ceil.loads)
		rt := pairedRatio(ours.loads, ceil.loads)
		oc, dc := medianF(ours.cpu), medianF(ceil.cpu)
		t.row(r.name, rps(o.RPS), rps(c.RPS), pct(rt), verdict(rt >= 0.85)+" (>= 85%)",
			us(o.P50)+" / "+us(o.P99), us(c.P50)+" / "+us(c.P99),
			f1(oc), f1(dc), f1(oc-dc), f1(medianF(dbCPUours))+" / "+f1(medianF(dbCPUceil)), mb(ours.peakRSS))
		s.plots.throughput = append(s.plots.throughput, bar{label: r.name, ours: o.RPS, base: c.RPS, baseName: "driver ceiling"})
		s.plots.latency = append(s.plots.latency, latencyBars{label: r.name, ours: o, base: c})
	}
	return nil
}
