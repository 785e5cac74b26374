package discovery_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/osms/sports-service/discovery"
	"github.com/osms/sports-service/internal/testenv"
)

// These tests run the real Eureka server (registry/, built by
// .ci/registry.sh) with short leases, and look at it through its REST API.
// They share one server, since a JVM start takes about 20 s.

const (
	testRenewal = time.Second
	testLease   = 2 * time.Second
	// waitLong bounds every poll; no assertion is on speed.
	waitLong = 30 * time.Second
)

// fakeService is a real HTTP server standing in for the sports service,
// with readiness that the test turns on and off.
type fakeService struct {
	name   string
	server *httptest.Server
	port   int
	ready  atomic.Bool
}

func newFakeService(t *testing.T, name string) *fakeService {
	t.Helper()
	s := &fakeService{name: name}
	s.ready.Store(true)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /whoami", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, name) })
	mux.HandleFunc("POST /whoami", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, name) })
	s.server = httptest.NewServer(mux)
	t.Cleanup(s.server.Close)
	u, _ := url.Parse(s.server.URL)
	s.port, _ = strconv.Atoi(u.Port())
	return s
}

func (s *fakeService) readiness(context.Context) error {
	if !s.ready.Load() {
		return errors.New("not ready")
	}
	return nil
}

func testConfig(eurekaURL string, port int) discovery.Config {
	return discovery.Config{
		ServerURLs:            []string{eurekaURL},
		AppName:               discovery.DefaultAppName,
		InstanceHost:          "localhost",
		InstanceIP:            "127.0.0.1",
		Port:                  port,
		RenewalInterval:       testRenewal,
		LeaseDuration:         testLease,
		RegistryFetchInterval: time.Second,
		StatusCheckInterval:   250 * time.Millisecond,
		RetryMaxBackoff:       2 * time.Second,
		RequestTimeout:        2 * time.Second,
		LoadBalancer:          discovery.RoundRobin,
	}
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// runRegistrar starts Run and stops it (without deregistering) at cleanup;
// the returned cancel simulates the process dying.
func runRegistrar(t *testing.T, cfg discovery.Config, svc *fakeService) (*discovery.Registrar, context.CancelFunc) {
	t.Helper()
	r, err := discovery.NewRegistrar(cfg, testLogger(t), svc.readiness, "1.2.3-test")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); r.Run(ctx) }()
	stop := func() { cancel(); <-done }
	t.Cleanup(stop)
	return r, stop
}

// eventually polls cond until it holds or waitLong passes.
func eventually(t *testing.T, what string, cond func() (bool, string)) time.Time {
	t.Helper()
	deadline := time.Now().Add(waitLong)
	var last string
	for time.Now().Before(deadline) {
		ok, detail := cond()
		if ok {
			return time.Now()
		}
		last = detail
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s: not within %s; last: %s", what, waitLong, last)
	return time.Time{}
}

func instanceStatus(t *testing.T, e *testenv.Eureka, id string) (string, string) {
	inst, err := e.Instance(discovery.DefaultAppName, id)
	switch {
	case err != nil:
		return "", err.Error()
	case inst == nil:
		return "", "not registered"
	}
	return inst.Status, "status " + inst.Status
}

func waitForStatus(t *testing.T, e *testenv.Eureka, id, want string) time.Time {
	t.Helper()
	return eventually(t, id+" "+want, func() (bool, string) {
		got, detail := instanceStatus(t, e, id)
		return got == want, detail
	})
}

func TestEurekaIntegration(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a JVM")
	}
	eurekaServer := testenv.StartEureka(t)

	svcA := newFakeService(t, "a")
	cfgA := testConfig(eurekaServer.URL, svcA.port)
	regA, _ := runRegistrar(t, cfgA, svcA)
	idA := cfgA.InstanceID()

	t.Run("registers with its address, URLs and status UP", func(t *testing.T) {
		waitForStatus(t, eurekaServer, idA, discovery.StatusUp)
		inst, err := eurekaServer.Instance(discovery.DefaultAppName, idA)
		if err != nil || inst == nil {
			t.Fatalf("instance %s: %v", idA, err)
		}
		base := fmt.Sprintf("http://localhost:%d", svcA.port)
		checks := []struct{ field, got, want string }{
			{"instanceId", inst.InstanceID, fmt.Sprintf("localhost:sports-service:%d", svcA.port)},
			{"app", inst.App, "SPORTS-SERVICE"},
			{"hostName", inst.HostName, "localhost"},
			{"ipAddr", inst.IPAddr, "127.0.0.1"},
			{"port", strconv.Itoa(inst.Port.Port), strconv.Itoa(svcA.port)},
			{"port enabled", inst.Port.Enabled, "true"},
			{"vipAddress", inst.VIPAddress, "sports-service"},
			{"secureVipAddress", inst.SecureVIPAddress, "sports-service"},
			{"homePageUrl", inst.HomePageURL, base + "/docs"},
			{"statusPageUrl", inst.StatusPageURL, base + "/info"},
			{"healthCheckUrl", inst.HealthCheckURL, base + "/health"},
			{"metadata version", inst.Metadata["version"], "1.2.3-test"},
			{"dataCenterInfo", inst.DataCenterInfo.Class, "com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo"},
			{"lease renewal", strconv.Itoa(inst.LeaseInfo.RenewalIntervalInSecs), "1"},
			{"lease duration", strconv.Itoa(inst.LeaseInfo.DurationInSecs), "2"},
		}
		for _, c := range checks {
			if c.got != c.want {
				t.Errorf("%s = %q, want %q", c.field, c.got, c.want)
			}
		}
		if inst.Metadata["startTime"] == "" {
			t.Error("metadata startTime missing")
		}
		if st := regA.Status(); !st.Registered || st.Status != discovery.StatusUp {
			t.Errorf("Status() = %+v, want registered and UP", st)
		}
	})

	t.Run("heartbeats keep it registered beyond the lease", func(t *testing.T) {
		before, _ := eurekaServer.Instance(discovery.DefaultAppName, idA)
		// Eureka evicts at last renewal + 2 x duration (a known quirk of
		// its Lease.isExpired), checked every second in the test profile.
		time.Sleep(3*testLease + 2*time.Second)
		after, err := eurekaServer.Instance(discovery.DefaultAppName, idA)
		if err != nil || after == nil {
			t.Fatalf("instance gone after %s: %v", 3*testLease, err)
		}
		if after.LeaseInfo.LastRenewalTimestamp <= before.LeaseInfo.LastRenewalTimestamp {
			t.Errorf("lastRenewalTimestamp did not advance: %d then %d",
				before.LeaseInfo.LastRenewalTimestamp, after.LeaseInfo.LastRenewalTimestamp)
		}
		if regA.Status().LastHeartbeat.IsZero() {
			t.Error("Status().LastHeartbeat is zero")
		}
	})

	t.Run("status follows readiness", func(t *testing.T) {
		svcA.ready.Store(false)
		waitForStatus(t, eurekaServer, idA, discovery.StatusDown)
		// Heartbeats must not flip it back while readiness still fails.
		time.Sleep(2 * testRenewal)
		if got, _ := instanceStatus(t, eurekaServer, idA); got != discovery.StatusDown {
			t.Fatalf("status %q after heartbeats, want DOWN", got)
		}
		svcA.ready.Store(true)
		waitForStatus(t, eurekaServer, idA, discovery.StatusUp)
	})

	t.Run("an instance that starts not ready turns UP once it is", func(t *testing.T) {
		// A pod that starts before its database: registered DOWN, with no
		// override for a DELETE .../status to lift.
		svc := newFakeService(t, "late")
		svc.ready.Store(false)
		cfg := testConfig(eurekaServer.URL, svc.port)
		runRegistrar(t, cfg, svc)
		waitForStatus(t, eurekaServer, cfg.InstanceID(), discovery.StatusDown)
		svc.ready.Store(true)
		waitForStatus(t, eurekaServer, cfg.InstanceID(), discovery.StatusUp)
		// It stays UP through the heartbeats that follow.
		time.Sleep(2 * testRenewal)
		if got, _ := instanceStatus(t, eurekaServer, cfg.InstanceID()); got != discovery.StatusUp {
			t.Fatalf("status %q after heartbeats, want UP", got)
		}
		// And the usual round trip after it: DOWN (an override) and UP.
		svc.ready.Store(false)
		waitForStatus(t, eurekaServer, cfg.InstanceID(), discovery.StatusDown)
		svc.ready.Store(true)
		waitForStatus(t, eurekaServer, cfg.InstanceID(), discovery.StatusUp)
	})

	t.Run("calls by name alternate between two instances and survive one dying", func(t *testing.T) {
		svcB := newFakeService(t, "b")
		cfgB := testConfig(eurekaServer.URL, svcB.port)
		_, killB := runRegistrar(t, cfgB, svcB)
		waitForStatus(t, eurekaServer, cfgB.InstanceID(), discovery.StatusUp)

		agent, err := discovery.New(testConfig(eurekaServer.URL, 1), testLogger(t), nil, "caller")
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		eventually(t, "discovery lists both instances", func() (bool, string) {
			if err := agent.Registry().Refresh(ctx); err != nil {
				return false, err.Error()
			}
			got, err := agent.Instances("sports-service")
			if err != nil {
				return false, err.Error()
			}
			up := 0
			for _, i := range got.Instances {
				if i.Status == discovery.StatusUp {
					up++
				}
			}
			return up == 2, fmt.Sprintf("%+v", got.Instances)
		})

		call := func(method string) (string, error) {
			resp, err := agent.Do(ctx, "sports-service", method, "/whoami", nil)
			if err != nil {
				return "", err
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusOK {
				return "", fmt.Errorf("HTTP %d: %s", resp.StatusCode, body)
			}
			return string(body), err
		}
		var answers []string
		for range 4 {
			who, err := call(http.MethodGet)
			if err != nil {
				t.Fatal(err)
			}
			answers = append(answers, who)
		}
		for i := 1; i < len(answers); i++ {
			if answers[i] == answers[i-1] {
				t.Fatalf("round robin answers %v, want alternating", answers)
			}
		}

		// B dies without deregistering: Eureka and the cache still list it
		// until its lease expires, so GETs must fail over to A.
		killB()
		svcB.server.Close()
		for i := range 6 {
			who, err := call(http.MethodGet)
			if err != nil {
				t.Fatalf("GET %d after B died: %v", i, err)
			}
			if who != "a" {
				t.Fatalf("GET %d answered by %q, want a", i, who)
			}
		}
		// A POST is not retried: the cache (not refreshed since) still
		// lists B, so round robin sends exactly one of two POSTs to it.
		var postErrs int
		for range 2 {
			if _, err := call(http.MethodPost); err != nil {
				postErrs++
			}
		}
		if postErrs != 1 {
			t.Errorf("%d of 2 POSTs failed while dead B is listed, want 1 (no retry)", postErrs)
		}

		_ = agent.Registry().Refresh(ctx)
		if st := agent.Status(); !st.Enabled || st.Registry.Applications == 0 {
			t.Errorf("agent status %+v", st)
		}
	})

	t.Run("registers again after Eureka restarts, also when Eureka was down at start", func(t *testing.T) {
		cache := discovery.NewRegistry(testConfig(eurekaServer.URL, 1), testLogger(t))
		if err := cache.Refresh(context.Background()); err != nil {
			t.Fatal(err)
		}

		eurekaServer.Stop()

		// The cache keeps serving, marked stale.
		if err := cache.Refresh(context.Background()); err == nil {
			t.Fatal("refresh with Eureka down succeeded")
		}
		got, err := cache.Instances(discovery.DefaultAppName)
		if err != nil || !got.Stale || len(got.Instances) == 0 {
			t.Fatalf("cached instances while Eureka is down: %+v, %v; want stale, non-empty", got, err)
		}
		if st := cache.Status(); st.LastError == "" || !st.Stale {
			t.Errorf("cache status %+v, want stale with an error", st)
		}

		svcC := newFakeService(t, "c")
		cfgC := testConfig(eurekaServer.URL, svcC.port)
		regC, _ := runRegistrar(t, cfgC, svcC)
		eventually(t, "registrar C reports a failure", func() (bool, string) {
			st := regC.Status()
			return st.ConsecutiveFailures > 0 && !st.Registered, fmt.Sprintf("%+v", st)
		})
		time.Sleep(3 * time.Second) // let A's heartbeats fail a few times too

		upAt := eurekaServer.Restart()
		backA := waitForStatus(t, eurekaServer, idA, discovery.StatusUp)
		backC := waitForStatus(t, eurekaServer, cfgC.InstanceID(), discovery.StatusUp)
		t.Logf("MEASURE: Eureka answering -> running instance registered again: %s (renewal interval %s)",
			backA.Sub(upAt).Round(time.Millisecond), testRenewal)
		t.Logf("MEASURE: Eureka answering -> instance started while Eureka was down registered: %s (backoff cap %s)",
			backC.Sub(upAt).Round(time.Millisecond), cfgC.RetryMaxBackoff)
		if st := regA.Status(); !st.Registered || st.LastError == "" {
			t.Errorf("A's status after the outage: %+v, want registered with the outage's error kept", st)
		}
	})

	t.Run("aliases register the same instance; OUT_OF_SERVICE holds through heartbeats until Deregister", func(t *testing.T) {
		svcD := newFakeService(t, "d")
		cfgD := testConfig(eurekaServer.URL, svcD.port)
		cfgD.Aliases = []string{discovery.DefaultAppAliases}
		agent, err := discovery.New(cfgD, testLogger(t), svcD.readiness, "1.2.3-test")
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); agent.Run(ctx) }()
		t.Cleanup(func() { cancel(); <-done })

		regs := cfgD.Registrations()
		status := func(rc discovery.Config) (string, string) {
			inst, err := eurekaServer.Instance(rc.AppName, rc.InstanceID())
			switch {
			case err != nil:
				return "", err.Error()
			case inst == nil:
				return "", "not registered"
			}
			return inst.Status, fmt.Sprintf("%s %s vip %s", inst.App, inst.Status, inst.VIPAddress)
		}
		for _, rc := range regs {
			eventually(t, rc.AppName+" UP", func() (bool, string) {
				got, detail := status(rc)
				return got == discovery.StatusUp, detail
			})
		}
		alias, _ := eurekaServer.Instance("SPORTS_SERVICE", regs[1].InstanceID())
		if alias == nil || alias.VIPAddress != "sports_service" || alias.Port.Port != svcD.port ||
			alias.StatusPageURL != fmt.Sprintf("http://localhost:%d/info", svcD.port) {
			t.Errorf("alias registration %+v", alias)
		}

		if err := agent.MarkOutOfService(context.Background()); err != nil {
			t.Fatal(err)
		}
		for _, rc := range regs {
			if got, detail := status(rc); got != discovery.StatusOutOfService {
				t.Errorf("%s right after MarkOutOfService: %s", rc.AppName, detail)
			}
		}
		// Readiness is fine and heartbeats go on: the status must hold.
		time.Sleep(3 * testRenewal)
		for _, rc := range regs {
			if got, detail := status(rc); got != discovery.StatusOutOfService {
				t.Errorf("%s after heartbeats: %s, want OUT_OF_SERVICE", rc.AppName, detail)
			}
		}
		if st := agent.Status(); st.Registration.Status != discovery.StatusOutOfService ||
			len(st.Aliases) != 1 || st.Aliases[0].Status != discovery.StatusOutOfService {
			t.Errorf("agent status %+v", st)
		}
		if err := agent.Deregister(context.Background()); err != nil {
			t.Fatal(err)
		}
		for _, rc := range regs {
			if got, detail := status(rc); got != "" {
				t.Errorf("%s after Deregister: %s", rc.AppName, detail)
			}
		}
	})

	t.Run("Deregister removes the instance", func(t *testing.T) {
		waitForStatus(t, eurekaServer, idA, discovery.StatusUp)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		start := time.Now()
		if err := regA.Deregister(ctx); err != nil {
			t.Fatal(err)
		}
		returned := time.Now()
		gone := eventually(t, "instance gone", func() (bool, string) {
			inst, err := eurekaServer.Instance(discovery.DefaultAppName, idA)
			if err != nil {
				return false, err.Error()
			}
			return inst == nil, "still listed"
		})
		t.Logf("MEASURE: Deregister call -> instance absent from GET /eureka/apps/SPORTS_SERVICE: %s (Deregister returned after %s)",
			gone.Sub(start).Round(time.Millisecond), returned.Sub(start).Round(time.Millisecond))
		// Run has stopped: no heartbeat may bring it back.
		time.Sleep(3 * testRenewal)
		if inst, _ := eurekaServer.Instance(discovery.DefaultAppName, idA); inst != nil {
			t.Fatalf("instance came back after Deregister: %+v", inst)
		}
		if st := regA.Status(); st.Registered || !st.Deregistered {
			t.Errorf("Status() after Deregister = %+v", st)
		}
		if err := regA.Deregister(ctx); err != nil {
			t.Errorf("second Deregister: %v", err)
		}
	})
}
