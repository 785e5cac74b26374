package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/osms/sports-service/internal/testenv"
)

// The registration the interop tests expect by default (docs/deployment.md,
// "Registration in Eureka"): Spring Cloud looks the service up by vipAddress,
// py_eureka_client by application name.
const (
	interopApp = "SPORTS-SERVICE"
	interopVIP = "sports-service"
	// interopBookApp is the book's name, registered as an alias.
	interopBookApp = "sports_service"
	pythonPeerApp  = "INTEROP-PY-PEER"
)

// interopDrainDelay is SHUTDOWN_DELAY for the stop with drain. The callers'
// caches in this test: Eureka server response cache off (registry/'s "test"
// profile), Spring's registry fetch 1 s and LoadBalancer cache 1 s
// (interop/spring-client's "fast" profile), so a caller stops picking a
// leaving instance within at most about 2 s (about 1 s measured); 5 s leaves
// room for a busy machine.
const interopDrainDelay = 5 * time.Second

// TestRealClients calls two instances of the built service, registered in
// the real Eureka server, from the real clients of such a registry: a Spring
// Cloud application (@LoadBalanced RestClient, Eureka client, LoadBalancer)
// and py_eureka_client; and it reaches a Python app and the Spring app
// through the service's /ch11/discovery/{app}/info. Then it stops one of the
// two instances with SIGTERM under a steady call loop, with and without the
// drain delay. The figures it logs (FIGURE:) are those of
// docs/reliability.md, "Tested with real clients".
func TestRealClients(t *testing.T) {
	// It waits on JVMs and registry intervals, not on the CPU: it runs beside the others.
	t.Parallel()
	python := testenv.EurekaPython(t) // before the slow starts: a missing venv skips at once
	eureka := testenv.StartEureka(t)
	// The JVM takes a while to start; the rest starts meanwhile.
	spring := testenv.StartSpringClient(t, eureka.URL)
	peer := testenv.StartPythonPeer(t, python, eureka.URL, pythonPeerApp)

	env := eurekaEnv(eureka.URL)
	env["SHUTDOWN_DELAY"] = interopDrainDelay.String()
	a := startProcess(t, env)
	b := startProcess(t, env)
	spring.WaitReady(t)
	waitSpringSees(t, spring, a, b)

	t.Run("Spring calls spread over both instances", func(t *testing.T) {
		const n = 40
		var st testenv.CallStats
		spring.Do(t, http.MethodGet, fmt.Sprintf("/calls?n=%d", n), &st)
		if st.Failed != 0 || st.OK != n {
			t.Fatalf("%d of %d calls failed: %+v", st.Failed, n, st.Errors)
		}
		spread := byPort(st.PerInstance)
		// Spring's default load balancer is round-robin: half each.
		for _, p := range []*serviceProcess{a, b} {
			if got := spread[portOf(p.URL)]; got < n/4 {
				t.Errorf("instance %s served %d of %d calls; spread %v", portOf(p.URL), got, n, spread)
			}
		}
		t.Logf("FIGURE: Spring @LoadBalanced RestClient, %d calls to http://%s/info: %d failed, spread over instances %v", n, interopVIP, st.Failed, spread)
	})

	t.Run("Spring DiscoveryClient sees the registration", func(t *testing.T) {
		seen := spring.Instances(t, interopVIP)
		registered, err := eureka.App(interopApp)
		if err != nil {
			t.Fatal(err)
		}
		if len(seen) != 2 {
			t.Fatalf("DiscoveryClient lists %d instances of %s, want 2 (the alias must not count): %+v", len(seen), interopVIP, seen)
		}
		for _, si := range seen {
			i := slices.IndexFunc(registered, func(r testenv.RegisteredInstance) bool { return r.InstanceID == si.InstanceID })
			if i < 0 {
				t.Errorf("Spring sees %s, which Eureka does not list under %s", si.InstanceID, interopApp)
				continue
			}
			reg := registered[i]
			port := fmt.Sprint(si.Port)
			want := testenv.SpringInstance{
				// Spring's ServiceInstance names the service by its app name.
				ServiceID: interopApp, InstanceID: "127.0.0.1:" + interopVIP + ":" + port,
				Host: "127.0.0.1", Port: reg.Port.Port, URI: "http://127.0.0.1:" + port, Metadata: reg.Metadata,
				App: interopApp, VIPAddress: interopVIP, SecureVIPAddress: interopVIP,
				IPAddr: "127.0.0.1", HostName: "127.0.0.1", Status: "UP",
				HomePageURL: reg.HomePageURL, StatusPageURL: reg.StatusPageURL, HealthCheckURL: reg.HealthCheckURL,
			}
			if !reflect.DeepEqual(si, want) {
				t.Errorf("Spring sees\n  %+v\nwant\n  %+v", si, want)
			}
			// The documented metadata, with the version /info reports.
			var info map[string]any
			getJSON(t, si.URI+"/info", &info)
			if si.Metadata["version"] == "" || si.Metadata["version"] != info["version"] || si.Metadata["startTime"] == "" {
				t.Errorf("metadata %v: want version (= /info's %v) and startTime", si.Metadata, info["version"])
			}
			// Every registered URL is served, on the advertised host and port.
			for _, u := range []string{si.HomePageURL, si.StatusPageURL, si.HealthCheckURL} {
				if !strings.HasPrefix(u, si.URI+"/") {
					t.Errorf("registered URL %s is not on %s", u, si.URI)
				}
				if st := getStatus(t, u); st != http.StatusOK {
					t.Errorf("GET %s (registered) = %d, want 200", u, st)
				}
			}
		}
	})

	t.Run("py_eureka_client do_service by name", func(t *testing.T) {
		var direct map[string]any
		getJSON(t, a.URL+"/info", &direct)
		for _, name := range []string{strings.ToLower(interopApp), interopBookApp} {
			const n = 6
			out := runPython(t, python, testenv.PythonScript(t, "call_service.py"),
				"--eureka", eureka.URL, "--app", name, "--calls", fmt.Sprint(n))
			var res struct {
				Answers []map[string]any `json:"answers"`
			}
			if err := json.Unmarshal(out, &res); err != nil || len(res.Answers) != n {
				t.Fatalf("call_service.py --app %s printed %s (%v); want %d answers", name, out, err, n)
			}
			spread := map[string]int{}
			for _, ans := range res.Answers {
				inst, _ := ans["instance"].(string)
				spread[portOf(inst)]++
				// The service's own /info: same fields, same build.
				if !sameKeys(ans, direct) || ans["app"] != direct["app"] || ans["version"] != direct["version"] {
					t.Errorf("do_service(%q, \"/info\") = %v; the service's /info is %v", name, ans, direct)
				}
				if p := portOf(inst); p != portOf(a.URL) && p != portOf(b.URL) {
					t.Errorf("answered by %q, which is neither instance", inst)
				}
			}
			t.Logf("FIGURE: py_eureka_client do_service(%q, \"/info\"), %d calls: spread %v", name, n, spread)
		}
	})

	// Each peer's registered statusPageUrl answer comes back through the
	// service unchanged: status, content type and the exact bytes.
	for _, tc := range []struct {
		name, app, statusPage string
	}{
		{"Python app through /ch11/discovery", pythonPeerApp, peer.URL + "/info"},
		{"Spring actuator through /ch11/discovery", testenv.SpringClientApp, spring.URL + "/actuator/info"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eventually(t, 30*time.Second, a.URL+" lists "+tc.app, func() (bool, string) {
				st, _, body := get(t, a.URL+"/ch11/discovery/"+tc.app)
				return st == http.StatusOK && strings.Contains(string(body), `"UP"`), string(body)
			})
			wantStatus, wantType, wantBody := get(t, tc.statusPage)
			gotStatus, gotType, gotBody := get(t, a.URL+"/ch11/discovery/"+strings.ToLower(tc.app)+"/info")
			if gotStatus != wantStatus || gotType != wantType || !bytes.Equal(gotBody, wantBody) {
				t.Errorf("through the service: %d %q %q\nthe peer's %s: %d %q %q",
					gotStatus, gotType, gotBody, tc.statusPage, wantStatus, wantType, wantBody)
			}
			if wantStatus != http.StatusOK || len(wantBody) == 0 {
				t.Errorf("the peer's own %s answered %d %q", tc.statusPage, wantStatus, wantBody)
			}
		})
	}

	t.Run("SIGTERM with drain delay: no call fails", func(t *testing.T) {
		st, exit := stopUnderLoad(t, spring, python, eureka.URL, b)
		t.Logf("FIGURE: stop of 1 of 2 instances under a Spring call loop, SHUTDOWN_DELAY=%v: %d calls, %d failed; SIGTERM to exit %v; the stopped instance last answered %v after SIGTERM; spread %v",
			interopDrainDelay, st.OK+st.Failed, st.Failed, exit.Round(time.Millisecond), st.lastAnswer, st.spread)
		t.Logf("FIGURE: the same stop, py_eureka_client do_service loop beside it: %d calls, %d failed, %d sent on to the other node after a refusal; spread %v",
			st.python.OK+st.python.Failed, st.python.Failed, st.python.FailedOver, byPort(st.python.PerInstance))
		if st.Failed != 0 {
			t.Errorf("%d of %d Spring calls failed while an instance drained: %+v", st.Failed, st.OK+st.Failed, st.Errors)
		}
		if st.python.Failed != 0 || st.python.OK == 0 {
			t.Errorf("py_eureka_client: %d calls ok, %d failed while an instance drained: %v", st.python.OK, st.python.Failed, st.python.Errors)
		}
		if exit < interopDrainDelay || exit > interopDrainDelay+5*time.Second {
			t.Errorf("exit %v after SIGTERM; want the drain delay %v and little more", exit, interopDrainDelay)
		}
		if st.lastAnswer > interopDrainDelay {
			t.Errorf("the stopped instance answered %v after SIGTERM, beyond its drain delay", st.lastAnswer)
		}
	})

	t.Run("SIGTERM without drain delay (measured, not asserted)", func(t *testing.T) {
		noDelay := eurekaEnv(eureka.URL)
		noDelay["SHUTDOWN_DELAY"] = "0s"
		c := startProcess(t, noDelay)
		waitSpringSees(t, spring, a, c)
		st, exit := stopUnderLoad(t, spring, python, eureka.URL, c)
		t.Logf("FIGURE: stop of 1 of 2 instances under a Spring call loop, SHUTDOWN_DELAY=0: %d calls, %d failed (%s); SIGTERM to exit %v; spread %v",
			st.OK+st.Failed, st.Failed, st.causes(st.signalled), exit.Round(time.Millisecond), st.spread)
		t.Logf("FIGURE: the same stop, py_eureka_client do_service loop beside it: %d calls, %d failed %v, %d sent on to the other node after a refusal; spread %v",
			st.python.OK+st.python.Failed, st.python.Failed, st.python.Errors, st.python.FailedOver, byPort(st.python.PerInstance))
	})
}

// waitSpringSees waits until Spring's load balancer picks exactly the
// given instances: its DiscoveryClient lists them and a few calls reach each.
func waitSpringSees(t *testing.T, spring *testenv.SpringClient, want ...*serviceProcess) {
	t.Helper()
	var ports []string
	for _, p := range want {
		ports = append(ports, portOf(p.URL))
	}
	sort.Strings(ports)
	eventually(t, 60*time.Second, fmt.Sprintf("Spring calls reach exactly the instances on ports %v", ports), func() (bool, string) {
		var st testenv.CallStats
		spring.Do(t, http.MethodGet, "/calls?n=6", &st)
		got := make([]string, 0, len(st.PerInstance))
		for p := range byPort(st.PerInstance) {
			got = append(got, p)
		}
		sort.Strings(got)
		return st.Failed == 0 && slices.Equal(got, ports), fmt.Sprintf("%+v", st)
	})
}

// loopResult is the call loops' counters around one stop.
type loopResult struct {
	testenv.CallStats // Spring's
	python            pythonStats
	spread            map[string]int
	// lastAnswer is when the stopped instance last answered, after SIGTERM.
	lastAnswer time.Duration
	signalled  time.Time
}

// stopUnderLoad runs Spring's call loop (one call every 10 ms) and a
// py_eureka_client loop (every 20 ms), sends SIGTERM to p after a second,
// and stops the loops 3 s after p exited, by which time Spring's caches have
// dropped p (py_eureka_client's, refreshed every 30 s, have not). It returns
// the loops' counters and the time from SIGTERM to exit.
func stopUnderLoad(t *testing.T, spring *testenv.SpringClient, python, eurekaURL string, p *serviceProcess) (loopResult, time.Duration) {
	t.Helper()
	py := startPythonLoop(t, python, eurekaURL)
	spring.Do(t, http.MethodPost, "/loop/start?intervalMs=10", nil)
	time.Sleep(time.Second)
	signalled := time.Now()
	exit := p.terminate(t, interopDrainDelay+30*time.Second)
	time.Sleep(3 * time.Second)
	res := loopResult{signalled: signalled}
	spring.Do(t, http.MethodPost, "/loop/stop", &res.CallStats)
	res.python = py.stop(t)
	res.spread = byPort(res.PerInstance)
	var othersLast time.Time
	for inst, ms := range res.LastMillis {
		if portOf(inst) == portOf(p.URL) {
			res.lastAnswer = time.UnixMilli(ms).Sub(signalled).Round(10 * time.Millisecond)
		} else if at := time.UnixMilli(ms); at.After(othersLast) {
			othersLast = at
		}
	}
	// The loop covered the stop: p served calls before it, and the other
	// instance went on answering after p had exited.
	if res.spread[portOf(p.URL)] == 0 || othersLast.Before(signalled.Add(exit)) {
		t.Errorf("the loop did not cover the stop: spread %v, last answer from another instance %v after SIGTERM (exit at %v)",
			res.spread, othersLast.Sub(signalled), exit)
	}
	return res, exit
}

// causes counts the recorded errors by their chain of exception classes,
// e.g. "ResourceAccessException < ConnectException < ClosedChannelException"
// (a refused connection), and says when they happened relative to signalled.
func (r loopResult) causes(signalled time.Time) string {
	byClass := map[string]int{}
	var first, last time.Duration
	for i, e := range r.Errors {
		chain, _, _ := strings.Cut(e.Error, ":")
		byClass[chain]++
		at := time.UnixMilli(e.AtMillis).Sub(signalled)
		if i == 0 {
			first = at
		}
		last = at
	}
	if len(r.Errors) == 0 {
		return "none"
	}
	return fmt.Sprintf("%v, from %v to %v after SIGTERM", byClass, first.Round(10*time.Millisecond), last.Round(10*time.Millisecond))
}

// pythonStats are call_service.py --loop's counters.
type pythonStats struct {
	OK          int            `json:"ok"`
	Failed      int            `json:"failed"`
	PerInstance map[string]int `json:"perInstance"`
	Errors      []string       `json:"errors"`
	// FailedOver counts the calls a node did not answer, which
	// py_eureka_client then sent to another node.
	FailedOver int `json:"-"`
}

// pythonLoop is call_service.py --loop: py_eureka_client calling the
// service by name until told to stop.
type pythonLoop struct {
	cmd    *exec.Cmd
	out    *syncBuffer
	exited chan error
}

// startPythonLoop starts the loop and waits until it has loaded the
// registry and begun calling.
func startPythonLoop(t *testing.T, python, eurekaURL string) *pythonLoop {
	t.Helper()
	l := &pythonLoop{out: &syncBuffer{}, exited: make(chan error, 1)}
	l.cmd = exec.Command(python, testenv.PythonScript(t, "call_service.py"),
		"--eureka", eurekaURL, "--app", strings.ToLower(interopApp), "--loop")
	var stderr syncBuffer
	l.cmd.Stdout, l.cmd.Stderr = l.out, &stderr
	if err := l.cmd.Start(); err != nil {
		t.Fatalf("start call_service.py --loop: %v", err)
	}
	go func() { l.exited <- l.cmd.Wait() }()
	t.Cleanup(func() {
		_ = l.cmd.Process.Kill()
		if t.Failed() {
			t.Logf("call_service.py --loop stderr:\n%s", lastLines(stderr.String(), 20))
		}
	})
	eventually(t, 30*time.Second, "call_service.py --loop started", func() (bool, string) {
		return strings.HasPrefix(l.out.String(), "looping\n"), stderr.String()
	})
	return l
}

// stop sends SIGINT and returns the loop's counters.
func (l *pythonLoop) stop(t *testing.T) pythonStats {
	t.Helper()
	_ = l.cmd.Process.Signal(os.Interrupt)
	select {
	case err := <-l.exited:
		if err != nil {
			t.Fatalf("call_service.py --loop: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("call_service.py --loop did not stop within 15 s of SIGINT")
	}
	// py_eureka_client logs to stdout too; the counters are the last line.
	out := strings.TrimSpace(l.out.String())
	var st pythonStats
	if err := json.Unmarshal([]byte(out[strings.LastIndex(out, "\n")+1:]), &st); err != nil {
		t.Fatalf("call_service.py --loop printed %q: %v", lastLines(out, 5), err)
	}
	// A node that fails to answer is logged and the call goes on to the next.
	st.FailedOver = strings.Count(out, "use next node")
	return st
}

// byPort keys per-instance counts by port ("host:port" → "port").
func byPort(perInstance map[string]int) map[string]int {
	out := map[string]int{}
	for inst, n := range perInstance {
		out[portOf(inst)] += n
	}
	return out
}

// get returns a GET's status, Content-Type and whole body.
func get(t *testing.T, url string) (int, string, []byte) {
	t.Helper()
	resp, err := (&http.Client{Timeout: 15 * time.Second}).Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	body, err := readAll(resp)
	if err != nil {
		t.Fatalf("GET %s: read: %v", url, err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), body
}

func getJSON(t *testing.T, url string, out any) {
	t.Helper()
	st, _, body := get(t, url)
	if st != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, st, body)
	}
	if err := json.Unmarshal(body, out); err != nil {
		t.Fatalf("GET %s: decode %s: %v", url, body, err)
	}
}

func sameKeys(x, y map[string]any) bool {
	if len(x) != len(y) {
		return false
	}
	for k := range x {
		if _, ok := y[k]; !ok {
			return false
		}
	}
	return true
}

// runPython runs a script with the venv's python and returns its stdout; a
// failure shows its stderr.
func runPython(t *testing.T, python string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, lastLines(stderr.String(), 20))
	}
	return out
}
