package main

import (
	"fmt"
	"strings"
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
	eureka := testenv.StartEureka(t)
	a := startService(t, eurekaEnv(eureka.URL))
	b := startService(t, eurekaEnv(eureka.URL))

	registered := func(s *testService) func() (bool, string) {
		return func() (bool, string) {
			inst, err := eureka.Instance("SPORTS_SERVICE", "127.0.0.1:sports_service:"+portOf(s.URL))
			if err != nil || inst == nil {
				return false, fmt.Sprint(inst, err)
			}
			return inst.Status == "UP", inst.Status
		}
	}
	eventually(t, 30*time.Second, "instance A registered UP", registered(a))
	eventually(t, 30*time.Second, "instance B registered UP", registered(b))

	inst, _ := eureka.Instance("SPORTS_SERVICE", "127.0.0.1:sports_service:"+portOf(a.URL))
	if inst.Port.Port != atoi(t, portOf(a.URL)) || inst.IPAddr != "127.0.0.1" ||
		!strings.HasSuffix(inst.HealthCheckURL, "/health") || !strings.HasSuffix(inst.StatusPageURL, "/info") {
		t.Errorf("registered instance is wrong: %+v", inst)
	}

	// /health shows the registration, and readiness does not depend on it.
	expect(t, a.do(t, "GET", "/health", nil), 200, `"discovery"`, `"registered":true`)

	// A sees both instances and calls alternate between them.
	eventually(t, 30*time.Second, "A's registry cache lists both instances", func() (bool, string) {
		r := a.do(t, "GET", "/ch11/discovery/SPORTS_SERVICE", nil)
		return r.Status == 200 && strings.Count(string(r.Body), `"status":"UP"`) == 2, string(r.Body)
	})
	served := map[string]int{}
	for range 6 {
		var out struct {
			Info struct {
				Instance string `json:"instance"`
			} `json:"info"`
		}
		r := a.do(t, "GET", "/ch11/discovery/SPORTS_SERVICE/info", nil)
		expect(t, r, 200)
		r.JSON(t, &out)
		served[portOf(out.Info.Instance)]++
	}
	if served[portOf(a.URL)] != 3 || served[portOf(b.URL)] != 3 {
		t.Errorf("calls through discovery were served %v; want 3 each by %s and %s", served, portOf(a.URL), portOf(b.URL))
	}

	// Stopping B (SIGTERM's path) removes it from the registry before run returns.
	stopping := time.Now()
	b.Stop(t)
	t.Logf("SIGTERM to B's exit, deregistration included: %v", time.Since(stopping).Round(time.Millisecond))
	if inst, err := eureka.Instance("SPORTS_SERVICE", "127.0.0.1:sports_service:"+portOf(b.URL)); err != nil || inst != nil {
		t.Errorf("after shutdown, B is still registered: %+v %v", inst, err)
	}
	// Calls keep succeeding through A, whatever A's cache still says of B.
	for range 4 {
		expect(t, a.do(t, "GET", "/ch11/discovery/SPORTS_SERVICE/info", nil), 200)
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
			inst, err := eureka.Instance("SPORTS_SERVICE", "127.0.0.1:sports_service:"+portOf(d.URL))
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
	expect(t, c.do(t, "GET", "/health/ready", nil), 200)
	expect(t, c.do(t, "POST", "/ch11/player/add", playerBody(1)), 201)
	expect(t, c.do(t, "GET", "/health", nil), 200, `"discovery":{"status":"DOWN"`)
	eventually(t, 30*time.Second, "A serves its last registry copy, marked stale", func() (bool, string) {
		r := a.do(t, "GET", "/ch11/discovery/SPORTS_SERVICE", nil)
		return r.Status == 200 && strings.Contains(string(r.Body), `"stale":true`), string(r.Body)
	})
	back := eureka.Start()
	eventually(t, 60*time.Second, "C registered once Eureka came up", registered(c))
	eventually(t, 60*time.Second, "A registered again after Eureka's restart", registered(a))
	t.Logf("Eureka back to both instances registered: %v", time.Since(back).Round(time.Millisecond))
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	var n int
	if _, err := fmt.Sscan(s, &n); err != nil {
		t.Fatal(err)
	}
	return n
}
