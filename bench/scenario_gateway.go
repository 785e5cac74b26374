package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/osms/sports-service/internal/gateway"
)

// scenarioGateway compares the service through the NGINX gateway (the
// repository's nginx.conf template, rendered as the deploy tests render it,
// on Debian's nginx) with the service directly, in the same run: the
// trivial route and get-by-id.
func scenarioGateway(ctx context.Context, s *suite) error {
	tmpl, err := os.ReadFile(filepath.Join(s.root, "nginx.conf"))
	if os.IsNotExist(err) {
		s.logf("gateway: no nginx.conf in this tree yet; skipped")
		return nil
	}
	if err != nil {
		return err
	}
	nginx, err := exec.LookPath("nginx")
	if err != nil {
		return fmt.Errorf("nginx is not installed (apt-get install nginx)")
	}
	dir, err := s.tempDir("gateway")
	if err != nil {
		return err
	}
	svc, err := startService(s, "service-gateway", filepath.Join(dir, "data"), "")
	if err != nil {
		return err
	}
	defer svc.stop()
	if err := seedOne(ctx, svc.base); err != nil {
		return err
	}
	gw, err := startNginx(s, nginx, dir, string(tmpl), strings.TrimPrefix(svc.base, "http://"))
	if err != nil {
		return err
	}
	defer gw.stop()
	path, _, _, err := trivialRoute(ctx, svc.base)
	if err != nil {
		return err
	}
	t := s.addTable(&table{ID: "gateway", Title: "Through the NGINX gateway vs direct",
		Note: fmt.Sprintf("nginx.conf rendered for one upstream (the service on its embedded database), nginx access log to /dev/null, worker_processes 2; "+
			"wrk -t%d -c%d, %d runs of %s alternating gateway and direct; medians. CPU: ms per 1,000 requests of the service and of nginx (master and workers).",
			s.threads, s.conns, s.runs, s.dur),
		Header: []string{"route", "via gateway req/s", "direct req/s", "ratio", "gateway p50 / p99 / p99.9 ms", "direct p50 / p99 / p99.9 ms",
			"service CPU ms/1k (gateway / direct)", "nginx CPU ms/1k"},
		Runs: map[string][]Load{}})
	for _, r := range []struct{ name, path string }{{"trivial " + path, path}, {"get-by-id", "/ch11/player/get/1"}} {
		var via, direct side
		var nginxCPU []float64
		for run := range s.runs {
			err := alternate(run,
				func() error {
					nu := measureTree(gw.pids())
					err := wrkSide(ctx, s, svc.pid(), wrkOptions{URL: gw.base + r.path, Conns: s.conns, Threads: s.threads, Duration: s.dur}, &via)
					if err == nil {
						nginxCPU = append(nginxCPU, cpuPer1k(nu(), via.last().Requests))
					}
					return err
				},
				func() error {
					return wrkSide(ctx, s, svc.pid(), wrkOptions{URL: svc.base + r.path, Conns: s.conns, Threads: s.threads, Duration: s.dur}, &direct)
				})
			if err != nil {
				return err
			}
			s.logf("gateway %s run %d: via nginx %.0f req/s, direct %.0f req/s", r.name, run+1, via.last().RPS, direct.last().RPS)
		}
		t.Runs[r.name+" via gateway"], t.Runs[r.name+" direct"] = via.loads, direct.loads
		v, d := median(via.loads), median(direct.loads)
		t.row(r.name, rps(v.RPS), rps(d.RPS), pct(pairedRatio(via.loads, direct.loads)),
			us(v.P50)+" / "+us(v.P99)+" / "+us(v.P999), us(d.P50)+" / "+us(d.P99)+" / "+us(d.P999),
			f1(medianF(via.cpu))+" / "+f1(medianF(direct.cpu)), f1(medianF(nginxCPU)))
		s.plots.throughput = append(s.plots.throughput, bar{label: "via nginx: " + strings.Fields(r.name)[0], ours: v.RPS, base: d.RPS, baseName: "direct"})
	}
	return nil
}

type nginxProc struct {
	*proc
	base string
	dir  string
}

// startNginx renders the template for one upstream and runs nginx on it in
// dir, the way the deploy tests do (internal/gateway).
func startNginx(s *suite, bin, dir, tmpl, upstream string) (*nginxProc, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	vars := gateway.Defaults()
	vars["NGINX_PORT"] = strconv.Itoa(port)
	vars["NGINX_UPSTREAM_SERVERS"] = gateway.Upstreams(upstream)
	vars["NGINX_RESOLVER"] = "127.0.0.1"
	// A line per request to /dev/null: the formatting and the write stay,
	// a disk filling up does not.
	vars["NGINX_ACCESS_LOG"] = "/dev/null"
	args, err := gateway.Prepare(bin, gateway.Config{Dir: dir, Template: []byte(tmpl), Vars: vars, ErrorLogLevel: "warn"})
	if err != nil {
		return nil, err
	}
	p, err := startProc(s.out, "nginx", nil, nil, bin, args...)
	if err != nil {
		return nil, err
	}
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", strings.TrimPrefix(base, "http://"), time.Second)
		if err == nil {
			c.Close()
			break
		}
		if err := p.exited(); err != nil {
			return nil, err
		}
		if time.Now().After(deadline) {
			p.stop()
			return nil, fmt.Errorf("nginx did not listen on %s: %s", base, tail(filepath.Join(dir, "error.log")))
		}
		time.Sleep(20 * time.Millisecond)
	}
	return &nginxProc{proc: p, base: base, dir: dir}, nil
}

// pids are nginx's master and its workers (the master's children).
func (n *nginxProc) pids() []int {
	pids := []int{n.pid()}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", n.pid(), n.pid()))
	if err == nil {
		for _, f := range strings.Fields(string(b)) {
			if pid, err := strconv.Atoi(f); err == nil {
				pids = append(pids, pid)
			}
		}
	}
	return pids
}

func (n *nginxProc) stop() {
	if n != nil {
		n.proc.stop()
	}
}

// measureTree returns a function giving the CPU the processes used since.
func measureTree(pids []int) func() time.Duration {
	var start time.Duration
	for _, p := range pids {
		start += cpuTime(p)
	}
	return func() time.Duration {
		var now time.Duration
		for _, p := range pids {
			now += cpuTime(p)
		}
		return now - start
	}
}
