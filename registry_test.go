package main

import (
	"fmt"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/osms/sports-service/internal/testenv"
)

// eurekaEnv registers a test service quickly: short lease, heartbeat,
// fetch and status intervals, and loopback addresses.
func eurekaEnv(url string) map[string]string {
	return map[string]string{
		"EUREKA_URL":                             url,
		"EUREKA_INSTANCE_HOSTNAME":               "127.0.0.1",
		"EUREKA_INSTANCE_IP":                     "127.0.0.1",
		"EUREKA_PREFER_IP_ADDRESS":               "true",
		"EUREKA_LEASE_RENEWAL_INTERVAL_SECONDS":  "1",
		"EUREKA_LEASE_DURATION_SECONDS":          "3",
		"EUREKA_REGISTRY_FETCH_INTERVAL_SECONDS": "1",
		"EUREKA_STATUS_CHECK_INTERVAL_SECONDS":   "1",
		"EUREKA_RETRY_MAX_BACKOFF_SECONDS":       "2",
	}
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(within)
	last := ""
	for time.Now().Before(deadline) {
		ok, state := cond()
		if ok {
			return
		}
		last = state
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s: not reached within %v; last state: %s", what, within, last)
}

func portOf(url string) string { return url[strings.LastIndex(url, ":")+1:] }

// TestEurekaRegistrationAndDiscovery runs two instances of the whole service
// against the real Eureka server.
func TestEurekaRegistrationAndDiscovery(t *testing.T) {
	// It waits on registry intervals, not on the CPU: it runs beside the others.
	t.Parallel()
	eureka := testenv.StartEureka(t)
	a := startService(t, eurekaEnv(eureka.URL))
	b := startService(t, eurekaEnv(eureka.URL))

	registered := registeredUp(eureka)
	eventually(t, 30*time.Second, "instance A registered UP", registered(a))
	eventually(t, 30*time.Second, "instance B registered UP", registered(b))

	// Each registration (the name, and the book's as alias) carries the
	// address and URLs the instance really serves: each answers 200, with
	// no redirect to follow.
	noRedirect := &http.Client{Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, reg := range []struct{ app, vip string }{{"SPORTS-SERVICE", "sports-service"}, {"SPORTS_SERVICE", "sports_service"}} {
		id := "127.0.0.1:" + strings.ToLower(reg.app) + ":" + portOf(a.URL)
		inst, err := eureka.Instance(reg.app, id)
		if err != nil || inst == nil {
			t.Fatalf("%s %s not registered: %v", reg.app, id, err)
		}
		if inst.Port.Port != atoi(t, portOf(a.URL)) || inst.IPAddr != "127.0.0.1" || inst.HostName != "127.0.0.1" ||
			inst.VIPAddress != reg.vip || inst.SecureVIPAddress != reg.vip || inst.Status != "UP" {
			t.Errorf("registered instance is wrong: %+v", inst)
		}
		for _, u := range []struct{ name, url, path string }{
			{"homePageUrl", inst.HomePageURL, "/docs"}, {"statusPageUrl", inst.StatusPageURL, "/info"}, {"healthCheckUrl", inst.HealthCheckURL, "/health"},
		} {
			if u.url != a.URL+u.path {
				t.Errorf("%s %s = %q, want %q", reg.app, u.name, u.url, a.URL+u.path)
				continue
			}
			resp, err := noRedirect.Get(u.url)
			if err != nil {
				t.Errorf("%s %s: %v", reg.app, u.name, err)
				continue
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Errorf("%s %s %s answered %d, want 200", reg.app, u.name, u.url, resp.StatusCode)
			}
		}
	}

	// /health shows the registrations with the host in the instance id,
	// and readiness does not depend on them.
	expect(t, a.do(t, "GET", "/health", nil), 200, `"discovery"`, `"registered":true`,
		`"instanceId":"127.0.0.1:sports-service:`+portOf(a.URL)+`"`, `"instanceId":"127.0.0.1:sports_service:`+portOf(a.URL)+`"`,
		`"lifecycle":{"status":"UP"`)

	// A sees both instances and calls alternate between them, by the name
	// and by the book's.
	eventually(t, 30*time.Second, "A's registry cache lists both instances", func() (bool, string) {
		r := a.do(t, "GET", "/ch11/discovery/SPORTS-SERVICE", nil)
		return r.Status == 200 && strings.Count(string(r.Body), `"status":"UP"`) == 2, string(r.Body)
	})
	for _, app := range []string{"sports-service", "SPORTS_SERVICE"} {
		served := map[string]int{}
		for range 6 {
			var info struct {
				Instance string `json:"instance"`
			}
			r := a.do(t, "GET", "/ch11/discovery/"+app+"/info", nil)
			expect(t, r, 200)
			r.JSON(t, &info) // the peer's /info itself, unchanged
			if !strings.HasSuffix(r.Header.Get("X-Discovery-Instance"), ":"+portOf(info.Instance)) {
				t.Errorf("X-Discovery-Instance %q, but %s answered", r.Header.Get("X-Discovery-Instance"), info.Instance)
			}
			served[portOf(info.Instance)]++
		}
		if served[portOf(a.URL)] != 3 || served[portOf(b.URL)] != 3 {
			t.Errorf("calls to %s through discovery were served %v; want 3 each by %s and %s", app, served, portOf(a.URL), portOf(b.URL))
		}
	}

	// Stopping B (SIGTERM's path, SHUTDOWN_DELAY 0) removes it from the
	// registry before run returns.
	stopping := time.Now()
	b.Stop(t)
	t.Logf("SIGTERM to B's exit, deregistration included: %v", time.Since(stopping).Round(time.Millisecond))
	for _, id := range []string{"SPORTS-SERVICE/127.0.0.1:sports-service:", "SPORTS_SERVICE/127.0.0.1:sports_service:"} {
		app, id, _ := strings.Cut(id, "/")
		if inst, err := eureka.Instance(app, id+portOf(b.URL)); err != nil || inst != nil {
			t.Errorf("after shutdown, B is still registered as %s: %+v %v", app, inst, err)
		}
	}
	// Calls keep succeeding through A, whatever A's cache still says of B.
	for range 4 {
		expect(t, a.do(t, "GET", "/ch11/discovery/SPORTS-SERVICE/info", nil), 200)
	}

	// Drain: E stops with a delay. At once it is OUT_OF_SERVICE in Eureka
	// under both names and not ready, while it goes on serving; A's calls
	// by name leave it once A's cache catches up; after the delay it is
	// gone and run returns.
	envE := eurekaEnv(eureka.URL)
	envE["SHUTDOWN_DELAY"] = "4s"
	e := startService(t, envE)
	eventually(t, 30*time.Second, "E registered UP", registered(e))
	stopping = time.Now()
	e.stop()
	e.stop = nil
	eventually(t, 2*time.Second, "E OUT_OF_SERVICE under both names", func() (bool, string) {
		var states []string
		for _, app := range []string{"SPORTS-SERVICE", "SPORTS_SERVICE"} {
			inst, err := eureka.Instance(app, "127.0.0.1:"+strings.ToLower(app)+":"+portOf(e.URL))
			if err != nil || inst == nil {
				return false, fmt.Sprint(app, inst, err)
			}
			states = append(states, inst.Status)
		}
		return states[0] == "OUT_OF_SERVICE" && states[1] == "OUT_OF_SERVICE", fmt.Sprint(states)
	})
	t.Logf("SIGTERM to OUT_OF_SERVICE in Eureka's REST API: %v", time.Since(stopping).Round(time.Millisecond))
	if r := e.do(t, "GET", "/health/ready", nil); r.Status != 503 || !strings.Contains(string(r.Body), `"lifecycle":{"status":"OUT_OF_SERVICE","details":{"since":`) {
		t.Errorf("/health/ready while draining: %d %s", r.Status, r.Body)
	}
	expect(t, e.do(t, "GET", "/health/live", nil), 200)
	expect(t, e.do(t, "POST", "/ch11/player/add", playerBody(7)), 201)
	expect(t, e.do(t, "GET", "/ch11/player/list/all", nil), 200)
	eventually(t, 2*time.Second, "A's cache sees E OUT_OF_SERVICE", func() (bool, string) {
		r := a.do(t, "GET", "/ch11/discovery/SPORTS-SERVICE", nil)
		return strings.Contains(string(r.Body), `"status":"OUT_OF_SERVICE"`), string(r.Body)
	})
	for range 4 {
		r := a.do(t, "GET", "/ch11/discovery/sports-service/info", nil)
		expect(t, r, 200)
		if got := r.Header.Get("X-Discovery-Instance"); !strings.HasSuffix(got, ":"+portOf(a.URL)) {
			t.Errorf("a call by name went to %s while E drains; want A", got)
		}
	}
	if time.Since(stopping) > 4*time.Second {
		t.Errorf("the checks of the delay took %v, beyond SHUTDOWN_DELAY: they did not test the delay", time.Since(stopping))
	}
	select {
	case err := <-e.done:
		if err != nil {
			t.Errorf("run returned %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("E did not stop after its delay")
	}
	exited := time.Since(stopping)
	t.Logf("MEASURE: SIGTERM to run's return with SHUTDOWN_DELAY=4s: %v", exited.Round(time.Millisecond))
	if exited < 4*time.Second || exited > 8*time.Second {
		t.Errorf("E stopped %v after the signal, want just after its 4s delay", exited)
	}
	if inst, err := eureka.Instance("SPORTS-SERVICE", "127.0.0.1:sports-service:"+portOf(e.URL)); err != nil || inst != nil {
		t.Errorf("after its drain E is still registered: %+v %v", inst, err)
	}

	// A log line names its component once, and durations read like "1s".
	for _, line := range strings.Split(a.Logs.String(), "\n") {
		if strings.Count(line, `"component":`) > 1 {
			t.Errorf("log line with the key component twice: %s", line)
		}
	}
	if !strings.Contains(a.Logs.String(), `"renewal":"1s","lease":"3s"`) {
		t.Error(`no "eureka registrar starting" line with "renewal":"1s","lease":"3s"`)
	}

	// The database behind an instance goes away: Eureka marks it DOWN;
	// when it comes back, UP again. Readiness drives the registry status.
	mongoURI := testenv.StartFerretDB(t)
	link := testenv.StartTCPProxy(t, strings.TrimSuffix(strings.TrimPrefix(mongoURI, "mongodb://"), "/"))
	env := eurekaEnv(eureka.URL)
	env["MONGODB_URI"] = "mongodb://" + link.Addr + "/?directConnection=true"
	env["DB_TIMEOUT"], env["READY_TIMEOUT"] = "500ms", "500ms"
	d := startService(t, env)
	status := func(want string) func() (bool, string) {
		return func() (bool, string) {
			inst, err := eureka.Instance("SPORTS-SERVICE", "127.0.0.1:sports-service:"+portOf(d.URL))
			if err != nil || inst == nil {
				return false, fmt.Sprint(inst, err)
			}
			return inst.Status == want, inst.Status
		}
	}
	eventually(t, 30*time.Second, "D registered UP", status("UP"))
	link.Cut()
	eventually(t, 30*time.Second, "D marked DOWN while its database is unreachable", status("DOWN"))
	if r := d.do(t, "GET", "/health/ready", nil); r.Status != 503 {
		t.Errorf("/health/ready = %d while the database is cut, want 503", r.Status)
	}
	link.Restore()
	eventually(t, 30*time.Second, "D back UP once its database answers", status("UP"))
	d.Stop(t)

	// With the registry down, a new instance starts and serves; when the
	// registry comes back (empty), both running instances register again.
	eureka.Stop()
	c := startService(t, eurekaEnv(eureka.URL))
	c.awaitReady(t)
	expect(t, c.do(t, "POST", "/ch11/player/add", playerBody(1)), 201)
	expect(t, c.do(t, "GET", "/health", nil), 200, `"discovery":{"status":"DOWN"`)
	eventually(t, 30*time.Second, "A serves its last registry copy, marked stale", func() (bool, string) {
		r := a.do(t, "GET", "/ch11/discovery/SPORTS-SERVICE", nil)
		return r.Status == 200 && strings.Contains(string(r.Body), `"stale":true`), string(r.Body)
	})
	back := eureka.Start()
	eventually(t, 60*time.Second, "C registered once Eureka came up", registered(c))
	eventually(t, 60*time.Second, "A registered again after Eureka's restart", registered(a))
	t.Logf("Eureka back to both instances registered: %v", time.Since(back).Round(time.Millisecond))
}

// registeredUp reports whether a service's primary registration is UP.
func registeredUp(eureka *testenv.Eureka) func(s *testService) func() (bool, string) {
	return func(s *testService) func() (bool, string) {
		return func() (bool, string) {
			inst, err := eureka.Instance("SPORTS-SERVICE", "127.0.0.1:sports-service:"+portOf(s.URL))
			if err != nil || inst == nil {
				return false, fmt.Sprint(inst, err)
			}
			return inst.Status == "UP", inst.Status
		}
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	var n int
	if _, err := fmt.Sscan(s, &n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestShutdownDelayProcess stops the built binary, registered in the real
// Eureka, with SIGTERM: with no delay it leaves at once; with a delay it is
// OUT_OF_SERVICE and not ready, serves on, and exits after the delay; a
// second SIGTERM ends the delay. It measures SIGTERM to exit.
func TestShutdownDelayProcess(t *testing.T) {
	// It waits out a shutdown delay, not on the CPU: it runs beside the others.
	t.Parallel()
	eureka := testenv.StartEureka(t)
	registered := func(p *serviceProcess) func() (bool, string) {
		return func() (bool, string) {
			inst, err := eureka.Instance("SPORTS-SERVICE", "127.0.0.1:sports-service:"+portOf(p.URL))
			if err != nil || inst == nil {
				return false, fmt.Sprint(inst, err)
			}
			return inst.Status == "UP", inst.Status
		}
	}
	tests := []struct {
		name       string
		delay      time.Duration
		secondSig  time.Duration // 0: none
		minExit    time.Duration
		maxExit    time.Duration
		checkDrain bool
	}{
		{"no delay", 0, 0, 0, 2 * time.Second, false},
		{"3s delay", 3 * time.Second, 0, 3 * time.Second, 5 * time.Second, true},
		{"60s delay cut by a second SIGTERM", time.Minute, time.Second, time.Second, 4 * time.Second, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := eurekaEnv(eureka.URL)
			env["SHUTDOWN_DELAY"] = tt.delay.String()
			p := startProcess(t, env)
			eventually(t, 30*time.Second, "registered UP", registered(p))

			signalled := time.Now()
			if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			if tt.checkDrain {
				eventually(t, 2*time.Second, "OUT_OF_SERVICE in Eureka", func() (bool, string) {
					inst, err := eureka.Instance("SPORTS-SERVICE", "127.0.0.1:sports-service:"+portOf(p.URL))
					if err != nil || inst == nil {
						return false, fmt.Sprint(inst, err)
					}
					return inst.Status == "OUT_OF_SERVICE", inst.Status
				})
				if got := getStatus(t, p.URL+"/health/ready"); got != 503 {
					t.Errorf("/health/ready while draining = %d, want 503", got)
				}
				if got := getStatus(t, p.URL+"/health/live"); got != 200 {
					t.Errorf("/health/live while draining = %d, want 200", got)
				}
				if got := getStatus(t, p.URL+"/ch11/player/list/all"); got != 200 {
					t.Errorf("an API call while draining = %d, want 200", got)
				}
			}
			if tt.secondSig > 0 {
				time.Sleep(time.Until(signalled.Add(tt.secondSig)))
				if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
					t.Fatal(err)
				}
			}
			exit := p.awaitExit(t, signalled, tt.maxExit+10*time.Second)
			t.Logf("MEASURE: SIGTERM to exit, SHUTDOWN_DELAY=%v (second SIGTERM after %v): %v", tt.delay, tt.secondSig, exit.Round(time.Millisecond))
			if exit < tt.minExit || exit > tt.maxExit {
				t.Errorf("exited %v after SIGTERM, want within [%v, %v]", exit, tt.minExit, tt.maxExit)
			}
			for _, app := range []string{"SPORTS-SERVICE", "SPORTS_SERVICE"} {
				if inst, err := eureka.Instance(app, "127.0.0.1:"+strings.ToLower(app)+":"+portOf(p.URL)); err != nil || inst != nil {
					t.Errorf("%s still registered after exit: %+v %v", app, inst, err)
				}
			}
		})
	}
}
