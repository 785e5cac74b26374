package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"time"

	"github.com/osms/sports-service/repository"
)

// scenarioScaling measures list/all and get-by-id against the collection
// size, on the embedded database (SQLite) and with FerretDB in a process of
// its own (SQLite, and PostgreSQL with -pg): the separate process shows the
// service's own memory apart from the database's.
func scenarioScaling(ctx context.Context, s *suite) error {
	lat := s.addTable(&table{ID: "scaling-latency", Title: "Scaling: latency against the number of players (one client, no concurrency)",
		Note: fmt.Sprintf("list/all: %d sequential requests of the whole collection, median time to the last byte (on the embedded database over %d players, "+
			"where list/all is refused, a walk of keyset pages of %d); get-by-id: wrk -t1 -c1 for %s over random ids, "+
			"p50 / p99. 'driver' is the ceiling tool doing the same query against the same FerretDB process with one goroutine; "+
			"'ours' = service - driver, our layer's own time for the request (HTTP, JSON encoding of every record). Embedded: the service's own FerretDB.",
			listReps(s), repository.MaxEmbeddedListAll, repository.MaxPageSize, s.dur),
		Header: []string{"backend", "players", "list/all service ms", "list/all driver ms", "list/all ours ms", "ours per record us",
			"get p50 / p99 ms", "get driver p50 ms", "get ours p50 ms"}})
	mem := s.addTable(&table{ID: "scaling-rss", Title: "Scaling: peak RSS while streaming list/all",
		Note: "VmRSS sampled every 50 ms during the list/all requests above (and VmHWM of a freshly started process for the embedded database). " +
			"'service' with FerretDB in its own process is our layer alone; 'embedded' holds the database too. Target: the service's RSS flat in the collection size.",
		Header: []string{"backend", "players", "service idle MB", "service peak MB", "FerretDB peak MB", "embedded idle MB", "embedded peak MB (VmHWM)"}})

	type backend struct {
		name string
		pg   bool
	}
	backends := []backend{{"sqlite", false}}
	if s.pg {
		backends = append(backends, backend{"postgresql", true})
	}
	for _, b := range backends {
		if err := scaleBackend(ctx, s, b.name, b.pg, lat, mem); err != nil {
			return fmt.Errorf("%s: %w", b.name, err)
		}
	}
	return nil
}

func listReps(s *suite) int { return max(3, s.runs) }

// longTimeouts let list/all finish on a large collection: FerretDB sorts the
// whole collection in memory before the first batch, which at 100,000
// players takes longer than the default DB_TIMEOUT of 5 s (the service then
// answers 503). The scaling scenario measures the time instead.
var longTimeouts = []string{"DB_TIMEOUT=10m", "REQUEST_TIMEOUT=10m"}

func scaleBackend(ctx context.Context, s *suite, name string, pg bool, lat, mem *table) error {
	dir := filepath.Join(s.out, "tmp", "scaling-"+name)
	if !s.reuse {
		var err error
		if dir, err = s.tempDir("scaling-" + name); err != nil {
			return err
		}
	}
	var pgURL string
	if pg {
		cluster, err := startPostgres(ctx, s)
		if err != nil {
			return err
		}
		defer cluster.stop(ctx)
		pgURL = cluster.url
	}
	for _, n := range s.sizes {
		// A database per size: -reuse then skips every seeding.
		sqliteDir := filepath.Join(dir, "sqlite-"+strconv.Itoa(n))
		db, err := startFerret(s, "ferretdb-scaling-"+name, sqliteDir, pgURL)
		if err != nil {
			return err
		}
		s.logf("%s: seeding %d players", name, n)
		if err := seedPlayers(ctx, db.uri, n); err != nil {
			db.stop()
			return err
		}
		row, err := scaleExternal(ctx, s, db, dir, n)
		db.stop()
		if err != nil {
			return err
		}
		embIdle, embPeak := "-", "-"
		var emb scaled
		if !pg {
			// The same SQLite files, now opened by the service's own
			// embedded FerretDB.
			emb, err = scaleEmbedded(ctx, s, sqliteDir, n)
			if err != nil {
				return err
			}
			embIdle, embPeak = mb(emb.idleRSS), mb(emb.peakRSS)
			lat.row("embedded (sqlite)", strconv.Itoa(n), us(emb.list), "-", "-", "-", us(emb.get.P50)+" / "+us(emb.get.P99), "-", "-")
			s.plots.rss = append(s.plots.rss, rssPoint{series: "embedded: service + FerretDB", n: n, rss: emb.peakRSS})
		}
		ours := row.list - row.drvList
		lat.row(name+" (own process)", strconv.Itoa(n), us(row.list), us(row.drvList), us(ours),
			fmt.Sprintf("%.2f", float64(ours)/float64(n)),
			us(row.get.P50)+" / "+us(row.get.P99), us(row.drvGet.P50), us(row.get.P50-row.drvGet.P50))
		mem.row(name, strconv.Itoa(n), mb(row.idleRSS), mb(row.peakRSS), mb(row.dbPeakRSS), embIdle, embPeak)
		s.plots.rss = append(s.plots.rss,
			rssPoint{series: "service, FerretDB/" + name + " apart", n: n, rss: row.peakRSS},
			rssPoint{series: "FerretDB/" + name + " process", n: n, rss: row.dbPeakRSS})
		s.plots.listLatency = append(s.plots.listLatency, rssPoint{series: name + " (own process)", n: n, rss: row.list})
		if !pg {
			s.plots.listLatency = append(s.plots.listLatency, rssPoint{series: "embedded (sqlite)", n: n, rss: emb.list})
		}
	}
	return nil
}

// scaled is one size's figures; times in microseconds.
type scaled struct {
	list, drvList    int64
	get, drvGet      Load
	idleRSS, peakRSS int64
	dbPeakRSS        int64
}

func scaleExternal(ctx context.Context, s *suite, db *ferret, dir string, n int) (scaled, error) {
	svc, err := startService(s, "service-scaling", filepath.Join(dir, "unused"), db.uri, longTimeouts...)
	if err != nil {
		return scaled{}, err
	}
	defer svc.stop()
	if err := checkSeed(ctx, s, svc.base, n); err != nil {
		return scaled{}, err
	}
	r := scaled{idleRSS: procStatus(svc.pid(), "VmRSS")}
	su, du := measure(svc.pid()), measure(db.pid())
	r.list, err = timeLists(ctx, svc.base+"/ch11/player/list/all", n, listReps(s))
	sus, dus := su.done(), du.done()
	if err != nil {
		return r, err
	}
	r.peakRSS, r.dbPeakRSS = sus.PeakRSS, dus.PeakRSS
	drv, _, err := runCeiling(ctx, s, db.uri, "list", 1, 1, n, time.Hour, int64(listReps(s)))
	if err != nil {
		return r, err
	}
	r.drvList = drv.P50
	if r.get, err = runWrk(ctx, s.out, wrkOptions{URL: svc.base + "/ch11/player/get/", IDs: n, Conns: 1, Threads: 1, Duration: s.dur}); err != nil {
		return r, err
	}
	if r.drvGet, _, err = runCeiling(ctx, s, db.uri, "get", 1, n, 0, s.dur, 0); err != nil {
		return r, err
	}
	return r, nil
}

func scaleEmbedded(ctx context.Context, s *suite, dataDir string, n int) (scaled, error) {
	svc, err := startService(s, "service-scaling-embedded", dataDir, "", longTimeouts...)
	if err != nil {
		return scaled{}, err
	}
	defer svc.stop()
	if err := checkSeed(ctx, s, svc.base, n); err != nil {
		return scaled{}, err
	}
	r := scaled{idleRSS: procStatus(svc.pid(), "VmRSS")}
	if n > repository.MaxEmbeddedListAll {
		// Refused at once there (422): the whole collection in pages.
		r.list, err = timePagedLists(ctx, svc.base+"/ch11/player/list/all", n, listReps(s))
	} else {
		r.list, err = timeLists(ctx, svc.base+"/ch11/player/list/all", n, listReps(s))
	}
	if err != nil {
		return r, err
	}
	// A fresh process: its high-water mark is this size's peak.
	r.peakRSS = procStatus(svc.pid(), "VmHWM")
	if r.get, err = runWrk(ctx, s.out, wrkOptions{URL: svc.base + "/ch11/player/get/", IDs: n, Conns: 1, Threads: 1, Duration: s.dur}); err != nil {
		return r, err
	}
	return r, nil
}

// timeLists fetches url reps times, one after another, checks that each
// answer is a whole array of want records, and returns the median time to
// the last byte in microseconds.
func timeLists(ctx context.Context, url string, want, reps int) (int64, error) {
	times := make([]float64, 0, reps)
	for range reps {
		start := time.Now()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return 0, err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err
		}
		c := &recordCounter{}
		_, err = io.Copy(c, resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			return 0, fmt.Errorf("GET %s: %d %v", url, resp.StatusCode, err)
		}
		if c.records != want || c.last != ']' {
			return 0, fmt.Errorf("GET %s: %d records (last byte %q), want %d", url, c.records, c.last, want)
		}
		times = append(times, float64(time.Since(start).Microseconds()))
	}
	return int64(medianF(times)), nil
}

// timePagedLists reads the whole collection in keyset pages of
// repository.MaxPageSize, reps times, checks that want records came, and
// returns the median time of a whole walk in microseconds.
func timePagedLists(ctx context.Context, url string, want, reps int) (int64, error) {
	times := make([]float64, 0, reps)
	for range reps {
		start := time.Now()
		got, after := 0, int64(0)
		for {
			page := fmt.Sprintf("%s?limit=%d&after=%d", url, repository.MaxPageSize, after)
			status, body, err := httpGet(ctx, page)
			if err != nil || status != http.StatusOK {
				return 0, fmt.Errorf("GET %s: %d %v", page, status, err)
			}
			var records []struct {
				PlayerID int64 `json:"player_id"`
			}
			if err := json.Unmarshal(body, &records); err != nil {
				return 0, fmt.Errorf("GET %s: %w", page, err)
			}
			if len(records) == 0 {
				break
			}
			got += len(records)
			after = records[len(records)-1].PlayerID
		}
		if got != want {
			return 0, fmt.Errorf("GET %s in pages: %d records, want %d", url, got, want)
		}
		times = append(times, float64(time.Since(start).Microseconds()))
	}
	return int64(medianF(times)), nil
}

// recordCounter counts the objects of a streamed array of flat records
// without keeping it.
type recordCounter struct {
	records int
	last    byte
}

func (c *recordCounter) Write(p []byte) (int, error) {
	c.records += bytes.Count(p, []byte("{"))
	if len(p) > 0 {
		c.last = p[len(p)-1]
	}
	return len(p), nil
}
