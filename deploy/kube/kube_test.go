//go:build kube

package kube

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/osms/sports-service/discovery"
	"github.com/osms/sports-service/internal/testenv"
)

// Bounds docs/kubernetes.md documents ("Scaling", "A pod that dies"): what
// the tests hold the cluster to. Not performance figures: a run that needs
// longer is broken (a probe, a registration, an endpoint that never moves).
const (
	// A new replica is ready, answers through the Service and is UP in
	// Eureka within this of `helm upgrade --set replicaCount=3`.
	scaleBound = 90 * time.Second
	// After a SIGKILL, callers of the Service stop failing within this.
	killRecoveryBound = 15 * time.Second
	// The killed container is restarted and ready again within this.
	killReadyBound = 60 * time.Second
	// A deleted pod's endpoint leaves every kube-proxy's rules within this:
	// the chart's SHUTDOWN_DELAY without Eureka (deploy/helm_test.go).
	kubeProxyForgets = 10 * time.Second
)

// TestCluster installs the chart and runs every check against the one
// release, in order: the read-only checks first, then those that replace,
// scale, evict and kill pods under load.
func TestCluster(t *testing.T) {
	c := connect(t)
	s := &suite{cluster: c}
	for _, tc := range []struct {
		name string
		run  func(*testing.T, *suite)
	}{
		{"server-side dry-run", testDryRun},
		{"install", testInstall},
		{"client flow", testClientFlow},
		{"registered in eureka", testRegistered},
		{"metrics scraped by prometheus", testPrometheus},
		{"rolling update under load", testRollingUpdate},
		{"scale from 1 to 3", testScale},
		{"endpoint removal reaches every kube-proxy", testEndpointRemoval},
		{"drain a node under load", testDrain},
		{"pod killed with SIGKILL", testKill},
	} {
		if !t.Run(tc.name, func(t *testing.T) { tc.run(t, s) }) && tc.name == "install" {
			t.Fatal("the release is not installed: the other checks cannot run")
		}
	}
	for _, m := range s.measured {
		t.Log("measured: " + m)
	}
}

// suite is the state the checks share.
type suite struct {
	*cluster
	api      *api
	eureka   *testenv.Eureka
	players  []int64 // players the load reads
	measured []string
}

func (s *suite) measure(t testing.TB, format string, args ...any) {
	t.Helper()
	line := fmt.Sprintf(format, args...)
	t.Log("measured: " + line)
	s.measured = append(s.measured, line)
}

// renderChart is `helm template` of the chart with values, in the test's
// namespace.
func (c *cluster) renderChart(t testing.TB, values map[string]any) string {
	t.Helper()
	return c.mustRun(t, 2*time.Minute, nil, c.helmBin, "template", release, chartDir(t),
		"--namespace", c.ns, "-f", testenv.HelmValuesFile(t, values))
}

// applyDryRun sends manifests to the apiserver with a server-side dry run
// and strict field validation; it returns kubectl's output and warnings.
func (c *cluster) applyDryRun(t testing.TB, manifests string) (string, error) {
	t.Helper()
	return c.run(t, 2*time.Minute, []byte(manifests), c.kubectlBin, "-n", c.ns, "apply", "--dry-run=server",
		"--validate=strict", "-f", "-")
}

// testDryRun: the apiserver accepts the chart rendered with the default
// values (plus the MongoDB they require), the external and the
// self-contained examples, with no Pod Security warning; and it refuses a
// pod that breaks the restricted profile, so that the acceptance means
// something.
func testDryRun(t *testing.T, s *suite) {
	for _, tc := range []struct {
		name   string
		values map[string]any
	}{
		{"default values and an external MongoDB", map[string]any{"externalMongodb": map[string]any{"uri": "mongodb://db.example:27017"}}},
		{"ci/external-values.yaml", testenv.ChartValues(t, "external-values.yaml")},
		{"ci/self-contained-values.yaml", testenv.ChartValues(t, "self-contained-values.yaml")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			manifests := s.renderChart(t, tc.values)
			out, err := s.applyDryRun(t, manifests)
			if w, ok := err.(*warnings); ok {
				t.Errorf("the apiserver accepted the chart with warnings: %s", w.text)
			} else if err != nil {
				t.Fatalf("the apiserver refused the chart: %v\n%s", err, out)
			}
			if n := strings.Count(out, "(server dry run)"); n != strings.Count(manifests, "\nkind: ") {
				t.Errorf("dry run of %d objects:\n%s", strings.Count(manifests, "\nkind: "), out)
			}
		})
	}
	t.Run("a privileged test pod is refused", func(t *testing.T) {
		manifests := s.renderChart(t, map[string]any{"externalMongodb": map[string]any{"uri": "mongodb://db.example:27017"}})
		bad := strings.ReplaceAll(manifests, "allowPrivilegeEscalation: false", "allowPrivilegeEscalation: true")
		out, err := s.applyDryRun(t, bad)
		if err == nil || !strings.Contains(out+err.Error(), "violate") || !strings.Contains(out+err.Error(), "PodSecurity") {
			t.Errorf("the apiserver did not refuse a pod that allows privilege escalation: %v\n%s", err, out)
		}
	})
}

// testInstall: `helm install --wait` of the self-contained release, with
// the admin's password in a Secret of the test's own; `helm test`; no
// secret in `helm get values` or in the ConfigMap.
func testInstall(t *testing.T, s *suite) {
	s.prepareStorage(t)
	raw := make([]byte, 18)
	if _, err := rand.Read(raw); err != nil {
		t.Fatal(err)
	}
	password := base64.RawURLEncoding.EncodeToString(raw)
	// On standard input, so that the password is in no command line.
	secret := fmt.Sprintf("apiVersion: v1\nkind: Secret\nmetadata: {name: osms-test-secrets}\nstringData:\n  ADMIN_PASSWORD: %q\n", password)
	s.mustRun(t, time.Minute, []byte(secret), s.kubectlBin, "-n", s.ns, "apply", "-f", "-")

	start := time.Now()
	s.helm(t, 10*time.Minute, "install", release, chartDir(t), "-f", testenv.HelmValuesFile(t, s.testValues(t)), "--wait", "--timeout", "8m")
	s.measure(t, "helm install --wait (self-contained: MongoDB, Eureka, Jaeger, 2 replicas): %v", time.Since(start).Round(time.Second))

	start = time.Now()
	out := s.helm(t, 5*time.Minute, "test", release, "--timeout", "4m", "--logs")
	if !strings.Contains(out, `"status":"UP"`) {
		t.Errorf("helm test: %s", out)
	}
	s.measure(t, "helm test: %v", time.Since(start).Round(time.Second))

	// The generated keys, as the chart's Secret holds them.
	var own corev1.Secret
	s.kubectlJSON(t, &own, "get", "secret", fullname)
	secrets := map[string]string{"the admin's password": password}
	for _, key := range []string{"JWT_SIGNING_KEYS", "SESSION_KEY"} {
		if len(own.Data[key]) == 0 {
			t.Errorf("the chart's Secret has no generated %s", key)
		}
		secrets["the generated "+key] = string(own.Data[key])
	}
	values := s.helm(t, time.Minute, "get", "values", release, "--all", "-o", "yaml")
	cms := s.kubectl(t, "get", "configmaps", "-o", "yaml")
	for what, text := range map[string]string{"helm get values --all": values, "the ConfigMaps": cms} {
		for name, secret := range secrets {
			if secret != "" && strings.Contains(text, secret) {
				t.Errorf("%s show %s", what, name)
			}
		}
	}

	var svc corev1.Service
	s.kubectlJSON(t, &svc, "get", "service", fullname)
	s.api = newAPI(fmt.Sprintf("http://%s:%d", svc.Spec.ClusterIP, svc.Spec.Ports[0].Port), 4)
	var eureka corev1.Service
	s.kubectlJSON(t, &eureka, "get", "service", fullname+"-eureka")
	s.eureka = testenv.EurekaAt(fmt.Sprintf("http://%s:8761/eureka", eureka.Spec.ClusterIP))
	s.api.signIn(t, adminUser, password)

	// Players for the load to read.
	game := newID()
	s.api.must(t, http.StatusCreated, http.MethodPost, "/ch11/game/add", map[string]any{"game_id": game, "name": "Kube",
		"date_start": "2024-06-01", "date_end": "2024-06-02", "officials": []int64{}})
	for range 5 {
		id := newID()
		s.api.must(t, http.StatusCreated, http.MethodPost, "/ch11/player/add", playerJSON(id, game, "Reader"))
		s.players = append(s.players, id)
	}
}

// testClientFlow is the book's client through the Service: a login, an
// official, a game and players are added, read, listed, updated with their
// ETag (a stale one is refused) and deleted in the order references allow.
func testClientFlow(t *testing.T, s *suite) {
	a := s.api
	n := newID()
	user, pass := fmt.Sprintf("flow-%x", n), fmt.Sprintf("flow-pass-%x", n)
	ans := a.must(t, http.StatusCreated, http.MethodPost, "/ch11/login/add", map[string]any{"login_id": n, "username": user, "password": pass})
	if strings.Contains(ans.body, pass) {
		t.Errorf("add login shows the password: %s", ans.body)
	}
	a.must(t, http.StatusOK, http.MethodPost, "/ch11/login/verify", map[string]any{"username": user, "password": pass})
	a.must(t, http.StatusUnauthorized, http.MethodPost, "/ch11/login/verify", map[string]any{"username": user, "password": "wrong-" + pass})
	a.must(t, http.StatusOK, http.MethodGet, fmt.Sprintf("/ch11/login/get/%d", n), nil)

	official, game, p1, p2 := n, n, n, n+1
	a.must(t, http.StatusCreated, http.MethodPost, "/ch11/official/add", officialJSON(official, "Flow"))
	a.must(t, http.StatusCreated, http.MethodPost, "/ch11/game/add", map[string]any{"game_id": game, "name": "Final",
		"date_start": "2024-06-01", "date_end": "2024-06-02", "officials": []int64{official}})
	for _, id := range []int64{p1, p2} {
		a.must(t, http.StatusCreated, http.MethodPost, "/ch11/player/add", playerJSON(id, game, "Flow"))
	}
	a.must(t, http.StatusConflict, http.MethodPost, "/ch11/player/add", playerJSON(p1, game, "Flow"))
	got := a.must(t, http.StatusOK, http.MethodGet, fmt.Sprintf("/ch11/player/get/%d", p1), nil)
	if !strings.Contains(got.body, `"Flow"`) {
		t.Errorf("get player: %s", got)
	}
	list := a.must(t, http.StatusOK, http.MethodGet, fmt.Sprintf("/ch11/player/list/all?limit=5&after=%d", n-1), nil)
	if !strings.Contains(list.body, strconv.FormatInt(p2, 10)) {
		t.Errorf("list players: %s", list)
	}

	// Update with the ETag read; the old ETag is then refused (412).
	g := a.must(t, http.StatusOK, http.MethodGet, fmt.Sprintf("/ch11/game/get/%d", game), nil)
	etag := g.header.Get("ETag")
	if etag == "" {
		t.Fatalf("get game: no ETag: %v", g.header)
	}
	upd := a.must(t, http.StatusOK, http.MethodPatch, fmt.Sprintf("/ch11/game/update/%d", game), map[string]any{"name": "Semi"}, "If-Match", etag)
	if !strings.Contains(upd.body, `"Semi"`) || upd.header.Get("ETag") == etag {
		t.Errorf("update game: %s, ETag %q (was %q)", upd, upd.header.Get("ETag"), etag)
	}
	a.must(t, http.StatusPreconditionFailed, http.MethodPatch, fmt.Sprintf("/ch11/game/update/%d", game), map[string]any{"name": "Lost"}, "If-Match", etag)
	a.must(t, http.StatusNotModified, http.MethodGet, fmt.Sprintf("/ch11/game/get/%d", game), nil, "If-None-Match", upd.header.Get("ETag"))

	a.must(t, http.StatusConflict, http.MethodDelete, fmt.Sprintf("/ch11/game/delete/%d", game), nil)
	for _, id := range []int64{p1, p2} {
		a.must(t, http.StatusOK, http.MethodDelete, fmt.Sprintf("/ch11/player/delete/%d", id), nil)
	}
	a.must(t, http.StatusOK, http.MethodDelete, fmt.Sprintf("/ch11/game/delete/%d", game), nil, "If-Match", upd.header.Get("ETag"))
	a.must(t, http.StatusNotFound, http.MethodGet, fmt.Sprintf("/ch11/game/get/%d", game), nil)
	a.must(t, http.StatusOK, http.MethodDelete, fmt.Sprintf("/ch11/official/delete/%d", official), nil)
	a.must(t, http.StatusOK, http.MethodDelete, fmt.Sprintf("/ch11/login/delete/%d", n), nil)
}

// instanceID is the Eureka instance id of a pod: its IP (the chart sets
// EUREKA_PREFER_IP_ADDRESS and EUREKA_INSTANCE_IP), the app, the port.
func instanceID(app, podIP string) string {
	return fmt.Sprintf("%s:%s:8000", podIP, strings.ToLower(app))
}

// registeredApps are the app names every pod registers under.
var registeredApps = []string{discovery.DefaultAppName, discovery.DefaultAppAliases}

// waitRegistered waits until every given pod is UP in Eureka (both names)
// with its pod IP and port, and returns how long that took.
func (s *suite) waitRegistered(t testing.TB, pods []corev1.Pod, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	var missing []string
	for time.Since(start) < within {
		missing = nil
		for _, p := range pods {
			for _, app := range registeredApps {
				inst, err := s.eureka.Lookup(app, instanceID(app, p.Status.PodIP))
				if err != nil || inst == nil || inst.Status != "UP" || inst.IPAddr != p.Status.PodIP || inst.Port.Port != 8000 {
					missing = append(missing, fmt.Sprintf("%s as %s: %+v %v", p.Name, app, inst, err))
				}
			}
		}
		if len(missing) == 0 {
			return time.Since(start)
		}
		time.Sleep(time.Second)
	}
	for _, p := range pods {
		// What the pod's registrar said.
		logs, _ := s.kubectlTry(t, "logs", p.Name)
		var lines []string
		for _, l := range strings.Split(logs, "\n") {
			if strings.Contains(l, "eureka") {
				lines = append(lines, l)
			}
		}
		t.Logf("%s's Eureka log lines:\n%s", p.Name, strings.Join(lines, "\n"))
	}
	t.Fatalf("not UP in Eureka within %v: %s", within, strings.Join(missing, "; "))
	return 0
}

// testRegistered: every replica is UP in Eureka under both names with its
// pod IP, and the health URL it registered answers from the host.
func testRegistered(t *testing.T, s *suite) {
	pods := s.appPods(t)
	took := s.waitRegistered(t, pods, time.Minute)
	s.measure(t, "%d replicas UP in Eureka %v after the check began", len(pods), took.Round(time.Second))
	for _, p := range pods {
		inst, err := s.eureka.Lookup(discovery.DefaultAppName, instanceID(discovery.DefaultAppName, p.Status.PodIP))
		if err != nil || inst == nil {
			t.Fatalf("%s: %v", p.Name, err)
		}
		if want := "http://" + p.Status.PodIP + ":8000/health"; inst.HealthCheckURL != want {
			t.Errorf("%s registered healthCheckUrl %s, want %s", p.Name, inst.HealthCheckURL, want)
		}
		resp, err := http.Get(inst.HealthCheckURL)
		if err != nil {
			t.Errorf("%s: GET %s: %v", p.Name, inst.HealthCheckURL, err)
			continue
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: GET %s: %d", p.Name, inst.HealthCheckURL, resp.StatusCode)
		}
	}
}

// waitPodsGone waits until the named pods no longer exist.
func (s *suite) waitPodsGone(t testing.TB, names []string, timeout time.Duration) {
	t.Helper()
	if len(names) == 0 {
		return
	}
	args := []string{"wait", "--for=delete", "--timeout=" + timeout.String()}
	for _, n := range names {
		args = append(args, "pod/"+n)
	}
	if out, err := s.kubectlTry(t, args...); err != nil && !strings.Contains(out, "NotFound") {
		t.Fatalf("pods %v still there after %v: %v\n%s", names, timeout, err, out)
	}
}

// requireDeregistered: the pods that are gone are no longer in Eureka,
// under either name (unless a current pod has taken the same IP).
func (s *suite) requireDeregistered(t testing.TB, gone []corev1.Pod) {
	t.Helper()
	current := map[string]bool{}
	for _, p := range s.appPods(t) {
		current[p.Status.PodIP] = true
	}
	for _, p := range gone {
		if current[p.Status.PodIP] {
			t.Logf("%s's IP %s belongs to a current pod now: its instance id is that pod's", p.Name, p.Status.PodIP)
			continue
		}
		for _, app := range registeredApps {
			inst, err := s.eureka.Lookup(app, instanceID(app, p.Status.PodIP))
			if err != nil || inst != nil {
				t.Errorf("%s (gone) is still in Eureka as %s: %+v %v", p.Name, app, inst, err)
			}
		}
	}
}

func podNames(pods []corev1.Pod) []string {
	var names []string
	for _, p := range pods {
		names = append(names, p.Name)
	}
	return names
}

// testRollingUpdate: `helm upgrade` to a new image tag while a steady read
// and write load goes through the Service: no request fails, from the
// upgrade until the last old pod has drained and exited; the old pods leave
// Eureka.
func testRollingUpdate(t *testing.T, s *suite) {
	old := s.appPods(t)
	repo, _, _ := strings.Cut(s.appImage, ":")
	tag := "rollout-" + strings.TrimPrefix(s.ns, "osms-test-")
	set := []string{"--set", "image.tag=" + tag}
	if sh := os.Getenv("KUBE_SH"); sh != "" {
		// The same image under a new tag in every node: a new version to
		// Kubernetes, without a registry.
		s.mustRun(t, 5*time.Minute, nil, "bash", sh, "tag-image", s.appImage, repo+":"+tag)
	} else {
		t.Logf("KUBE_SH unset: no new image tag can be made; rolling the pods with a new pod annotation instead")
		set = []string{"--set-string", "podAnnotations.osms-test/rollout=" + tag}
	}
	l := startLoad(s.api, 4, 2, s.players)
	start := time.Now()
	s.helm(t, 10*time.Minute, append([]string{"upgrade", release, chartDir(t), "--reuse-values", "--wait", "--timeout", "8m"}, set...)...)
	rollout := time.Since(start)
	s.waitPodsGone(t, podNames(old), 5*time.Minute)
	drained := time.Since(start)
	time.Sleep(3 * time.Second) // the load goes on past the last exit
	r := l.stop()
	s.measure(t, "rolling update of %d replicas: helm upgrade --wait %v, last old pod gone %v after the upgrade began", len(old), rollout.Round(time.Second), drained.Round(time.Second))
	s.measure(t, "failed requests during the rolling update: %d (%s)", r.failed+r.connErrors, r)
	r.requireNoFailure(t, "the rolling update")

	current := s.appPods(t)
	for _, p := range current {
		if img := p.Spec.Containers[0].Image; len(set) == 2 && set[0] == "--set" && img != repo+":"+tag {
			t.Errorf("%s runs %s after the upgrade, want %s:%s", p.Name, img, repo, tag)
		}
	}
	s.waitRegistered(t, current, time.Minute)
	s.requireDeregistered(t, old)
}

// setReplicas sets the release's replicaCount (helm keeps owning it).
func (s *suite) setReplicas(t testing.TB, n int, wait bool) {
	t.Helper()
	args := []string{"upgrade", release, chartDir(t), "--reuse-values", "--set", "replicaCount=" + strconv.Itoa(n)}
	if wait {
		args = append(args, "--wait", "--timeout", "5m")
	}
	s.helm(t, 6*time.Minute, args...)
}

// desiredReplicas is the Deployment's replica count.
func (s *suite) desiredReplicas(t testing.TB) int {
	t.Helper()
	n, err := strconv.Atoi(s.kubectl(t, "get", "deployment", fullname, "-o", "jsonpath={.spec.replicas}"))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// waitReady waits until n replicas (not being deleted) are ready and
// returns them.
func (s *suite) waitReady(t testing.TB, n int) []corev1.Pod {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(time.Second) {
		pods := s.readyPods(t)
		if len(pods) == n {
			return pods
		}
		if time.Now().After(deadline) {
			t.Fatalf("ready replicas %v, want %d", podNames(pods), n)
		}
	}
}

// readyPods are the service's pods that are ready.
func (s *suite) readyPods(t testing.TB) []corev1.Pod {
	t.Helper()
	var ready []corev1.Pod
	for _, p := range s.appPods(t) {
		if podReady(p) {
			ready = append(ready, p)
		}
	}
	return ready
}

// servingPods asks /info through the Service on new connections (each one
// balanced by kube-proxy anew) and returns the pods that answered.
func (s *suite) servingPods(tries int) map[string]bool {
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	seen := map[string]bool{}
	for range tries {
		resp, err := client.Get(s.api.base + "/info")
		if err != nil {
			continue
		}
		var info struct {
			Instance string `json:"instance"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&info)
		resp.Body.Close()
		host, _, _ := strings.Cut(info.Instance, ":")
		seen[host] = true
	}
	return seen
}

// testScale: one replica's throughput through the Service, then 1 -> 3
// replicas: all ready, answering through the Service and UP in Eureka
// within scaleBound; then three replicas' throughput. The ratio is
// reported, not asserted.
func testScale(t *testing.T, s *suite) {
	s.setReplicas(t, 1, true)
	s.waitReady(t, 1)
	paths := []struct{ name, path string }{
		{"GET /ch11/player/get/{id} (a database read)", fmt.Sprintf("/ch11/player/get/%d", s.players[0])},
		{"GET /info (no database)", "/info"},
	}
	const conns, d = 12, 8 * time.Second
	one := make([]float64, len(paths))
	for i, p := range paths {
		var failed int
		one[i], failed = throughput(s.api, p.path, conns, d)
		s.measure(t, "1 replica, %s: %.0f requests/s (%d failed)", p.name, one[i], failed)
	}

	start := time.Now()
	s.setReplicas(t, 3, false)
	var readyAt, servingAt time.Duration
	for readyAt == 0 || servingAt == 0 {
		if time.Since(start) > scaleBound {
			t.Fatalf("after %v: ready %v, answering through the Service %v", scaleBound, podNames(s.readyPods(t)), s.servingPods(30))
		}
		ready := s.readyPods(t)
		if readyAt == 0 && len(ready) == 3 {
			readyAt = time.Since(start)
		}
		if readyAt != 0 && len(s.servingPods(30)) == 3 {
			servingAt = time.Since(start)
		}
		time.Sleep(500 * time.Millisecond)
	}
	pods := s.readyPods(t)
	s.waitRegistered(t, pods, scaleBound-time.Since(start))
	registeredAt := time.Since(start)
	s.measure(t, "scale 1 -> 3: ready %v, all answering through the Service %v, all UP in Eureka %v", readyAt.Round(time.Second),
		servingAt.Round(time.Second), registeredAt.Round(time.Second))

	for i, p := range paths {
		three, failed := throughput(s.api, p.path, conns, d)
		s.measure(t, "3 replicas, %s: %.0f requests/s (%d failed); per replica %.0f/s = %.2f x one replica's", p.name, three, failed, three/3, three/3/one[i])
	}
}

// nodeNetns are the nodes' network namespaces (.ci/kube.sh names them
// osms-kube-ID-nodeN), where each kube-proxy writes its rules.
func nodeNetns(t testing.TB) []string {
	t.Helper()
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		testenv.RequireOrSkip(t, "ip netns (iproute2): "+err.Error())
	}
	prefix := "osms-kube-" + os.Getenv("KUBE_CLUSTER_ID") + "-node"
	var names []string
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) > 0 && strings.HasPrefix(f[0], prefix) {
			names = append(names, f[0])
		}
	}
	if len(names) == 0 || os.Getenv("KUBE_CLUSTER_ID") == "" {
		testenv.RequireOrSkip(t, "the nodes' network namespaces of .ci/kube.sh (KUBE_CLUSTER_ID, "+prefix+"*)")
	}
	return names
}

// proxiesTo reports whether the kube-proxy of a node's namespace has a
// rule sending Service traffic to addr.
func proxiesTo(t testing.TB, netns, addr string) bool {
	t.Helper()
	out, err := exec.Command("ip", "netns", "exec", netns, "iptables-save", "-t", "nat").Output()
	if err != nil {
		t.Fatalf("iptables-save in %s: %v", netns, err)
	}
	return strings.Contains(string(out), "--to-destination "+addr)
}

// testEndpointRemoval measures what the drain's kube-proxy term stands for:
// from a pod's deletion until no node's kube-proxy sends new connections to
// it (its DNAT rule is gone from every node). It must stay within
// kubeProxyForgets, the SHUTDOWN_DELAY the chart uses without Eureka.
func testEndpointRemoval(t *testing.T, s *suite) {
	netnses := nodeNetns(t)
	pod := s.readyPods(t)[0]
	addr := pod.Status.PodIP + ":8000"
	for _, ns := range netnses {
		if !proxiesTo(t, ns, addr) {
			t.Fatalf("%s: kube-proxy has no rule to %s (%s) before the deletion", ns, addr, pod.Name)
		}
	}
	start := time.Now()
	s.kubectl(t, "delete", "pod", pod.Name, "--wait=false")
	var slowest time.Duration
	for _, ns := range netnses {
		for proxiesTo(t, ns, addr) {
			if time.Since(start) > time.Minute {
				t.Fatalf("%s: kube-proxy still sends to %s a minute after its deletion", ns, pod.Name)
			}
			time.Sleep(50 * time.Millisecond)
		}
		slowest = max(slowest, time.Since(start))
	}
	s.measure(t, "endpoint removal: no kube-proxy (%d nodes) sends to a deleted pod %v after kubectl delete", len(netnses), slowest.Round(10*time.Millisecond))
	if slowest > kubeProxyForgets {
		t.Errorf("kube-proxy took %v to forget a deleted pod, more than the %v the chart's SHUTDOWN_DELAY allows without Eureka", slowest, kubeProxyForgets)
	}
}

// nodeOf is the node of the first pod the selector matches.
func (s *suite) nodeOf(t testing.TB, selector string) string {
	t.Helper()
	return s.kubectl(t, "get", "pods", "-l", selector, "-o", "jsonpath={.items[0].spec.nodeName}")
}

// testDrain: `kubectl drain` of a node holding replicas (not MongoDB's:
// the in-chart database has one replica, so draining its node is an outage
// by design) under load. The PodDisruptionBudget lets one pod go at a time:
// ready replicas never fall below replicas - 1; no request fails.
func testDrain(t *testing.T, s *suite) {
	pods := s.waitReady(t, s.desiredReplicas(t))
	if len(s.nodes) < 2 {
		testEvictions(t, s, pods)
		return
	}
	mongoNode := s.nodeOf(t, "app.kubernetes.io/component=mongodb")
	// The node to drain: the one with most replicas that does not hold
	// MongoDB. With one replica there the budget would have nothing to
	// hold back: more replicas until it has two (the spread puts them on
	// the emptier node).
	var node string
	var count map[string]int
	for attempt := 0; ; attempt++ {
		count = map[string]int{}
		for _, p := range pods {
			count[p.Spec.NodeName]++
		}
		node = ""
		for _, n := range s.nodes {
			if n != mongoNode && (node == "" || count[n] > count[node]) {
				node = n
			}
		}
		if node == "" || count[node] >= 2 || attempt == 1 {
			break
		}
		n := len(pods) + 2 - count[node]
		s.setReplicas(t, n, true)
		pods = s.waitReady(t, n)
	}
	replicas := len(pods)
	if node == "" || count[node] == 0 {
		t.Fatalf("no node without MongoDB holds a replica: pods per node %v, MongoDB on %s", count, mongoNode)
	}
	t.Logf("draining %s (%d of %d replicas; MongoDB on %s)", node, count[node], replicas, mongoNode)

	minReady, stop := s.watchReady(t)
	l := startLoad(s.api, 4, 2, s.players)
	start := time.Now()
	out, err := s.kubectlTry(t, "drain", node, "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=6m")
	took := time.Since(start)
	defer s.kubectl(t, "uncordon", node)
	if _, warn := err.(*warnings); err != nil && !warn {
		l.stop()
		stop()
		t.Fatalf("kubectl drain %s: %v\n%s", node, err, out)
	}
	time.Sleep(3 * time.Second)
	r := l.stop()
	stop()
	refusals := strings.Count(out+fmt.Sprint(err), "disruption budget")
	s.measure(t, "kubectl drain %s (%d replicas on it): %v; evictions the PodDisruptionBudget refused first: %d; fewest ready replicas: %d of %d",
		node, count[node], took.Round(time.Second), refusals, *minReady, replicas)
	s.measure(t, "failed requests during the drain: %d (%s)", r.failed+r.connErrors, r)
	r.requireNoFailure(t, "the drain")
	if *minReady < replicas-1 {
		t.Errorf("ready replicas fell to %d of %d: the PodDisruptionBudget (maxUnavailable 1) did not hold", *minReady, replicas)
	}
	for _, p := range s.appPods(t) {
		if p.Spec.NodeName == node {
			t.Errorf("%s still on the drained node %s", p.Name, node)
		}
	}
}

// watchReady samples the number of ready replicas every half second until
// stop is called; minReady is the fewest seen.
func (s *suite) watchReady(t testing.TB) (minReady *int, stop func()) {
	n := len(s.readyPods(t))
	minReady = &n
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var mu sync.Mutex
	wg.Go(func() {
		for ctx.Err() == nil {
			out, err := s.run(t, 30*time.Second, nil, s.kubectlBin, "-n", s.ns, "get", "pods", "-l", appSelector, "-o", "json")
			if err == nil {
				var list corev1.PodList
				if json.Unmarshal([]byte(out), &list) == nil {
					ready := 0
					for _, p := range list.Items {
						if podReady(p) && p.DeletionTimestamp == nil {
							ready++
						}
					}
					mu.Lock()
					*minReady = min(*minReady, ready)
					mu.Unlock()
				}
			}
			time.Sleep(500 * time.Millisecond)
		}
	})
	return minReady, func() { cancel(); wg.Wait() }
}

// testEvictions is the drain on a one-node cluster: each replica evicted
// through the Eviction API in turn, retried while the budget refuses.
func testEvictions(t *testing.T, s *suite, pods []corev1.Pod) {
	minReady, stop := s.watchReady(t)
	l := startLoad(s.api, 4, 2, s.players)
	refusals := 0
	for _, p := range pods {
		eviction := fmt.Sprintf(`{"apiVersion":"policy/v1","kind":"Eviction","metadata":{"name":%q,"namespace":%q}}`, p.Name, s.ns)
		for deadline := time.Now().Add(3 * time.Minute); ; time.Sleep(2 * time.Second) {
			out, err := s.run(t, time.Minute, []byte(eviction), s.kubectlBin, "create", "--raw",
				fmt.Sprintf("/api/v1/namespaces/%s/pods/%s/eviction", s.ns, p.Name), "-f", "-")
			if err == nil {
				break
			}
			if !strings.Contains(out, "disruption budget") || time.Now().After(deadline) {
				l.stop()
				stop()
				t.Fatalf("evict %s: %v\n%s", p.Name, err, out)
			}
			refusals++
		}
	}
	s.waitPodsGone(t, podNames(pods), 5*time.Minute)
	time.Sleep(3 * time.Second)
	r := l.stop()
	stop()
	s.measure(t, "one node: %d replicas evicted in turn; refused first by the budget: %d; fewest ready: %d", len(pods), refusals, *minReady)
	r.requireNoFailure(t, "the evictions")
	if *minReady < len(pods)-1 {
		t.Errorf("ready replicas fell to %d of %d: the PodDisruptionBudget did not hold", *minReady, len(pods))
	}
}

var containerIDPattern = regexp.MustCompile(`^containerd://([0-9a-f]{64})$`)

// testKill: one replica's process gets SIGKILL (through its node's
// containerd, as the kernel's OOM killer would end it): the container is
// restarted and ready again within killReadyBound, callers of the Service
// stop failing within killRecoveryBound (the failures before are counted
// and reported), and the instance is UP in Eureka again.
func testKill(t *testing.T, s *suite) {
	if _, err := exec.LookPath("ctr"); err != nil || len(s.sockets) != len(s.nodes) {
		testenv.RequireOrSkip(t, fmt.Sprintf("ctr (Debian's containerd) and each node's containerd socket (KUBE_CONTAINERD_SOCKETS %v for KUBE_NODES %v)", s.sockets, s.nodes))
	}
	pods := s.readyPods(t)
	if len(pods) < 2 {
		t.Fatalf("%d ready replicas, want 2 or more", len(pods))
	}
	victim := pods[0]
	m := containerIDPattern.FindStringSubmatch(victim.Status.ContainerStatuses[0].ContainerID)
	if m == nil {
		t.Fatalf("%s: container id %q", victim.Name, victim.Status.ContainerStatuses[0].ContainerID)
	}
	socket := s.sockets[slices.Index(s.nodes, victim.Spec.NodeName)]
	restarts := victim.Status.ContainerStatuses[0].RestartCount

	l := startLoad(s.api, 4, 2, s.players)
	time.Sleep(3 * time.Second)
	killed := time.Now()
	s.mustRun(t, time.Minute, nil, "ctr", "--address", socket, "--namespace", "k8s.io", "tasks", "kill", "--signal", "SIGKILL", m[1])
	var readyAfter time.Duration
	for readyAfter == 0 {
		if time.Since(killed) > killReadyBound {
			l.stop()
			t.Fatalf("%s not restarted and ready within %v", victim.Name, killReadyBound)
		}
		var p corev1.Pod
		s.kubectlJSON(t, &p, "get", "pod", victim.Name)
		if p.Status.ContainerStatuses[0].RestartCount > restarts && podReady(p) {
			readyAfter = time.Since(killed)
		}
		time.Sleep(500 * time.Millisecond)
	}
	s.waitRegistered(t, []corev1.Pod{victim}, time.Minute)
	time.Sleep(5 * time.Second)
	r := l.stop()
	recovered := time.Duration(0)
	if !r.lastFailure.IsZero() {
		recovered = r.lastFailure.Sub(killed)
	}
	s.measure(t, "SIGKILL of %s: restarted and ready after %v; %d failed requests, the last %v after the kill (%s)",
		victim.Name, readyAfter.Round(100*time.Millisecond), r.failed+r.connErrors, recovered.Round(100*time.Millisecond), r)
	for i, f := range r.failures {
		if i < 10 {
			t.Logf("failure %v after the kill: %s", f.at.Sub(killed).Round(time.Millisecond), f.what)
		}
	}
	if recovered > killRecoveryBound {
		t.Errorf("callers failed until %v after the kill, more than the documented %v", recovered, killRecoveryBound)
	}
}
