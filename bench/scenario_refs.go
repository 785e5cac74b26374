package main

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// scenarioRefs measures the writes whose rules span records (docs/concurrency.md):
// a player add that names a game, and a game delete, on one FerretDB process
// shared by one instance and by three, closed loop, requests spread over the
// instances round-robin. With -base REV it measures the service built from
// git revision REV in the same runs, alternating, so that the ratio
// after/before is taken under the same machine load. It also counts the
// database commands per request (mongodb_driver_commands_total, summed over
// the instances), which is what the coordination costs in round trips.
func scenarioRefs(ctx context.Context, s *suite) error {
	builds := []struct{ name, bin string }{{"this build", s.bin.service}}
	if s.baseRev != "" {
		bin, err := buildRevision(ctx, s, s.baseRev)
		if err != nil {
			return err
		}
		builds = append(builds, struct{ name, bin string }{"base " + s.baseRev, bin})
	}
	type key struct {
		build string
		n     int
		phase string
	}
	runs := map[key][]Load{}
	cmds := map[key][]float64{}
	phases := []string{"game delete", "player add with a game"}
	for run := range s.runs {
		// Alternate which build goes first, so that neither always
		// follows the other's database shutdown.
		order := builds
		if run%2 == 1 {
			order = slices.Clone(builds)
			slices.Reverse(order)
		}
		for _, b := range order {
			for _, n := range []int{1, 3} {
				res, perReq, err := refsRun(ctx, s, b.bin, n, fmt.Sprintf("refs-%d", run))
				if err != nil {
					return fmt.Errorf("%s, %d instance(s): %w", b.name, n, err)
				}
				for i, p := range phases {
					k := key{b.name, n, p}
					runs[k] = append(runs[k], res[i])
					cmds[k] = append(cmds[k], perReq[i])
				}
				s.logf("refs run %d, %s, %d instance(s): delete %.0f req/s (%.1f commands each), add %.0f req/s (%.1f)",
					run+1, b.name, n, res[0].RPS, perReq[0], res[1].RPS, perReq[1])
			}
		}
	}
	t := s.addTable(&table{ID: "refs", Title: "Writes that keep references, on one FerretDB shared by 1 and 3 instances",
		Note: fmt.Sprintf("Closed loop, %d workers (deletes: at most 8) for %s per phase, requests spread round-robin over the instances; %d runs, builds alternating, medians. "+
			"'commands/request' is the increase of mongodb_driver_commands_total over the instances divided by the requests: the database round trips of one write. "+
			"The deletes remove games that no player names, before any player exists; then the player adds name one of 50 games.", s.conns, s.dur, s.runs),
		Header: []string{"build", "instances", "write", "req/s", "p50 / p99 ms", "commands/request", "errors", "vs base"},
		Runs:   map[string][]Load{}})
	for _, b := range builds {
		for _, n := range []int{1, 3} {
			for _, p := range phases {
				k := key{b.name, n, p}
				m := median(runs[k])
				vs := "-"
				if len(builds) > 1 && b.name != builds[len(builds)-1].name {
					base := median(runs[key{builds[len(builds)-1].name, n, p}])
					vs = fmt.Sprintf("%.2f", ratio(m.RPS, base.RPS))
				}
				errs := int64(0)
				for _, l := range runs[k] {
					errs += l.Errors + l.BadStatus
				}
				t.row(b.name, strconv.Itoa(n), p, rps(m.RPS), us(m.P50)+" / "+us(m.P99), f1(medianF(cmds[k])), strconv.FormatInt(errs, 10), vs)
				t.Runs[fmt.Sprintf("%s, %d, %s", b.name, n, p)] = runs[k]
			}
		}
	}
	return nil
}

// refsRun starts a FerretDB process and n instances of bin on it, adds
// games, then measures the game deletes and the player adds. It returns
// their loads and commands per request.
func refsRun(ctx context.Context, s *suite, bin string, n int, name string) ([]Load, []float64, error) {
	dir, err := s.tempDir(name)
	if err != nil {
		return nil, nil, err
	}
	db, err := startFerret(s, name+"-ferretdb", dir, "")
	if err != nil {
		return nil, nil, err
	}
	defer db.stop()
	svc := *s
	svc.bin.service = bin
	var bases []string
	for i := range n {
		inst, err := startService(&svc, fmt.Sprintf("%s-%d", name, i), filepath.Join(dir, fmt.Sprintf("data-%d", i)), db.uri)
		if err != nil {
			return nil, nil, err
		}
		defer inst.stop()
		bases = append(bases, inst.base)
	}
	at := func(i int64) string { return bases[int(i)%len(bases)] }
	// The games: 50 that players join, and enough to delete for the whole
	// phase (a closed loop of adds for as long as the deletes will run).
	const joined = 50
	add, err := runRate(ctx, rateOptions{Duration: s.dur, Workers: s.conns, Request: func(ctx context.Context, i int64) (*http.Request, error) {
		return postRequest(at(i)+"/ch11/game/add", func(int64) []byte {
			return fmt.Appendf(nil, `{"game_id":%d,"name":"G","date_start":"2024-06-01","date_end":"2024-06-02","officials":[]}`, i+1)
		})(ctx, i)
	}})
	if err != nil {
		return nil, nil, err
	}
	if add.Errors+add.BadStatus > 0 || add.Requests <= joined {
		return nil, nil, fmt.Errorf("game adds: %d of %d failed (first: %s)", add.Errors+add.BadStatus, add.Requests, add.FirstError)
	}
	// The deletes come first, while no player exists: a delete looks for
	// players that name the game (a scan of the collection on FerretDB),
	// so its cost must not depend on how many players the adds before it
	// stored. Fewer workers: each delete's scans keep the database busy,
	// and 32 at once would queue past DB_TIMEOUT.
	deleters := min(s.conns, 8)
	var loads []Load
	var perReq []float64
	phase := func(o rateOptions) error {
		before, err := commandsTotal(ctx, bases)
		if err != nil {
			return err
		}
		l, err := runRate(ctx, o)
		if err != nil {
			return err
		}
		after, err := commandsTotal(ctx, bases)
		if err != nil {
			return err
		}
		if l.Errors+l.BadStatus > 0 {
			s.logf("%s: %d of %d requests failed, first: %s", name, l.Errors+l.BadStatus, l.Requests, l.FirstError)
		}
		loads = append(loads, l)
		perReq = append(perReq, (after-before)/float64(max(l.Requests, 1)))
		return nil
	}
	if err := phase(rateOptions{Duration: s.dur, Workers: deleters, Max: add.Requests - joined, Request: func(ctx context.Context, i int64) (*http.Request, error) {
		return http.NewRequestWithContext(ctx, http.MethodDelete, fmt.Sprintf("%s/ch11/game/delete/%d", at(i), joined+1+i), nil)
	}}); err != nil {
		return nil, nil, err
	}
	if err := phase(rateOptions{Duration: s.dur, Workers: s.conns, Request: func(ctx context.Context, i int64) (*http.Request, error) {
		return postRequest(at(i)+"/ch11/player/add", func(int64) []byte {
			return fmt.Appendf(nil, `{"player_id":%d,"fname":"Ann","lname":"Lee","age":20,"birthday":"2004-01-02","date_started":"2020-05-01","game_id":%d}`, i+1, 1+i%joined)
		})(ctx, i)
	}}); err != nil {
		return nil, nil, err
	}
	return loads, perReq, nil
}

// commandsTotal sums mongodb_driver_commands_total over the instances'
// /metrics.
func commandsTotal(ctx context.Context, bases []string) (float64, error) {
	var sum float64
	for _, b := range bases {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, b+"/metrics", nil)
		if err != nil {
			return 0, err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err
		}
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			if !strings.HasPrefix(line, "mongodb_driver_commands_total{") {
				continue
			}
			v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
			if err == nil {
				sum += v
			}
		}
		resp.Body.Close()
		if err := sc.Err(); err != nil {
			return 0, err
		}
	}
	return sum, nil
}

// buildRevision builds the service from git revision rev (git archive into
// out/tmp, then go build), for a before/after comparison in one run.
func buildRevision(ctx context.Context, s *suite, rev string) (string, error) {
	dir, err := s.tempDir("base-src")
	if err != nil {
		return "", err
	}
	archive := exec.CommandContext(ctx, "sh", "-c", `git -C "$1" archive "$2" | tar -x -C "$3"`, "sh", s.root, rev, dir)
	if out, err := archive.CombinedOutput(); err != nil {
		return "", fmt.Errorf("git archive %s: %w\n%s", rev, err, out)
	}
	bin := filepath.Join(s.out, "bin", "sports-service-base")
	s.logf("building the base %s into %s", rev, bin)
	if err := goBuild(ctx, dir, bin, "."); err != nil {
		return "", err
	}
	return bin, os.RemoveAll(dir)
}
