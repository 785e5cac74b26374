package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// scenarioResources: start-up time, idle RSS, what is left after a load
// (open descriptors, goroutines), and binary sizes.
func scenarioResources(ctx context.Context, s *suite) error {
	dir, err := s.tempDir("resources")
	if err != nil {
		return err
	}
	t := s.addTable(&table{ID: "resources", Title: "Resources of the service on its embedded database",
		Note: fmt.Sprintf("Start-up: exec to the first 200 from /health/ready, fresh data directory, %d starts, median (max). RSS from /proc/PID/status. "+
			"'After load': %s of wrk -c%d on /health/live then on get-by-id, then 2 s idle. Goroutines from /metrics (go_goroutines) when the service serves it.",
			s.runs, s.dur, s.conns),
		Header: []string{"figure", "value", "target"}})

	var starts []float64
	var idle, idleLater int64
	for i := range s.runs {
		svc, err := startService(s, "service-resources", filepath.Join(dir, "data-"+strconv.Itoa(i)), "")
		if err != nil {
			return err
		}
		starts = append(starts, float64(svc.startup.Microseconds()))
		if i < s.runs-1 {
			svc.stop()
			continue
		}
		// The last one stays up for the idle and after-load figures.
		idle = procStatus(svc.pid(), "VmRSS")
		anon, file := procStatus(svc.pid(), "RssAnon"), procStatus(svc.pid(), "RssFile")
		time.Sleep(min(5*time.Second, s.dur))
		idleLater = procStatus(svc.pid(), "VmRSS")
		fds0, conns0 := openFDs(svc.pid()), httpConns(svc.base)
		g0 := goroutines(ctx, svc.base)
		if err := seedOne(ctx, svc.base); err != nil {
			svc.stop()
			return err
		}
		for _, path := range []string{"/health/live", "/ch11/player/get/1"} {
			if _, err := runWrk(ctx, s.out, wrkOptions{URL: svc.base + path, Conns: s.conns, Threads: s.threads, Duration: s.dur}); err != nil {
				svc.stop()
				return err
			}
		}
		time.Sleep(2 * time.Second)
		fds1, conns1, g1 := openFDs(svc.pid()), httpConns(svc.base), goroutines(ctx, svc.base)
		rssAfter, hwm := procStatus(svc.pid(), "VmRSS"), procStatus(svc.pid(), "VmHWM")
		svc.stop()

		maxStart := slicesMax(starts)
		t.row("start-up to ready, median (max) ms", fmt.Sprintf("%.0f (%.0f)", medianF(starts)/1000, maxStart/1000),
			verdict(medianF(starts) < 1e6)+" (< 1 s)")
		t.row("RSS idle, right after ready, MB", fmt.Sprintf("%s (anon %s + file %s)", mb(idle), mb(anon), mb(file)), verdict(idle < 60<<20)+" (< 60 MB)")
		t.row("RSS idle, 5 s later, MB", mb(idleLater), verdict(idleLater < 60<<20)+" (< 60 MB)")
		t.row("RSS after the loads, 2 s idle, MB (VmHWM)", fmt.Sprintf("%s (%s)", mb(rssAfter), mb(hwm)), "")
		t.row("open descriptors idle / after the loads", fmt.Sprintf("%d / %d", fds0, fds1),
			"(the driver's pool keeps its connections to the embedded database: 2 descriptors each, both ends in this process)")
		t.row("established HTTP connections idle / after the loads", fmt.Sprintf("%d / %d", conns0, conns1), "back to idle")
		t.row("goroutines idle / after the loads", fmt.Sprintf("%s / %s", g0, g1), "back to idle")
	}

	if s.smoke {
		// Two full rebuilds: minutes in CI for figures a smoke run ignores.
		t.row("binary sizes", "skipped in a smoke run", "")
		return nil
	}
	// Binary sizes, stripped as a release build would be.
	for _, b := range []struct{ name, tags string }{{"with the embedded database", ""}, {"-tags noembed,nomsgpack (the image's)", "noembed,nomsgpack"}} {
		bin := filepath.Join(s.out, "bin", "size-"+strings.ReplaceAll(b.tags, ",", "-"))
		flags := []string{"-trimpath", "-ldflags=-s -w"}
		if b.tags != "" {
			flags = append(flags, "-tags", b.tags)
		}
		if err := goBuild(ctx, s.root, bin, ".", flags...); err != nil {
			return err
		}
		fi, err := os.Stat(bin)
		if err != nil {
			return err
		}
		t.row("binary size, stripped (-s -w), "+b.name+", MB", mb(fi.Size()), "")
	}
	if fi, err := os.Stat(s.bin.service); err == nil {
		t.row("binary size, plain go build, MB", mb(fi.Size()), "")
	}
	return nil
}

var goroutinesLine = regexp.MustCompile(`(?m)^go_goroutines(?:\{[^}]*\})? (\d+)`)

// goroutines reads go_goroutines from /metrics, or "n/a" when the service
// has no metrics endpoint.
func goroutines(ctx context.Context, base string) string {
	status, body, err := httpGet(ctx, base+"/metrics")
	if err != nil || status != 200 {
		return "n/a"
	}
	if m := goroutinesLine.FindSubmatch(body); m != nil {
		return string(m[1])
	}
	return "n/a"
}

// seedOne creates player 1 through the API.
func seedOne(ctx context.Context, base string) error {
	req := postRequest(base+"/ch11/player/add", func(int64) []byte {
		return []byte(`{"player_id":1,"fname":"Ann","lname":"Lee","age":20,"birthday":"2004-01-02","date_started":"2020-05-01"}`)
	})
	r, err := req(ctx, 0)
	if err != nil {
		return err
	}
	resp, err := defaultClient.Do(r)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != 201 {
		return fmt.Errorf("create player 1: %s", resp.Status)
	}
	return nil
}

func slicesMax(v []float64) float64 {
	m := 0.0
	for _, x := range v {
		m = max(m, x)
	}
	return m
}

// httpConns counts the established TCP connections whose local end is the
// service's port, from /proc/net/tcp (IPv4 loopback is all the suite uses).
func httpConns(base string) int {
	_, portStr, _ := net.SplitHostPort(strings.TrimPrefix(base, "http://"))
	port, _ := strconv.Atoi(portStr)
	b, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		return -1
	}
	n := 0
	for line := range strings.Lines(string(b)) {
		f := strings.Fields(line)
		// f[1] is local "HEXIP:HEXPORT", f[3] the state: 01 is ESTABLISHED.
		if len(f) > 3 && f[3] == "01" && strings.HasSuffix(f[1], fmt.Sprintf(":%04X", port)) {
			n++
		}
	}
	return n
}
