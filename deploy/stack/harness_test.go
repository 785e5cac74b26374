//go:build stack

package stack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/osms/sports-service/discovery"
	"github.com/osms/sports-service/internal/testenv"
)

// Where the stack publishes what the tests use, as docker-compose.yaml
// publishes it on the host.
const (
	gatewayURL = "http://127.0.0.1:8080"
	jaegerURL  = "http://127.0.0.1:16686"
	eurekaURL  = "http://127.0.0.1:8761/eureka"
)

// upTimeout bounds `docker compose up --wait`: the Eureka JVM needs about
// 20 s on two idle cores, and CI's cores are shared.
const upTimeout = 4 * time.Minute

// stack is the running compose project and how to reach it.
type stack struct {
	root    string   // repository root, compose's working directory
	project string   // compose project name
	files   []string // compose files, in order
	envFile string   // optional --env-file
	config  composeConfig
	jaeger  *testenv.Jaeger
	eureka  *testenv.Eureka
	http    *http.Client
	// bearer is "Bearer <token>" when the stack runs with sign-in on (set
	// by authorize), for requests written by hand on a raw connection.
	bearer string
}

// composeConfig is the part of `docker compose config --format json` the
// tests read: what the files say, after interpolation and overrides.
type composeConfig struct {
	Name     string                    `json:"name"`
	Services map[string]composeService `json:"services"`
	Networks map[string]struct {
		Name string `json:"name"`
	} `json:"networks"`
	Volumes map[string]struct {
		Name string `json:"name"`
	} `json:"volumes"`
}

type composeService struct {
	Image           string             `json:"image"`
	Environment     map[string]*string `json:"environment"`
	StopGracePeriod string             `json:"stop_grace_period"`
	ReadOnly        bool               `json:"read_only"`
}

// env returns a service's environment variable, or def when it is unset.
func (c composeService) env(name, def string) string {
	if v := c.Environment[name]; v != nil && *v != "" {
		return *v
	}
	return def
}

// duration returns a duration-valued environment variable of a service
// (the service's own default when unset).
func (c composeService) duration(t testing.TB, name string, def time.Duration) time.Duration {
	t.Helper()
	v := c.env(name, "")
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		t.Fatalf("compose config: %s=%q: %v", name, v, err)
	}
	return d
}

// connect finds the engine, the compose plugin and the running stack. A
// missing one skips the test naming it, or fails it when CI=true.
func connect(t *testing.T) *stack {
	t.Helper()
	if _, err := exec.LookPath("docker"); err != nil {
		testenv.RequireOrSkip(t, "the docker CLI (docker on PATH): "+err.Error())
	}
	if out, err := dockerOut(t, "version", "--format", "{{.Server.Version}}"); err != nil {
		testenv.RequireOrSkip(t, fmt.Sprintf("a Docker engine (start the stack with `bash .ci/stack.sh`): %v: %s", err, out))
	}
	if out, err := dockerOut(t, "compose", "version"); err != nil {
		testenv.RequireOrSkip(t, fmt.Sprintf("the Docker Compose v2 plugin (docker compose): %v: %s", err, out))
	}
	s := &stack{
		root:    testenv.RepoRoot(t),
		project: testenv.EnvOr("STACK_PROJECT", "osms"),
		envFile: os.Getenv("STACK_ENV_FILE"),
		jaeger:  testenv.JaegerAt(jaegerURL),
		eureka:  testenv.EurekaAt(eurekaURL),
		http:    &http.Client{Timeout: 30 * time.Second},
	}
	for _, f := range strings.Split(testenv.EnvOr("STACK_COMPOSE_FILES", "docker-compose.yaml"), ":") {
		if f != "" && !filepath.IsAbs(f) {
			f = filepath.Join(s.root, f)
		}
		if f != "" {
			s.files = append(s.files, f)
		}
	}
	out, err := s.compose(t, "config", "--format", "json")
	if err != nil {
		t.Fatalf("docker compose config: %v\n%s", err, out)
	}
	if err := json.Unmarshal([]byte(out), &s.config); err != nil {
		t.Fatalf("docker compose config: %v", err)
	}
	if len(s.running(t, "app")) == 0 {
		testenv.RequireOrSkip(t, fmt.Sprintf("a running stack (project %s, files %v): no running app container; start it with `bash .ci/stack.sh`", s.project, s.files))
	}
	if a := s.get(t, "/health/ready"); a.status != http.StatusOK {
		testenv.RequireOrSkip(t, fmt.Sprintf("the stack's gateway at %s: /health/ready answered %d %s", gatewayURL, a.status, a.body))
	}
	s.authorize(t) // AUTH_ENABLED: the client signs its /ch11 requests
	return s
}

// dockerOut runs the docker CLI in the repository root and returns its
// standard output (standard error too when it fails). Every call has a
// deadline: a wedged engine fails the test instead of hanging it.
func dockerOut(t testing.TB, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), upTimeout+time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Dir = testenv.RepoRoot(t)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return strings.TrimSpace(stdout.String() + "\n" + stderr.String()), fmt.Errorf("docker %s: %w", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(stdout.String()), nil
}

// docker runs the docker CLI and fails the test when it fails.
func docker(t testing.TB, args ...string) string {
	t.Helper()
	out, err := dockerOut(t, args...)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return out
}

// compose runs `docker compose` with the stack's project and files.
func (s *stack) compose(t testing.TB, args ...string) (string, error) {
	t.Helper()
	full := []string{"compose", "-p", s.project}
	for _, f := range s.files {
		full = append(full, "-f", f)
	}
	if s.envFile != "" {
		full = append(full, "--env-file", s.envFile)
	}
	return dockerOut(t, append(full, args...)...)
}

// mustCompose runs `docker compose` and fails the test when it fails.
func (s *stack) mustCompose(t testing.TB, args ...string) string {
	t.Helper()
	out, err := s.compose(t, args...)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return out
}

// up brings the stack to its usual shape, one app instance, and waits until
// every service is healthy (or started, without a healthcheck). Images are
// never built or pulled: the tests run what was built before them.
func (s *stack) up(t testing.TB, extra ...string) {
	t.Helper()
	args := append([]string{"up", "-d", "--no-build", "--pull", "never", "--wait",
		"--wait-timeout", fmt.Sprint(int(upTimeout.Seconds()))}, extra...)
	s.mustCompose(t, append(args, s.services()...)...)
}

// services are the services to bring up: all of them, but those that
// .ci/stack.sh does not start (STACK_NOT_STARTED, space-separated: Grafana,
// which has no image here). Empty means all, as `docker compose up` says.
func (s *stack) services() []string {
	skip := strings.Fields(os.Getenv("STACK_NOT_STARTED"))
	if len(skip) == 0 {
		return nil
	}
	var names []string
	for name := range s.config.Services {
		if !slices.Contains(skip, name) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// restore is the cleanup of a test that changes the stack: back to one
// healthy app instance behind a gateway that answers. Compose keeps the
// lowest-numbered instance when it scales down; the others are stopped
// first with stopQuickly, so that scaling down does not wait out their
// shutdown delay.
func (s *stack) restore(t testing.TB) {
	t.Helper()
	var surplus []container
	for _, c := range s.running(t, "app") {
		if c.Config.Labels["com.docker.compose.container-number"] != "1" {
			surplus = append(surplus, c)
		}
	}
	s.stopAll(t, surplus)
	s.up(t, "--scale", "app=1")
	s.waitFor(t, "the gateway answers /health/ready after restoring the stack", time.Minute, func() bool {
		return s.get(t, "/health/ready").status == http.StatusOK
	})
	if len(surplus) > 0 {
		// The gateway re-resolves "app" every resolver valid= period; until
		// then it still lists the stopped instances. A GET that meets one
		// goes on to the next server (proxy_next_upstream), but a POST is
		// not retried and would get 504 after the connect timeout. In
		// production the SHUTDOWN_DELAY covers that period; stopQuickly
		// skipped it, so wait it out here.
		time.Sleep(s.gatewayDNSValidity(t))
	}
}

// gatewayDNSValidity is how long the gateway keeps a resolved address of
// "app": the valid= of nginx.conf's resolver, plus a second.
func (s *stack) gatewayDNSValidity(t testing.TB) time.Duration {
	t.Helper()
	conf, err := os.ReadFile(filepath.Join(s.root, "nginx.conf"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*resolver\s[^;]*\bvalid=(\d+[smh])`).FindSubmatch(conf)
	if m == nil {
		t.Fatal("nginx.conf has no resolver ... valid=: the gateway's DNS cache time is unknown")
	}
	d, err := time.ParseDuration(string(m[1]))
	if err != nil {
		t.Fatalf("nginx.conf resolver valid=%s: %v", m[1], err)
	}
	return d + time.Second
}

// shutdownDelay is the app's SHUTDOWN_DELAY in the compose file: how long an
// instance keeps serving, not ready and OUT_OF_SERVICE in Eureka, after
// SIGTERM before it drains (0: it drains at once).
func (s *stack) shutdownDelay(t testing.TB) time.Duration {
	t.Helper()
	return s.app().duration(t, "SHUTDOWN_DELAY", 0)
}

// stopQuickly stops an app container as compose does (SIGTERM; SIGKILL
// after stop_grace_period). When the app has a SHUTDOWN_DELAY, a second
// SIGTERM, sent once the app has logged that it is shutting down, ends the
// delay (the service's "Ctrl-C twice"): the drain that follows is the same,
// without waiting out a delay that exists for remote callers' caches. It
// returns when the container has exited.
func (s *stack) stopQuickly(t testing.TB, c container) error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		out, err := dockerOut(t, "stop", c.ID)
		if err != nil {
			err = fmt.Errorf("%w: %s", err, out)
		}
		done <- err
	}()
	if s.shutdownDelay(t) > 0 {
		if !s.logged(t, c, `"msg":"shutting down"`, 30*time.Second) {
			return <-done
		}
		if out, err := dockerOut(t, "kill", "--signal", "TERM", c.ID); err != nil && !strings.Contains(out, "is not running") {
			return fmt.Errorf("second SIGTERM to %s: %w: %s", c.Name, err, out)
		}
	}
	return <-done
}

// stopAll runs stopQuickly on containers in parallel and fails the test if
// one of them does not stop.
func (s *stack) stopAll(t testing.TB, cs []container) {
	t.Helper()
	errs := make(chan error, len(cs))
	for _, c := range cs {
		go func() { errs <- s.stopQuickly(t, c) }()
	}
	for range cs {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// logged waits until a container's log contains text; false if it does not
// within limit.
func (s *stack) logged(t testing.TB, c container, text string, limit time.Duration) bool {
	t.Helper()
	for start := time.Now(); time.Since(start) < limit; time.Sleep(200 * time.Millisecond) {
		if out, _ := dockerOut(t, "logs", c.ID); strings.Contains(out, text) {
			return true
		}
	}
	return false
}

// dumpState logs what helps to understand a failure: the containers and the
// last lines of every service's log.
func (s *stack) dumpState(t testing.TB) {
	t.Helper()
	ps, _ := s.compose(t, "ps", "-a")
	logs, _ := s.compose(t, "logs", "--no-color", "--tail", "25")
	t.Logf("docker compose ps -a:\n%s\nlast log lines:\n%s", ps, logs)
}

// container is the part of `docker inspect` the tests read.
type container struct {
	ID     string `json:"Id"`
	Name   string `json:"Name"`
	Config struct {
		User     string            `json:"User"`
		Hostname string            `json:"Hostname"`
		Labels   map[string]string `json:"Labels"`
	} `json:"Config"`
	State struct {
		Status     string    `json:"Status"`
		Running    bool      `json:"Running"`
		ExitCode   int       `json:"ExitCode"`
		OOMKilled  bool      `json:"OOMKilled"`
		StartedAt  time.Time `json:"StartedAt"`
		FinishedAt time.Time `json:"FinishedAt"`
		Health     *struct {
			Status string `json:"Status"`
			Log    []struct {
				ExitCode int    `json:"ExitCode"`
				Output   string `json:"Output"`
			} `json:"Log"`
		} `json:"Health"`
	} `json:"State"`
	RestartCount int `json:"RestartCount"`
	HostConfig   struct {
		ReadonlyRootfs bool     `json:"ReadonlyRootfs"`
		CapDrop        []string `json:"CapDrop"`
	} `json:"HostConfig"`
	NetworkSettings struct {
		Networks map[string]struct {
			IPAddress string `json:"IPAddress"`
		} `json:"Networks"`
	} `json:"NetworkSettings"`
}

// inspect returns `docker inspect` of containers (or images) by id.
func inspect[T any](t testing.TB, ids ...string) []T {
	t.Helper()
	if len(ids) == 0 {
		return nil
	}
	var out []T
	if err := json.Unmarshal([]byte(docker(t, append([]string{"inspect"}, ids...)...)), &out); err != nil {
		t.Fatalf("docker inspect %v: %v", ids, err)
	}
	return out
}

// running returns the running containers of a service.
func (s *stack) running(t testing.TB, service string) []container {
	t.Helper()
	out := s.mustCompose(t, "ps", "-q", service)
	cs := inspect[container](t, strings.Fields(out)...)
	for i := range cs {
		cs[i].Name = strings.TrimPrefix(cs[i].Name, "/") // the engine's API form
	}
	return cs
}

// one returns the only running container of a service.
func (s *stack) one(t testing.TB, service string) container {
	t.Helper()
	cs := s.running(t, service)
	if len(cs) != 1 {
		t.Fatalf("%d running %s containers, want 1", len(cs), service)
	}
	return cs[0]
}

// backendIP is a container's address on the stack's backend network.
func (s *stack) backendIP(t testing.TB, c container) string {
	t.Helper()
	name := s.config.Networks["backend"].Name
	ip := c.NetworkSettings.Networks[name].IPAddress
	if ip == "" {
		t.Fatalf("container %s has no address on network %q: %+v", c.Name, name, c.NetworkSettings.Networks)
	}
	return ip
}

// app is the app service's configuration.
func (s *stack) app() composeService { return s.config.Services["app"] }

// eurekaApp and eurekaID name an app container in Eureka: the compose file
// sets EUREKA_PREFER_IP_ADDRESS, so the instance id is IP:app:port.
func (s *stack) eurekaApp() string { return s.app().env("EUREKA_APP_NAME", discovery.DefaultAppName) }

func (s *stack) eurekaID(t testing.TB, c container) string {
	return s.backendIP(t, c) + ":" + strings.ToLower(s.eurekaApp()) + ":" + s.appPort()
}

// appPort is the port the app listens on inside its container.
func (s *stack) appPort() string {
	_, port, _ := strings.Cut(s.app().env("LISTEN_ADDR", ":8000"), ":")
	return port
}

// fromNetwork GETs url from inside the nginx container, that is from
// another container on the backend network, with the image's wget (or
// curl), and returns the body.
func (s *stack) fromNetwork(t testing.TB, url string) (string, error) {
	t.Helper()
	out, err := s.compose(t, "exec", "-T", "nginx", "wget", "-q", "-T", "5", "-O", "-", url)
	if err != nil && strings.Contains(out, "executable file not found") {
		out, err = s.compose(t, "exec", "-T", "nginx", "curl", "-fsS", "-m", "5", url)
	}
	return out, err
}

// answer is an HTTP response, read whole.
type answer struct {
	status int
	header http.Header
	body   string
	took   time.Duration
}

func (a answer) String() string { return fmt.Sprintf("%d %.300s", a.status, a.body) }

// request sends one request (a JSON body when body is not nil; header is
// name, value, ...) to path on the gateway, or to an absolute URL. A
// transport error fails the test.
func (s *stack) request(t testing.TB, c *http.Client, method, path string, body any, header ...string) answer {
	t.Helper()
	a, err := s.try(c, method, path, body, header...)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return a
}

// try is request that returns a transport error instead of failing.
func (s *stack) try(c *http.Client, method, path string, body any, header ...string) (answer, error) {
	if c == nil {
		c = s.http
	}
	url := path
	if !strings.HasPrefix(path, "http") {
		url = gatewayURL + path
	}
	req, err := testenv.NewRequest(method, url, body, header...)
	if err != nil {
		return answer{}, err
	}
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		return answer{took: time.Since(start)}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, header: resp.Header, body: string(b), took: time.Since(start)}, err
}

func (s *stack) get(t testing.TB, path string) answer {
	t.Helper()
	a, err := s.try(nil, http.MethodGet, path, nil)
	if err != nil {
		return answer{body: err.Error(), took: a.took}
	}
	return a
}

// expect checks an answer's status, and for errors that it is a problem
// document; each of want must appear in the body.
func expect(t testing.TB, what string, a answer, status int, want ...string) {
	t.Helper()
	if a.status != status {
		t.Errorf("%s: %s, want %d", what, a, status)
		return
	}
	if status >= 400 && !strings.HasPrefix(a.header.Get("Content-Type"), "application/problem+json") {
		t.Errorf("%s: Content-Type %q, want application/problem+json", what, a.header.Get("Content-Type"))
	}
	for _, w := range want {
		if !strings.Contains(a.body, w) {
			t.Errorf("%s: body does not contain %q: %.300s", what, w, a.body)
		}
	}
}

// waitFor polls cond every 200 ms until it holds; it fails the test with
// what when limit passes first, and returns how long it took.
func (s *stack) waitFor(t testing.TB, what string, limit time.Duration, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > limit {
			t.Fatalf("not within %s: %s", limit, what)
		}
		time.Sleep(200 * time.Millisecond)
	}
	return time.Since(start)
}
