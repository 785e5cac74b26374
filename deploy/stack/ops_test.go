//go:build stack

package stack

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// scaleUpWithin is the time docs/deployment.md gives a new instance, from
// `docker compose up -d --scale app=N` returning, to be registered UP in
// Eureka and to get requests through the gateway (the gateway re-resolves
// "app" every 10 s; the instance pushes its status every 10 s).
const scaleUpWithin = 30 * time.Second

// testScale scales the app to three instances: each registers in Eureka and
// serves requests through the gateway; then one is stopped while a steady
// GET load runs through the gateway, and no GET fails. The cleanup scales
// back to one.
func testScale(t *testing.T, s *stack) {
	t.Cleanup(func() { s.restore(t) })
	s.one(t, "app")

	// The clock starts with the command: `up` itself waits for the new
	// instances to turn healthy (nginx depends on app being healthy).
	start := time.Now()
	s.mustCompose(t, append([]string{"up", "-d", "--no-build", "--pull", "never", "--no-recreate", "--scale", "app=3"}, s.services()...)...)
	t.Logf("docker compose up --scale app=3 returned after %s", time.Since(start).Round(100*time.Millisecond))
	apps := s.running(t, "app")
	if len(apps) != 3 {
		t.Fatalf("%d app containers run after --scale app=3, want 3", len(apps))
	}
	for _, c := range apps {
		s.waitFor(t, c.Name+" registered UP in Eureka", time.Until(start.Add(scaleUpWithin)), func() bool {
			inst, err := s.eureka.Lookup(s.eurekaApp(), s.eurekaID(t, c))
			return err == nil && inst != nil && inst.Status == "UP"
		})
		t.Logf("%s (%s) registered UP %s after the scale-up began", c.Name, s.backendIP(t, c), time.Since(start).Round(100*time.Millisecond))
	}
	// Prometheus finds the new instances through Docker's DNS.
	s.prometheusTargetsUp(t, 3)

	// Answers per instance: /info names the instance by its host name,
	// which is the container's.
	byHost := map[string]string{}
	for _, c := range apps {
		byHost[c.Config.Hostname] = c.Name
	}
	counts := map[string]int{}
	count := func() {
		a := s.get(t, "/info")
		var info struct {
			Instance string `json:"instance"`
		}
		if a.status != http.StatusOK || json.Unmarshal([]byte(a.body), &info) != nil {
			t.Fatalf("GET /info: %s", a)
		}
		host, _, _ := strings.Cut(info.Instance, ":")
		counts[byHost[host]]++
	}
	s.waitFor(t, fmt.Sprintf("every instance answers through the gateway (answers so far %v)", counts), time.Until(start.Add(scaleUpWithin)), func() bool {
		count()
		return len(counts) == 3 && counts[""] == 0
	})
	took := time.Since(start)
	clear(counts)
	for range 60 {
		count()
	}
	t.Logf("all three answered through the gateway %s after the scale-up began; answers to 60 GET /info: %v", took.Round(100*time.Millisecond), counts)
	for _, c := range apps {
		if counts[c.Name] == 0 {
			t.Errorf("%s got none of 60 requests: %v", c.Name, counts)
		}
	}
	if counts[""] > 0 {
		t.Errorf("answers from an instance that is not one of the app containers: %v", counts)
	}

	// One instance stops (SIGTERM, as compose does) under a steady GET load.
	load := startLoad(s, 4, "/ch11/player/list/all?limit=5")
	time.Sleep(2 * time.Second)
	victim := apps[len(apps)-1]
	stopStart := time.Now()
	if err := s.stopQuickly(t, victim); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s stopped in %s", victim.Name, time.Since(stopStart).Round(100*time.Millisecond))
	time.Sleep(3 * time.Second) // and the load goes on without it
	ok, failed := load.stop()
	t.Logf("steady load: %d GETs answered 200 around the stop, %d failed", ok, len(failed))
	if len(failed) > 0 {
		t.Errorf("%d GETs failed while %s stopped, e.g. %v", len(failed), victim.Name, failed[:min(5, len(failed))])
	}
	if ok < 50 {
		t.Errorf("only %d GETs were answered: the load was not steady", ok)
	}
}

// load is a steady stream of GETs through the gateway from a few workers.
type load struct {
	halt   atomic.Bool
	wg     sync.WaitGroup
	mu     sync.Mutex
	ok     int
	failed []string
}

func startLoad(s *stack, workers int, path string) *load {
	l := &load{}
	for range workers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for !l.halt.Load() {
				a, err := s.try(nil, http.MethodGet, path, nil)
				l.mu.Lock()
				switch {
				case err != nil:
					l.failed = append(l.failed, err.Error())
				case a.status != http.StatusOK:
					l.failed = append(l.failed, a.String())
				default:
					l.ok++
				}
				l.mu.Unlock()
			}
		}()
	}
	return l
}

// stop ends the load, letting requests in flight finish.
func (l *load) stop() (ok int, failed []string) {
	l.halt.Store(true)
	l.wg.Wait()
	return l.ok, l.failed
}

// testMongoRestart stops the database and starts it again: meanwhile the
// API answers 503 problem documents within DB_TIMEOUT (no hang), and then
// recovers without the app being restarted. (`docker compose restart mongo`
// is this stop and start; split, so that the down state is observed rather
// than raced.)
func testMongoRestart(t *testing.T, s *stack) {
	t.Cleanup(func() {
		if out, err := s.compose(t, "start", "mongo"); err != nil {
			t.Errorf("start mongo: %v\n%s", err, out)
		}
		s.restore(t)
	})
	id := newID()
	expect(t, "add player", s.request(t, nil, http.MethodPost, "/ch11/player/add", player(id, 0, "Durable")), http.StatusCreated)
	before := s.one(t, "app")
	dbTimeout := s.app().duration(t, "DB_TIMEOUT", 5*time.Second)

	s.mustCompose(t, "stop", "mongo")
	if c := s.one(t, "app"); c.ID != before.ID {
		t.Fatalf("stopping mongo replaced the app container")
	}
	for _, r := range []struct {
		method, path string
		body         any
	}{
		{http.MethodGet, fmt.Sprintf("/ch11/player/get/%d", id), nil},
		{http.MethodGet, "/ch11/player/list/all?limit=5", nil},
		{http.MethodPost, "/ch11/player/add", player(newID(), 0, "Unstored")},
	} {
		a := s.request(t, nil, r.method, r.path, r.body)
		t.Logf("%s %s with mongo stopped: %d in %s", r.method, r.path, a.status, a.took.Round(10*time.Millisecond))
		expect(t, r.method+" "+r.path+" with mongo stopped", a, http.StatusServiceUnavailable)
		if limit := dbTimeout + 3*time.Second; a.took > limit {
			t.Errorf("%s %s with mongo stopped took %s, want under DB_TIMEOUT + 3s = %s", r.method, r.path, a.took, limit)
		}
	}
	if a := s.get(t, "/health/ready"); a.status != http.StatusServiceUnavailable {
		t.Errorf("/health/ready with mongo stopped: %s, want 503", a)
	}

	start := time.Now()
	s.mustCompose(t, "start", "mongo")
	var last answer
	defer func() {
		if t.Failed() {
			t.Logf("the last answer to GET /ch11/player/get/%d: %s", id, last)
		}
	}()
	s.waitFor(t, "the API reads the stored player again", 2*time.Minute, func() bool {
		last = s.get(t, fmt.Sprintf("/ch11/player/get/%d", id))
		return last.status == http.StatusOK
	})
	t.Logf("the API read the stored player again %s after `docker compose start mongo` began", time.Since(start).Round(100*time.Millisecond))

	after := s.one(t, "app")
	if after.ID != before.ID || !after.State.StartedAt.Equal(before.State.StartedAt) || after.RestartCount != before.RestartCount {
		t.Errorf("the app was restarted: container %s started %s (restarts %d), before %s started %s (restarts %d)",
			after.ID[:12], after.State.StartedAt, after.RestartCount, before.ID[:12], before.State.StartedAt, before.RestartCount)
	}
}

// testSigterm stops the app (`docker compose stop app`: SIGTERM, then
// SIGKILL after stop_grace_period) while requests are in flight in it: they
// complete, the instance leaves Eureka, and the process exits 0 before the
// grace period ends. With a SHUTDOWN_DELAY (read from the compose file) the
// instance first keeps serving, not ready and OUT_OF_SERVICE in Eureka, for
// that long; one request is then in flight when the signal arrives and one
// when the drain begins, at the end of the delay.
//
// The requests go to the instance directly, from the host to its address on
// the compose network: the gateway reads a whole request body before it
// forwards it, so only a direct connection can hold a request half-sent, in
// flight in the app, at a chosen moment.
func testSigterm(t *testing.T, s *stack) {
	t.Cleanup(func() { s.restore(t) })
	grace, err := time.ParseDuration(s.app().StopGracePeriod)
	if err != nil {
		t.Fatalf("app's stop_grace_period %q: %v", s.app().StopGracePeriod, err)
	}
	delay := s.shutdownDelay(t)
	t.Logf("stop_grace_period %s, SHUTDOWN_DELAY %s, SHUTDOWN_TIMEOUT %s", grace, delay, s.app().env("SHUTDOWN_TIMEOUT", "(default)"))
	c := s.one(t, "app")
	s.registeredUp(t, c, time.Minute)
	addr := net.JoinHostPort(s.backendIP(t, c), s.appPort())
	eurekaID := s.eurekaID(t, c)

	first := holdRequest(t, addr, newID(), s.bearer)
	type result struct {
		out  string
		err  error
		took time.Duration
	}
	stopped := make(chan result, 1)
	start := time.Now()
	go func() {
		out, err := s.compose(t, "stop", "app")
		stopped <- result{out, err, time.Since(start)}
	}()
	if !s.logged(t, c, `"msg":"shutting down"`, grace) {
		t.Fatalf("the app did not log that it shuts down within %s of the stop", grace)
	}

	drainStarts := first // without a delay the first request is in flight through the drain
	if delay > 0 {
		first.finish(t, "the request in flight when SIGTERM arrived")
		s.waitFor(t, "the instance is OUT_OF_SERVICE in Eureka during the shutdown delay", delay, func() bool {
			inst, err := s.eureka.Lookup(s.eurekaApp(), eurekaID)
			return err == nil && inst != nil && inst.Status == "OUT_OF_SERVICE"
		})
		// The server reads a request within READ_TIMEOUT (30 s): open the
		// second one shortly before the delay ends.
		time.Sleep(time.Until(start.Add(delay - 5*time.Second)))
		drainStarts = holdRequest(t, addr, newID(), s.bearer)
	}
	s.waitFor(t, "the instance deregisters from Eureka", grace, func() bool {
		inst, err := s.eureka.Lookup(s.eurekaApp(), eurekaID)
		return err == nil && inst == nil
	})
	t.Logf("deregistered from Eureka %s after the stop began", time.Since(start).Round(100*time.Millisecond))
	// Deregistering comes right before the server's Shutdown: let it begin.
	time.Sleep(500 * time.Millisecond)
	drainStarts.finish(t, "the request in flight when the drain began")

	r := <-stopped
	if r.err != nil {
		t.Fatalf("docker compose stop app: %v\n%s", r.err, r.out)
	}
	st := inspect[container](t, c.ID)[0].State
	t.Logf("docker compose stop app took %s; exit code %d, finished %s after the stop began", r.took.Round(100*time.Millisecond),
		st.ExitCode, st.FinishedAt.Sub(start).Round(100*time.Millisecond))
	if st.ExitCode != 0 || st.OOMKilled {
		t.Errorf("the app exited with code %d (OOM killed %v), want 0", st.ExitCode, st.OOMKilled)
	}
	if d := st.FinishedAt.Sub(start); d >= grace {
		t.Errorf("the app exited %s after the stop began, not within stop_grace_period %s", d, grace)
	}

	// The answers were not only sent: the records were stored.
	s.restore(t)
	for _, h := range []*heldRequest{first, drainStarts} {
		expect(t, "the in-flight player after the restart", s.get(t, fmt.Sprintf("/ch11/player/get/%d", h.id)), http.StatusOK, "Inflight")
	}
}

// heldRequest is a POST /ch11/player/add sent up to half of its body on its
// own connection: in flight in the server until finish sends the rest.
type heldRequest struct {
	id   int64
	conn net.Conn
	rest []byte
}

func holdRequest(t *testing.T, addr string, id int64, bearer string) *heldRequest {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("connect to the instance at %s from the host: %v", addr, err)
	}
	t.Cleanup(func() { conn.Close() })
	body, _ := json.Marshal(player(id, 0, "Inflight"))
	half := len(body) / 2
	auth := ""
	if bearer != "" {
		auth = "Authorization: " + bearer + "\r\n"
	}
	if _, err := fmt.Fprintf(conn, "POST /ch11/player/add HTTP/1.1\r\nHost: %s\r\n%sContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
		addr, auth, len(body), body[:half]); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // the server has read the headers: the request is in flight
	return &heldRequest{id: id, conn: conn, rest: body[half:]}
}

// finish sends the rest of the body and checks the answer is 201.
func (h *heldRequest) finish(t *testing.T, what string) {
	t.Helper()
	if _, err := h.conn.Write(h.rest); err != nil {
		t.Fatalf("%s: sending the rest of the body: %v", what, err)
	}
	_ = h.conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(h.conn), nil)
	if err != nil {
		t.Fatalf("%s got no answer: %v", what, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Errorf("%s answered %s, want 201", what, resp.Status)
	}
}

// testVolume: data lives in the named volume; `docker compose down` and `up`
// keep it, `down -v` removes it. It takes the whole stack down twice and
// leaves it up again, with an empty database.
func testVolume(t *testing.T, s *stack) {
	t.Cleanup(func() { s.restore(t) })
	vol := s.config.Volumes["mongo-data"].Name
	if vol == "" {
		t.Fatalf("compose config has no volume mongo-data: %+v", s.config.Volumes)
	}
	id := newID()
	path := fmt.Sprintf("/ch11/player/get/%d", id)
	expect(t, "add player", s.request(t, nil, http.MethodPost, "/ch11/player/add", player(id, 0, "Volume")), http.StatusCreated)

	// `down` as a user runs it, with the app already stopped by
	// stopQuickly: the same SIGTERM drain, without the shutdown delay.
	s.stopAll(t, s.running(t, "app"))
	s.mustCompose(t, "down")
	if out, err := dockerOut(t, "volume", "inspect", vol); err != nil {
		t.Fatalf("docker compose down removed volume %s: %v %s", vol, err, out)
	}
	s.restore(t)
	expect(t, "the player after down and up", s.get(t, path), http.StatusOK, "Volume")

	s.stopAll(t, s.running(t, "app"))
	s.mustCompose(t, "down", "-v")
	if out, err := dockerOut(t, "volume", "inspect", vol); err == nil {
		t.Errorf("volume %s is still there after down -v: %s", vol, out)
	}
	s.restore(t)
	expect(t, "the player after down -v and up", s.get(t, path), http.StatusNotFound)
}
