//go:build stack

package stack

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/osms/sports-service/internal/testenv"
)

// testDocs opens /docs through the gateway in headless Chromium: it renders
// every operation with no failed request, and "Try it out" answers live.
// The screenshots stay in $ARTIFACTS_DIR/docs_in_chromium/.
func testDocs(t *testing.T, s *stack) {
	ctx, seen := testenv.NewBrowser(t)
	creds, _ := s.adminCredentials(t) // AUTH_ENABLED: sign in with Authorize first
	testenv.CheckSwaggerUI(t, ctx, seen, gatewayURL, playerJSON, creds)
}

// testMetrics: the gateway refuses /metrics; the app answers it to another
// container on the compose network, as a Prometheus there would scrape it.
func testMetrics(t *testing.T, s *stack) {
	for _, p := range []string{"/metrics", "/metrics/", "/metrics?x=1"} {
		if a := s.get(t, p); a.status != http.StatusNotFound {
			t.Errorf("GET %s through the gateway: %s, want 404", p, a)
		}
	}
	out, err := s.fromNetwork(t, "http://app:"+s.appPort()+"/metrics")
	if err != nil {
		t.Fatalf("/metrics from the nginx container: %v\n%s", err, out)
	}
	for _, want := range []string{"# TYPE ", "mongodb_driver_commands_total"} {
		if !strings.Contains(out, want) {
			t.Errorf("app:%s/metrics lacks %q: %.300s", s.appPort(), want, out)
		}
	}
}

// testTrace sends a request through the gateway with a W3C traceparent and
// finds its trace in the Jaeger container: the app's server span continues
// the caller's trace and has a MongoDB command span as its child.
func testTrace(t *testing.T, s *stack) {
	id := newID()
	expect(t, "add player", s.request(t, nil, http.MethodPost, "/ch11/player/add", player(id, 0, "Traced")), http.StatusCreated)

	var b [24]byte
	_, _ = rand.Read(b[:])
	traceID, parent := hex.EncodeToString(b[:16]), hex.EncodeToString(b[16:])
	path := fmt.Sprintf("/ch11/player/get/%d", id)
	a := s.request(t, nil, http.MethodGet, path, nil, "traceparent", "00-"+traceID+"-"+parent+"-01")
	expect(t, "traced GET", a, http.StatusOK)
	if got := a.header.Get("X-Trace-Id"); got != traceID {
		t.Errorf("X-Trace-Id %q, want the caller's trace %s", got, traceID)
	}

	// The app exports in batches (OTEL_BSP_SCHEDULE_DELAY, 5 s by default).
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	trace := s.jaeger.WaitForTrace(ctx, t, traceID, func(tr testenv.JaegerTrace) bool {
		sp := serverSpan(tr, parent)
		return sp != nil && len(tr.MongoChildren(sp.SpanID)) > 0
	})
	server := serverSpan(trace, parent)
	if want := "GET /ch11/player/get/:id"; server.OperationName != want {
		t.Errorf("server span %q, want %q", server.OperationName, want)
	}
	want := s.app().env("OTEL_SERVICE_NAME", "online-sports-tracer")
	if got := trace.Processes[server.ProcessID].ServiceName; got != want {
		t.Errorf("service name %q, want %q", got, want)
	}
	for _, m := range trace.MongoChildren(server.SpanID) {
		t.Logf("MongoDB span %q under %q", m.OperationName, server.OperationName)
	}
}

// serverSpan is the app's span of the request: the child of the caller's
// span (the gateway forwards traceparent and makes no span of its own).
func serverSpan(tr testenv.JaegerTrace, parent string) *testenv.JaegerSpan {
	for i, sp := range tr.Spans {
		if sp.ParentSpanID() == parent {
			return &tr.Spans[i]
		}
	}
	return nil
}

// testRegistered: the app instance is UP in the Eureka container under the
// IP it has on the compose network, and other containers reach it there.
func testRegistered(t *testing.T, s *stack) {
	c := s.one(t, "app")
	ip, id := s.backendIP(t, c), s.eurekaID(t, c)
	inst := s.registeredUp(t, c, time.Minute)
	if inst.IPAddr != ip || inst.Port.Port != mustAtoi(t, s.appPort()) {
		t.Errorf("Eureka advertises %s:%d, the container is %s:%s", inst.IPAddr, inst.Port.Port, ip, s.appPort())
	}
	// What clients of the registry see: the (cached) list of the app.
	s.waitFor(t, "the instance is in Eureka's list of "+s.eurekaApp(), time.Minute, func() bool {
		got, err := s.eureka.Instance(s.eurekaApp(), id)
		return err == nil && got != nil && got.Status == "UP"
	})
	out, err := s.fromNetwork(t, fmt.Sprintf("http://%s:%d/health/ready", inst.IPAddr, inst.Port.Port))
	if err != nil || !strings.Contains(out, "UP") {
		t.Errorf("the advertised address %s:%d from the nginx container: %v %.200s", inst.IPAddr, inst.Port.Port, err, out)
	}
}

// registeredUp waits until Eureka has container c UP and returns it.
func (s *stack) registeredUp(t testing.TB, c container, limit time.Duration) *testenv.RegisteredInstance {
	t.Helper()
	id := s.eurekaID(t, c)
	var inst *testenv.RegisteredInstance
	var err error
	s.waitFor(t, fmt.Sprintf("Eureka has %s UP (last: %+v, %v)", id, inst, err), limit, func() bool {
		inst, err = s.eureka.Lookup(s.eurekaApp(), id)
		return err == nil && inst != nil && inst.Status == "UP"
	})
	return inst
}

func mustAtoi(t testing.TB, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// image is the part of `docker image inspect` the tests read.
type image struct {
	Size   int64 `json:"Size"`
	Config struct {
		User        string            `json:"User"`
		Labels      map[string]string `json:"Labels"`
		Healthcheck *struct {
			Test []string `json:"Test"`
		} `json:"Healthcheck"`
	} `json:"Config"`
}

// maxImageSize is the target for the app image.
const maxImageSize = 30_000_000

// testImage checks the app image and its running container: non-root uid
// 65532, read-only root filesystem, a HEALTHCHECK that turned healthy, the
// size, and the build args shown by /info and the OCI labels.
func testImage(t *testing.T, s *stack) {
	ref := s.app().Image
	img := inspect[image](t, "--type", "image", ref)[0]
	t.Logf("image %s: %d bytes (%.1f MB)", ref, img.Size, float64(img.Size)/1e6)
	if img.Size >= maxImageSize {
		t.Errorf("image %s is %d bytes, want under %d", ref, img.Size, maxImageSize)
	}
	if img.Config.User != "65532:65532" && img.Config.User != "65532" {
		t.Errorf("image USER %q, want 65532", img.Config.User)
	}
	if img.Config.Healthcheck == nil || len(img.Config.Healthcheck.Test) == 0 {
		t.Error("image has no HEALTHCHECK")
	}

	c := s.one(t, "app")
	if !c.HostConfig.ReadonlyRootfs {
		t.Error("the app container's root filesystem is writable (HostConfig.ReadonlyRootfs false)")
	}
	// Every process of the container, as the host's kernel sees it.
	top := docker(t, "top", c.ID, "-o", "pid,uid,gid,comm")
	lines := strings.Split(strings.TrimSpace(top), "\n")
	if len(lines) < 2 {
		t.Errorf("docker top shows no process: %s", top)
	}
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) < 3 || f[1] != "65532" || f[2] != "65532" {
			t.Errorf("a process of the app container does not run as 65532:65532: %q", l)
		}
	}
	if c.State.Health == nil || c.State.Health.Status != "healthy" {
		t.Errorf("app container health: %+v, want healthy", c.State.Health)
	} else if n := len(c.State.Health.Log); n == 0 || c.State.Health.Log[n-1].ExitCode != 0 {
		t.Errorf("app container's last healthcheck: %+v", c.State.Health.Log)
	}

	// /info through the gateway shows the build args, as do the labels.
	a := s.get(t, "/info")
	var info struct {
		Version   string `json:"version"`
		Commit    string `json:"commit"`
		BuildTime string `json:"build_time"`
		Instance  string `json:"instance"`
	}
	if a.status != http.StatusOK || json.Unmarshal([]byte(a.body), &info) != nil {
		t.Fatalf("/info: %s", a)
	}
	for _, f := range []struct{ arg, label, info, env string }{
		{"VERSION", "org.opencontainers.image.version", info.Version, "STACK_IMAGE_VERSION"},
		{"COMMIT", "org.opencontainers.image.revision", info.Commit, "STACK_IMAGE_COMMIT"},
		{"BUILD_TIME", "org.opencontainers.image.created", info.BuildTime, "STACK_IMAGE_BUILD_TIME"},
	} {
		if label := img.Config.Labels[f.label]; f.info != label {
			t.Errorf("/info shows %s %q, the image's %s label %q", f.arg, f.info, f.label, label)
		}
		// What .ci/stack.sh says it built the image with.
		if want := os.Getenv(f.env); want != "" && f.info != want {
			t.Errorf("/info shows %s %q, the image was built with %s=%q", f.arg, f.info, f.arg, want)
		}
	}
	// The Dockerfile's defaults (dev, unknown) mean the build args were lost.
	if info.Version == "" || info.Version == "dev" {
		t.Errorf("/info version %q: the VERSION build arg did not reach the binary", info.Version)
	}
	if !regexp.MustCompile(`^[0-9a-f]{40}$`).MatchString(info.Commit) {
		t.Errorf("/info commit %q, want the 40-digit commit passed as COMMIT", info.Commit)
	}
	if _, err := time.Parse(time.RFC3339, info.BuildTime); err != nil {
		t.Errorf("/info build_time %q is not the RFC 3339 time passed as BUILD_TIME: %v", info.BuildTime, err)
	}
	t.Logf("/info: version %s, commit %s, built %s, instance %s", info.Version, info.Commit, info.BuildTime, info.Instance)
	if !strings.HasPrefix(info.Instance, c.Config.Hostname+":") {
		t.Errorf("/info instance %q, want the container's host name %s", info.Instance, c.Config.Hostname)
	}
}
