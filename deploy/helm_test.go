package deploy

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
	k8syaml "k8s.io/apimachinery/pkg/util/yaml"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/osms/sports-service/auth"
	"github.com/osms/sports-service/config"
	"github.com/osms/sports-service/discovery"
	"github.com/osms/sports-service/handlers"
	"github.com/osms/sports-service/internal/testenv"
	"github.com/osms/sports-service/metrics"
	"github.com/osms/sports-service/telemetry"
)

// The release the tests render: `helm template osms CHART -n sports`.
const (
	chartRelease   = "osms"
	chartNamespace = "sports"
	chartFullname  = "osms-sports-service"
)

// The drain's arithmetic (docs/kubernetes.md, "The drain").
const (
	// A default Spring Cloud caller learns that an instance left after
	// Eureka's read-only response cache (30 s), its own registry fetch
	// (30 s) and Spring Cloud LoadBalancer's cache (35 s).
	eurekaCallersForget = 30*time.Second + discovery.DefaultRegistryFetchInterval + 35*time.Second
	// A deleted pod's endpoint reaches every kube-proxy within this
	// (measured in docs/kubernetes.md); the delay without Eureka.
	kubeProxyForgets = 10 * time.Second
	// The process needs a moment after the drain to exit.
	exitMargin = 5 * time.Second
)

func chartDir(t testing.TB) string { return testenv.ChartDir(t) }

// runHelm runs helm with args and returns its output (stdout and stderr).
func runHelm(t testing.TB, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, testenv.Helm(t), args...)
	// No kubeconfig: rendering must not depend on a cluster.
	cmd.Env = append(os.Environ(), "KUBECONFIG="+filepath.Join(t.TempDir(), "none"), "HELM_CACHE_HOME="+t.TempDir(),
		"HELM_CONFIG_HOME="+t.TempDir(), "HELM_DATA_HOME="+t.TempDir())
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// manifest is one object of the rendered chart.
type manifest struct {
	Source string // the template, from helm's "# Source:" line
	Kind   string
	Name   string
	YAML   string
	Object any // the k8s.io/api type of its kind
}

// renderedChart is the output of `helm template`, each object decoded into
// its Kubernetes type with unknown fields refused: a misspelt field fails here
// as the apiserver would refuse it.
type renderedChart struct {
	manifests []manifest
}

var kinds = map[string]func() any{
	"ConfigMap":               func() any { return &corev1.ConfigMap{} },
	"Secret":                  func() any { return &corev1.Secret{} },
	"Service":                 func() any { return &corev1.Service{} },
	"ServiceAccount":          func() any { return &corev1.ServiceAccount{} },
	"Pod":                     func() any { return &corev1.Pod{} },
	"Deployment":              func() any { return &appsv1.Deployment{} },
	"StatefulSet":             func() any { return &appsv1.StatefulSet{} },
	"PodDisruptionBudget":     func() any { return &policyv1.PodDisruptionBudget{} },
	"HorizontalPodAutoscaler": func() any { return &autoscalingv2.HorizontalPodAutoscaler{} },
	"NetworkPolicy":           func() any { return &networkingv1.NetworkPolicy{} },
}

// renderChart runs `helm template` with values; err carries helm's message.
func renderChart(t testing.TB, values map[string]any) (*renderedChart, error) {
	t.Helper()
	out, err := runHelm(t, "template", chartRelease, chartDir(t), "--namespace", chartNamespace, "-f", testenv.HelmValuesFile(t, values))
	if err != nil {
		return nil, fmt.Errorf("%w: %s", err, out)
	}
	c := &renderedChart{}
	reader := k8syaml.NewYAMLReader(bufio.NewReader(strings.NewReader(out)))
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("helm template output: %v", err)
		}
		m := manifest{YAML: string(doc)}
		if s := regexp.MustCompile(`(?m)^# Source: (.+)$`).FindStringSubmatch(m.YAML); s != nil {
			m.Source = s[1]
		}
		js, err := sigsyaml.YAMLToJSONStrict(doc)
		if err != nil {
			t.Fatalf("%s: not YAML: %v\n%s", m.Source, err, doc)
		}
		if string(js) == "null" {
			continue
		}
		var meta struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if err := json.Unmarshal(js, &meta); err != nil {
			t.Fatalf("%s: %v", m.Source, err)
		}
		m.Kind, m.Name = meta.Kind, meta.Metadata.Name
		newObject, ok := kinds[m.Kind]
		if !ok {
			t.Fatalf("%s: kind %q is not one the tests know; add it to kinds", m.Source, m.Kind)
		}
		m.Object = newObject()
		dec := json.NewDecoder(bytes.NewReader(js))
		dec.DisallowUnknownFields()
		if err := dec.Decode(m.Object); err != nil {
			t.Fatalf("%s: %s %s does not decode as a Kubernetes object: %v\n%s", m.Source, m.Kind, m.Name, err, doc)
		}
		c.manifests = append(c.manifests, m)
	}
	return c, nil
}

// mustRender renders values that must render.
func mustRender(t testing.TB, values map[string]any) *renderedChart {
	t.Helper()
	c, err := renderChart(t, values)
	if err != nil {
		t.Fatalf("helm template: %v", err)
	}
	return c
}

// find returns the object of kind and name, or nil.
func find[T any](c *renderedChart, kind, name string) *T {
	for _, m := range c.manifests {
		if m.Kind == kind && m.Name == name {
			return m.Object.(*T)
		}
	}
	return nil
}

// object returns the object of kind and name, or fails the test.
func object[T any](t testing.TB, c *renderedChart, kind, name string) *T {
	t.Helper()
	o := find[T](c, kind, name)
	if o == nil {
		t.Fatalf("the chart renders no %s %s", kind, name)
	}
	return o
}

// podSpecs are the pod templates of every workload, and the test pod.
func (c *renderedChart) podSpecs() map[string]corev1.PodSpec {
	pods := map[string]corev1.PodSpec{}
	for _, m := range c.manifests {
		switch o := m.Object.(type) {
		case *appsv1.Deployment:
			pods[m.Kind+"/"+m.Name] = o.Spec.Template.Spec
		case *appsv1.StatefulSet:
			pods[m.Kind+"/"+m.Name] = o.Spec.Template.Spec
		case *corev1.Pod:
			pods[m.Kind+"/"+m.Name] = o.Spec
		}
	}
	return pods
}

// chartScenario is a set of values and what the pods would get from the
// Secrets the user made beforehand.
type chartScenario struct {
	name   string
	values map[string]any
	// existing are the user's own Secrets, by name: what the pods get from
	// secrets.existingSecret and externalMongodb.existingSecret.
	existing map[string]map[string]string
	// secretValues are the secret values given in values: none may reach
	// anything but a Secret.
	secretValues []string
	// compose: the install mirrors docker-compose.yaml's stack.
	compose bool
}

func chartScenarios(t testing.TB) []chartScenario {
	const (
		uri      = "mongodb://sports:uri-password-7c1e@db.example:27017/?authSource=admin"
		jwt      = "k9:c2VjcmV0LWp3dC1rZXktZm9yLXRoZS1jaGFydC10ZXN0LTAx"
		password = "admin-password-3f9a"
		token    = "api-token-5d2b"
		session  = "session-key-for-the-chart-test-0123456789"
	)
	return []chartScenario{
		{
			name: "external services with secrets in values",
			values: map[string]any{
				"externalMongodb": map[string]any{"uri": uri},
				"externalEureka":  map[string]any{"url": "http://eureka.infra:8761/eureka"},
				"config":          map[string]any{"AUTH_ENABLED": "true", "ADMIN_USERNAME": "root"},
				"secrets": map[string]any{"JWT_SIGNING_KEYS": jwt, "ADMIN_PASSWORD": password,
					"API_TOKEN": token, "SESSION_KEY": session},
			},
			secretValues: []string{uri, jwt, password, token, session, "uri-password-7c1e"},
		},
		{
			name:   "external services with existing secrets (ci/external-values.yaml)",
			values: testenv.ChartValues(t, "external-values.yaml"),
			existing: map[string]map[string]string{
				"sports-db":      {"MONGODB_URI": uri},
				"sports-secrets": {"ADMIN_PASSWORD": password, "JWT_SIGNING_KEYS": jwt, "SESSION_KEY": session},
			},
		},
		{
			name:    "self-contained (ci/self-contained-values.yaml)",
			values:  testenv.ChartValues(t, "self-contained-values.yaml"),
			compose: true,
		},
		{
			name: "no registry and sign-in off",
			values: map[string]any{
				"externalMongodb": map[string]any{"uri": "mongodb://db.example:27017"},
				"config":          map[string]any{"AUTH_ENABLED": false, "LOG_LEVEL": "debug"},
				"replicaCount":    1,
			},
		},
	}
}

// TestChartLint: `helm lint --strict` accepts the chart with its default
// values and with each scenario's.
func TestChartLint(t *testing.T) {
	cases := []struct {
		name   string
		values map[string]any
	}{{"default values", map[string]any{}}}
	for _, sc := range chartScenarios(t) {
		cases = append(cases, struct {
			name   string
			values map[string]any
		}{sc.name, sc.values})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := runHelm(t, "lint", "--strict", chartDir(t), "--namespace", chartNamespace, "-f", testenv.HelmValuesFile(t, tc.values))
			if err != nil {
				t.Fatalf("helm lint --strict: %v\n%s", err, out)
			}
			if !strings.Contains(out, "0 chart(s) failed") {
				t.Errorf("helm lint --strict: %s", out)
			}
		})
	}
}

// TestChartRefusesBadValues: the schema and the templates' checks refuse
// values that cannot work, with a message that says what to set.
func TestChartRefusesBadValues(t *testing.T) {
	db := map[string]any{"uri": "mongodb://db:27017"}
	cases := []struct {
		name   string
		values map[string]any
		want   string
	}{
		{"no MongoDB (the image has no embedded database)", map[string]any{},
			"MONGODB_URI is required: the image is built without the embedded database (-tags noembed)"},
		{"MongoDB twice", map[string]any{"externalMongodb": db, "mongodb": map[string]any{"enabled": true}},
			"MongoDB is given twice"},
		{"Eureka twice", map[string]any{"externalMongodb": db, "eureka": map[string]any{"enabled": true},
			"externalEureka": map[string]any{"url": "http://e:8761/eureka"}}, "Eureka is given twice"},
		{"collector twice", map[string]any{"externalMongodb": db, "jaeger": map[string]any{"enabled": true},
			"externalTracing": map[string]any{"otlpEndpoint": "http://c:4318"}}, "trace collector is given twice"},
		{"a setting the service does not read", map[string]any{"externalMongodb": db, "config": map[string]any{"MONGO_URL": "x"}},
			"additional properties 'MONGO_URL' not allowed"},
		{"a secret in config (it would land in the ConfigMap)", map[string]any{"externalMongodb": db,
			"config": map[string]any{"JWT_SIGNING_KEYS": "k1:abc"}}, "additional properties 'JWT_SIGNING_KEYS' not allowed"},
		{"the wiring in config", map[string]any{"externalMongodb": db, "config": map[string]any{"MONGODB_URI": "mongodb://x"}},
			"additional properties 'MONGODB_URI' not allowed"},
		{"an unknown key", map[string]any{"externalMongodb": db, "replicas": 3}, "additional properties 'replicas' not allowed"},
		{"no replica", map[string]any{"externalMongodb": db, "replicaCount": 0}, "/replicaCount"},
		{"not a MongoDB URI", map[string]any{"externalMongodb": map[string]any{"uri": "http://db:27017"}}, "/externalMongodb/uri"},
		{"a Eureka URL that is not one", map[string]any{"externalMongodb": db, "externalEureka": map[string]any{"url": "eureka:8761"}},
			"/externalEureka/url"},
		{"a service type", map[string]any{"externalMongodb": db, "service": map[string]any{"type": "Ingress"}}, "/service/type"},
		{"a drain timeout of zero", map[string]any{"externalMongodb": db, "shutdown": map[string]any{"timeoutSeconds": 0}},
			"/shutdown/timeoutSeconds"},
		{"an admin without a password", map[string]any{"externalMongodb": db, "config": map[string]any{"ADMIN_USERNAME": "root"}},
			"config.ADMIN_USERNAME is set but no ADMIN_PASSWORD"},
		{"a password without an admin", map[string]any{"externalMongodb": db, "secrets": map[string]any{"ADMIN_PASSWORD": "password-1"}},
			"secrets.ADMIN_PASSWORD is set but config.ADMIN_USERNAME is not"},
		{"sign-in without keys", map[string]any{"externalMongodb": db, "secrets": map[string]any{"generate": false}},
			"AUTH_ENABLED is true but no JWT_SIGNING_KEYS"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := renderChart(t, tc.values)
			if err == nil {
				t.Fatalf("helm template accepted %v", tc.values)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("helm template refused it, but its message lacks %q:\n%v", tc.want, err)
			}
		})
	}
}

// TestChartRenders checks what the issue asks of the chart, on each scenario.
func TestChartRenders(t *testing.T) {
	checks := []struct {
		name  string
		check func(t *testing.T, sc chartScenario, c *renderedChart)
	}{
		{"objects", checkObjects},
		{"probes hit the service's health routes", checkProbes},
		{"security context", checkSecurityContext},
		{"secrets stay in Secrets", checkSecretsStayInSecrets},
		{"drain arithmetic", checkDrainArithmetic},
		{"environment is the service's settings and loads", checkEnvironment},
		{"Eureka registration per pod", checkEurekaRegistration},
		{"Prometheus annotations name the metrics route", checkScrapeAnnotations},
		{"selectors and ports connect", checkSelectors},
		{"helm test pod", checkTestHook},
		{"in-chart services mirror docker-compose.yaml", checkMirrorsCompose},
	}
	for _, sc := range chartScenarios(t) {
		t.Run(sc.name, func(t *testing.T) {
			c := mustRender(t, sc.values)
			for _, ch := range checks {
				t.Run(ch.name, func(t *testing.T) { ch.check(t, sc, c) })
			}
		})
	}
}

// appDeployment is the service's Deployment.
func appDeployment(t testing.TB, c *renderedChart) *appsv1.Deployment {
	return object[appsv1.Deployment](t, c, "Deployment", chartFullname)
}

func appContainer(t testing.TB, c *renderedChart) corev1.Container {
	t.Helper()
	spec := appDeployment(t, c).Spec.Template.Spec
	if len(spec.Containers) != 1 || spec.Containers[0].Name != "sports-service" {
		t.Fatalf("containers %+v: want one, sports-service", spec.Containers)
	}
	return spec.Containers[0]
}

func checkObjects(t *testing.T, sc chartScenario, c *renderedChart) {
	v := chartValues{sc.values}
	want := []string{"ConfigMap/" + chartFullname, "Deployment/" + chartFullname, "Service/" + chartFullname,
		"ServiceAccount/" + chartFullname, "PodDisruptionBudget/" + chartFullname, "Pod/" + chartFullname + "-test"}
	for _, component := range []string{"mongodb", "eureka", "jaeger"} {
		if v.bool(component, "enabled") {
			name := chartFullname + "-" + component
			want = append(want, "Service/"+name)
			if component == "mongodb" {
				want = append(want, "StatefulSet/"+name)
			} else {
				want = append(want, "Deployment/"+name)
			}
			if v.bool("networkPolicy", "enabled") {
				want = append(want, "NetworkPolicy/"+name)
			}
		}
	}
	if v.bool("networkPolicy", "enabled") {
		want = append(want, "NetworkPolicy/"+chartFullname)
	}
	if v.bool("autoscaling", "enabled") {
		want = append(want, "HorizontalPodAutoscaler/"+chartFullname)
	}
	var got []string
	for _, m := range c.manifests {
		if m.Kind != "Secret" {
			got = append(got, m.Kind+"/"+m.Name)
		}
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("objects (Secrets aside):\n got %v\nwant %v", got, want)
	}

	d := appDeployment(t, c)
	if v.bool("autoscaling", "enabled") {
		if d.Spec.Replicas != nil {
			t.Errorf("replicas %d set while the HPA scales the Deployment: each upgrade would reset it", *d.Spec.Replicas)
		}
		hpa := object[autoscalingv2.HorizontalPodAutoscaler](t, c, "HorizontalPodAutoscaler", chartFullname)
		if hpa.Spec.ScaleTargetRef.Kind != "Deployment" || hpa.Spec.ScaleTargetRef.Name != d.Name || hpa.Spec.MinReplicas == nil || *hpa.Spec.MinReplicas < 2 {
			t.Errorf("HPA %+v: want the Deployment, at least 2 replicas", hpa.Spec)
		}
	} else if d.Spec.Replicas == nil {
		t.Error("no replicas")
	}
	// No old pod stops before its replacement is ready.
	ru := d.Spec.Strategy.RollingUpdate
	if d.Spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType || ru == nil || ru.MaxUnavailable == nil || ru.MaxUnavailable.IntValue() != 0 {
		t.Errorf("strategy %+v: want RollingUpdate with maxUnavailable 0", d.Spec.Strategy)
	}
	pdb := object[policyv1.PodDisruptionBudget](t, c, "PodDisruptionBudget", chartFullname)
	if pdb.Spec.MaxUnavailable == nil || pdb.Spec.MaxUnavailable.IntValue() != 1 || pdb.Spec.MinAvailable != nil {
		t.Errorf("PDB %+v: want maxUnavailable 1 (minAvailable would block a drain with one replica)", pdb.Spec)
	}
	res := appContainer(t, c).Resources
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if res.Requests.Name(r, resource.DecimalSI).IsZero() {
			t.Errorf("no %s request (the HPA and the scheduler need one)", r)
		}
	}
	if res.Limits.Memory().IsZero() {
		t.Error("no memory limit")
	}
}

// serviceRouter is the service's real router with a stand-in store, for the
// routes that need no database: the health endpoints and /metrics. The
// metrics registry is process-wide, so it is made once.
var serviceRouter = sync.OnceValues(func() (http.Handler, error) {
	mcfg, err := metrics.LoadConfig(func(string) string { return "" })
	if err != nil {
		return nil, err
	}
	m, err := metrics.New(mcfg)
	if err != nil {
		return nil, err
	}
	up := func(context.Context) handlers.Component { return handlers.Component{Status: handlers.StatusUp} }
	return handlers.NewRouter(handlers.Options{
		Logger:         slog.New(slog.DiscardHandler),
		Store:          noStore{},
		Observe:        []func(*gin.Engine){m.Use},
		Health:         []handlers.HealthCheck{{Name: "lifecycle", Ready: true, Check: up}},
		ReadyTimeout:   time.Second,
		RequestTimeout: time.Second,
		BodyLimit:      1 << 20,
	}), nil
})

// noStore is a Store no test route calls.
type noStore struct{ handlers.Store }

// routeAnswers GETs path from the service's router and returns the status
// and body.
func routeAnswers(t testing.TB, path string) (int, string) {
	t.Helper()
	h, err := serviceRouter()
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Code, rec.Body.String()
}

// containerPort resolves a probe's or Service's port (name or number).
func containerPort(t testing.TB, ct corev1.Container, port intstr.IntOrString) int32 {
	t.Helper()
	if port.Type == intstr.Int {
		return port.IntVal
	}
	for _, p := range ct.Ports {
		if p.Name == port.StrVal {
			return p.ContainerPort
		}
	}
	t.Fatalf("container %s has no port named %q", ct.Name, port.StrVal)
	return 0
}

func checkProbes(t *testing.T, sc chartScenario, c *renderedChart) {
	ct := appContainer(t, c)
	env := podEnvironment(t, sc, c)
	_, listenPort, err := netSplitPort(env["LISTEN_ADDR"])
	if err != nil {
		t.Fatalf("LISTEN_ADDR %q: %v", env["LISTEN_ADDR"], err)
	}
	probes := []struct {
		kind  string
		probe *corev1.Probe
		path  string
	}{
		// Startup and liveness: the process serves HTTP; a database outage
		// must not restart every pod. Readiness: the database answers and
		// the pod is not draining.
		{"startup", ct.StartupProbe, "/health/live"},
		{"liveness", ct.LivenessProbe, "/health/live"},
		{"readiness", ct.ReadinessProbe, "/health/ready"},
	}
	for _, p := range probes {
		if p.probe == nil || p.probe.HTTPGet == nil {
			t.Errorf("%s probe: %+v, want an HTTP GET", p.kind, p.probe)
			continue
		}
		if p.probe.HTTPGet.Path != p.path {
			t.Errorf("%s probe on %s, want %s", p.kind, p.probe.HTTPGet.Path, p.path)
		}
		if port := containerPort(t, ct, p.probe.HTTPGet.Port); strconv.Itoa(int(port)) != listenPort {
			t.Errorf("%s probe on port %d, the service listens on %s (LISTEN_ADDR)", p.kind, port, listenPort)
		}
		if code, body := routeAnswers(t, p.probe.HTTPGet.Path); code != http.StatusOK || !strings.Contains(body, `"UP"`) {
			t.Errorf("%s probe path %s: the service's router answers %d %s", p.kind, p.probe.HTTPGet.Path, code, body)
		}
	}
	if ct.ReadinessProbe == nil || ct.StartupProbe == nil {
		return
	}
	// The readiness handler gives up after READY_TIMEOUT and answers 503;
	// the probe must wait for that answer rather than time out first.
	ready := durationSetting(t, env, "READY_TIMEOUT")
	if time.Duration(ct.ReadinessProbe.TimeoutSeconds)*time.Second <= ready {
		t.Errorf("readiness timeoutSeconds %d <= READY_TIMEOUT %v", ct.ReadinessProbe.TimeoutSeconds, ready)
	}
	if d := time.Duration(ct.StartupProbe.PeriodSeconds*ct.StartupProbe.FailureThreshold) * time.Second; d < 30*time.Second {
		t.Errorf("startup probe allows %v to start; a busy node needs more", d)
	}
}

func netSplitPort(addr string) (string, string, error) {
	i := strings.LastIndex(addr, ":")
	if i < 0 {
		return "", "", fmt.Errorf("no port")
	}
	return addr[:i], addr[i+1:], nil
}

// imageUser is the Dockerfile's runtime USER (uid:gid).
func imageUser(t testing.TB) int64 {
	t.Helper()
	m := regexp.MustCompile(`(?m)^USER (\d+):(\d+)$`).FindStringSubmatch(string(readRoot(t, "Dockerfile")))
	if m == nil {
		t.Fatal("Dockerfile: no numeric USER uid:gid")
	}
	uid, _ := strconv.ParseInt(m[1], 10, 64)
	return uid
}

// checkSecurityContext: every pod of the chart meets the Pod Security
// Standards' "restricted" profile; the service's runs as the image's user.
func checkSecurityContext(t *testing.T, _ chartScenario, c *renderedChart) {
	for name, spec := range c.podSpecs() {
		psc := spec.SecurityContext
		if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.SeccompProfile == nil ||
			psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault || psc.RunAsUser == nil || *psc.RunAsUser == 0 {
			t.Errorf("%s: pod securityContext %+v: want runAsNonRoot, a non-zero runAsUser, seccomp RuntimeDefault", name, psc)
		}
		if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
			t.Errorf("%s: the service account token is mounted", name)
		}
		if spec.HostNetwork || spec.HostPID || spec.HostIPC {
			t.Errorf("%s: shares a host namespace", name)
		}
		for _, ct := range append(spec.InitContainers, spec.Containers...) {
			sc := ct.SecurityContext
			if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
				sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
				sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) != 0 ||
				sc.Privileged == nil || *sc.Privileged || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot ||
				sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
				t.Errorf("%s: container %s securityContext %+v: want no privilege escalation, read-only root, all capabilities dropped, not privileged, non-root, seccomp RuntimeDefault",
					name, ct.Name, sc)
			}
			if ct.Resources.Limits.Memory().IsZero() {
				t.Errorf("%s: container %s has no memory limit", name, ct.Name)
			}
		}
	}
	spec := appDeployment(t, c).Spec.Template.Spec
	uid := imageUser(t)
	sc := appContainer(t, c).SecurityContext
	if *spec.SecurityContext.RunAsUser != uid || sc.RunAsUser == nil || *sc.RunAsUser != uid {
		t.Errorf("the service runs as %d/%v, the image's USER is %d", *spec.SecurityContext.RunAsUser, sc.RunAsUser, uid)
	}
	sa := object[corev1.ServiceAccount](t, c, "ServiceAccount", chartFullname)
	if sa.AutomountServiceAccountToken == nil || *sa.AutomountServiceAccountToken || spec.ServiceAccountName != sa.Name {
		t.Errorf("ServiceAccount %s (automount %v), pods use %q: want the chart's, without a token", sa.Name, sa.AutomountServiceAccountToken, spec.ServiceAccountName)
	}
}

// secretSettings are the settings the service marks secret:"true" (their
// values never appear in its errors), plus MONGODB_URI, which may hold a
// password.
func secretSettings() []string {
	names := []string{"MONGODB_URI"}
	typ := reflect.TypeFor[config.Config]()
	for i := range typ.NumField() {
		f := typ.Field(i)
		if f.Tag.Get("secret") == "true" {
			names = append(names, f.Tag.Get("env"))
		}
	}
	slices.Sort(names)
	return names
}

func checkSecretsStayInSecrets(t *testing.T, sc chartScenario, c *renderedChart) {
	secret := secretSettings()
	v := chartValues{sc.values}
	for _, m := range c.manifests {
		if m.Kind == "Secret" {
			continue
		}
		for _, s := range sc.secretValues {
			if strings.Contains(m.YAML, s) || strings.Contains(m.YAML, base64.StdEncoding.EncodeToString([]byte(s))) {
				t.Errorf("%s %s (%s) holds the secret value %.12q...", m.Kind, m.Name, m.Source, s)
			}
		}
		if cm, ok := m.Object.(*corev1.ConfigMap); ok {
			for name := range cm.Data {
				// The in-chart MongoDB's address holds no credentials.
				if slices.Contains(secret, name) && !(name == "MONGODB_URI" && v.bool("mongodb", "enabled")) {
					t.Errorf("ConfigMap %s holds the secret setting %s", cm.Name, name)
				}
			}
		}
	}
	for _, m := range c.manifests {
		if s, ok := m.Object.(*corev1.Secret); ok {
			for name := range s.Data {
				if !slices.Contains(secret, name) {
					t.Errorf("Secret %s holds %s, which is not a secret setting: it belongs in the ConfigMap", s.Name, name)
				}
			}
		}
	}
	// The chart's own Secret holds the values given and the generated keys.
	own := find[corev1.Secret](c, "Secret", chartFullname)
	var data map[string][]byte
	if own != nil {
		data = own.Data
	}
	for _, name := range []string{"JWT_SIGNING_KEYS", "ADMIN_PASSWORD", "API_TOKEN", "SESSION_KEY"} {
		if given := v.string("secrets", name); given != "" && string(data[name]) != given {
			t.Errorf("secrets.%s given, the chart's Secret has %q", name, data[name])
		}
	}
	if uri := v.string("externalMongodb", "uri"); uri != "" && string(data["MONGODB_URI"]) != uri {
		t.Errorf("externalMongodb.uri given, the chart's Secret has MONGODB_URI %q", data["MONGODB_URI"])
	}
	generate := v.boolOr(true, "secrets", "generate")
	signIn := podEnvironment(t, sc, c)["AUTH_ENABLED"] == "true"
	if generate && v.string("secrets", "SESSION_KEY") == "" {
		if key := data["SESSION_KEY"]; len(key) < 32 {
			t.Errorf("generated SESSION_KEY has %d bytes, the service wants 32+", len(key))
		}
	}
	if generate && signIn && v.string("secrets", "JWT_SIGNING_KEYS") == "" {
		if _, err := auth.ParseKeys(string(data["JWT_SIGNING_KEYS"])); err != nil {
			t.Errorf("generated JWT_SIGNING_KEYS: %v", err)
		}
	}
	if !signIn && data["JWT_SIGNING_KEYS"] != nil && v.string("secrets", "JWT_SIGNING_KEYS") == "" {
		t.Error("JWT_SIGNING_KEYS generated with sign-in off")
	}
	// The user's Secret comes last in envFrom: its keys win.
	if name := v.string("secrets", "existingSecret"); name != "" {
		from := appContainer(t, c).EnvFrom
		if len(from) == 0 || from[len(from)-1].SecretRef == nil || from[len(from)-1].SecretRef.Name != name {
			t.Errorf("envFrom %+v: want Secret %s last", from, name)
		}
	}
}

// podEnvironment is the environment the service's container starts with:
// envFrom in order (later wins), then env (wins), with the user's Secrets
// from the scenario and a pod IP.
func podEnvironment(t testing.TB, sc chartScenario, c *renderedChart) map[string]string {
	t.Helper()
	env := map[string]string{}
	ct := appContainer(t, c)
	secretData := func(name string) map[string]string {
		if s := find[corev1.Secret](c, "Secret", name); s != nil {
			out := map[string]string{}
			for k, v := range s.Data {
				out[k] = string(v)
			}
			for k, v := range s.StringData {
				out[k] = v
			}
			return out
		}
		if s, ok := sc.existing[name]; ok {
			return s
		}
		t.Fatalf("the pods read Secret %s, which neither the chart nor the scenario makes", name)
		return nil
	}
	for _, from := range ct.EnvFrom {
		switch {
		case from.ConfigMapRef != nil:
			for k, v := range object[corev1.ConfigMap](t, c, "ConfigMap", from.ConfigMapRef.Name).Data {
				env[from.Prefix+k] = v
			}
		case from.SecretRef != nil:
			for k, v := range secretData(from.SecretRef.Name) {
				env[from.Prefix+k] = v
			}
		}
	}
	for _, e := range ct.Env {
		switch {
		case e.ValueFrom == nil:
			env[e.Name] = e.Value
		case e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "status.podIP":
			env[e.Name] = "10.244.1.17"
		case e.ValueFrom.SecretKeyRef != nil:
			v, ok := secretData(e.ValueFrom.SecretKeyRef.Name)[e.ValueFrom.SecretKeyRef.Key]
			if !ok {
				t.Fatalf("env %s: Secret %s has no key %s", e.Name, e.ValueFrom.SecretKeyRef.Name, e.ValueFrom.SecretKeyRef.Key)
			}
			env[e.Name] = v
		default:
			t.Fatalf("env %s: a source the test does not resolve: %+v", e.Name, e.ValueFrom)
		}
	}
	return env
}

// durationSetting is a duration setting of the pod's environment, or the
// service's default.
func durationSetting(t testing.TB, env map[string]string, name string) time.Duration {
	t.Helper()
	v, ok := env[name]
	if !ok || v == "" {
		v = appVariables()[name]
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		t.Fatalf("%s=%q: %v", name, v, err)
	}
	return d
}

// checkDrainArithmetic: as TestComposeServices checks compose's
// stop_grace_period, the pod's grace period covers the delay and the drain,
// and the delay covers the callers' caches.
func checkDrainArithmetic(t *testing.T, sc chartScenario, c *renderedChart) {
	env := podEnvironment(t, sc, c)
	delay, drain := durationSetting(t, env, "SHUTDOWN_DELAY"), durationSetting(t, env, "SHUTDOWN_TIMEOUT")
	spec := appDeployment(t, c).Spec.Template.Spec
	if spec.TerminationGracePeriodSeconds == nil {
		t.Fatal("no terminationGracePeriodSeconds (Kubernetes' default 30 s is shorter than the drain)")
	}
	grace := time.Duration(*spec.TerminationGracePeriodSeconds) * time.Second
	if grace < delay+drain+exitMargin {
		t.Errorf("terminationGracePeriodSeconds %v must exceed SHUTDOWN_DELAY %v + SHUTDOWN_TIMEOUT %v + %v", grace, delay, drain, exitMargin)
	}
	if delay < kubeProxyForgets {
		t.Errorf("SHUTDOWN_DELAY %v is shorter than an endpoint's removal reaching every kube-proxy (%v)", delay, kubeProxyForgets)
	}
	if env["EUREKA_URL"] != "" && delay < eurekaCallersForget {
		t.Errorf("SHUTDOWN_DELAY %v with Eureka is shorter than a default Spring Cloud caller's caches (%v)", delay, eurekaCallersForget)
	}
	for _, ct := range spec.Containers {
		if ct.Lifecycle != nil && ct.Lifecycle.PreStop != nil {
			t.Errorf("container %s has a preStop hook: the service's own delay does its job, and the hook's time would come on top", ct.Name)
		}
	}
}

// chartOwned are the settings the chart sets itself (the wiring), and
// notInChart the ones it never sets, with why. With config's properties in
// the schema and the secrets they cover every setting exactly once.
var (
	chartOwned = []string{"LISTEN_ADDR", "MONGODB_URI", "SHUTDOWN_DELAY", "SHUTDOWN_TIMEOUT", "METRICS_PATH",
		"EUREKA_URL", "EUREKA_PREFER_IP_ADDRESS", "EUREKA_INSTANCE_IP",
		"TRACING_EXPORTER", "OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_PROTOCOL"}
	notInChart = map[string]string{
		"DATA_DIR":                           "the image has no embedded database",
		"EUREKA_INSTANCE_HOSTNAME":           "the pod's host name (its name) is right; the pod registers by IP",
		"JAEGER_MODE":                        "the chart exports OTLP only (Jaeger v2 takes it)",
		"JAEGER_AGENT_ENDPOINT":              "the chart exports OTLP only",
		"JAEGER_COLLECTOR_ENDPOINT":          "the chart exports OTLP only",
		"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "externalTracing.otlpEndpoint sets the base endpoint",
		"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "externalTracing.otlpProtocol sets the protocol",
	}
)

// chartSchema is values.schema.json.
func chartSchema(t testing.TB) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(chartDir(t), "values.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s map[string]any
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatalf("values.schema.json: %v", err)
	}
	return s
}

// schemaProperties are the property names of the schema's object at path.
func schemaProperties(t testing.TB, schema map[string]any, path ...string) []string {
	t.Helper()
	node := schema
	for _, p := range path {
		next, ok := node["properties"].(map[string]any)[p].(map[string]any)
		if !ok {
			t.Fatalf("values.schema.json has no %s", strings.Join(path, "."))
		}
		node = next
	}
	var names []string
	for name := range node["properties"].(map[string]any) {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// TestChartCoversEverySetting: each setting of the service is either
// accepted in config (schema), a secret (secrets.*), set by the chart, or
// left out on purpose, exactly one of these. A setting added to the service
// fails this test until the chart says where it goes.
func TestChartCoversEverySetting(t *testing.T) {
	schema := chartSchema(t)
	configNames := schemaProperties(t, schema, "config")
	var secretKeys []string
	for _, name := range schemaProperties(t, schema, "secrets") {
		if name != "existingSecret" && name != "generate" {
			secretKeys = append(secretKeys, name)
		}
	}
	// MONGODB_URI is both secret and wiring: externalMongodb carries it.
	wantSecret := slices.DeleteFunc(secretSettings(), func(s string) bool { return s == "MONGODB_URI" })
	if !slices.Equal(secretKeys, wantSecret) {
		t.Errorf("schema secrets %v, the service's secret settings %v", secretKeys, wantSecret)
	}
	where := map[string][]string{}
	for _, n := range configNames {
		where[n] = append(where[n], "config")
	}
	for _, n := range secretKeys {
		where[n] = append(where[n], "secrets")
	}
	for _, n := range chartOwned {
		where[n] = append(where[n], "chart")
	}
	for n := range notInChart {
		where[n] = append(where[n], "left out")
	}
	known := appVariables()
	for name := range known {
		if len(where[name]) != 1 {
			t.Errorf("setting %s is in %v: want exactly one of config (values.schema.json), secrets, the chart's wiring, left out", name, where[name])
		}
	}
	for name := range where {
		if _, ok := known[name]; !ok {
			t.Errorf("the chart knows %s, which the service does not read", name)
		}
	}
}

func checkEnvironment(t *testing.T, sc chartScenario, c *renderedChart) {
	known := appVariables()
	env := podEnvironment(t, sc, c)
	for name := range env {
		if _, ok := known[name]; !ok {
			t.Errorf("the pods get %s, which the service does not read", name)
		}
	}
	for _, name := range chartOwned {
		if _, ok := (chartValues{sc.values}).lookup("config", name); ok {
			t.Errorf("the scenario sets the wiring %s in config", name)
		}
	}
	// What the service does with it at start-up.
	getenv := func(name string) string { return env[name] }
	cfg, err := config.Load(getenv)
	if err != nil {
		t.Fatalf("the service refuses the chart's environment: %v", err)
	}
	if cfg.MongoURI == "" {
		t.Error("no MONGODB_URI: the image (noembed) would not start")
	}
	if _, err := telemetry.LoadConfig(getenv); err != nil {
		t.Errorf("tracing settings: %v", err)
	}
	if _, err := metrics.LoadConfig(getenv); err != nil {
		t.Errorf("metrics settings: %v", err)
	}
	if _, err := discovery.LoadConfig(getenv, 8000); err != nil {
		t.Errorf("registry settings: %v", err)
	}
	// Settings of config reach the pods as given.
	for name, v := range (chartValues{sc.values}).object("config") {
		if env[name] != fmt.Sprint(v) {
			t.Errorf("config.%s=%v reaches the pods as %q", name, v, env[name])
		}
	}
	// Traces go where the values say, and nowhere without a collector.
	if env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "" && env["OTEL_TRACES_EXPORTER"] != "none" {
		t.Errorf("no collector, yet OTEL_TRACES_EXPORTER=%q", env["OTEL_TRACES_EXPORTER"])
	}
}

func checkEurekaRegistration(t *testing.T, sc chartScenario, c *renderedChart) {
	env := podEnvironment(t, sc, c)
	if env["EUREKA_URL"] == "" {
		return
	}
	// Two pods on one node get different IPs and so different instance ids:
	// each registers on its own and leaves on its own.
	ids := map[string]bool{}
	for _, ip := range []string{"10.244.1.17", "10.244.1.18"} {
		cfg, err := discovery.LoadConfig(func(name string) string {
			if name == "EUREKA_INSTANCE_IP" {
				return ip
			}
			return env[name]
		}, 8000)
		if err != nil {
			t.Fatal(err)
		}
		if !cfg.PreferIPAddress || cfg.AdvertisedHost() != ip || !strings.HasPrefix(cfg.InstanceID(), ip+":") {
			t.Errorf("pod %s registers as %s (host %s, prefer IP %v): want its pod IP", ip, cfg.InstanceID(), cfg.AdvertisedHost(), cfg.PreferIPAddress)
		}
		ids[cfg.InstanceID()] = true
	}
	if len(ids) != 2 {
		t.Errorf("two pods, instance ids %v", ids)
	}
	var fromPodIP bool
	for _, e := range appContainer(t, c).Env {
		fromPodIP = fromPodIP || e.Name == "EUREKA_INSTANCE_IP" && e.ValueFrom != nil && e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "status.podIP"
	}
	if !fromPodIP {
		t.Error("EUREKA_INSTANCE_IP does not come from status.podIP")
	}
}

func checkScrapeAnnotations(t *testing.T, sc chartScenario, c *renderedChart) {
	tmpl := appDeployment(t, c).Spec.Template
	ann := tmpl.Annotations
	env := podEnvironment(t, sc, c)
	if ann["prometheus.io/scrape"] != "true" {
		t.Fatalf("pod annotations %v: no prometheus.io/scrape", ann)
	}
	if ann["prometheus.io/path"] != env["METRICS_PATH"] {
		t.Errorf("prometheus.io/path %q, METRICS_PATH %q", ann["prometheus.io/path"], env["METRICS_PATH"])
	}
	_, listenPort, _ := netSplitPort(env["LISTEN_ADDR"])
	if ann["prometheus.io/port"] != listenPort {
		t.Errorf("prometheus.io/port %q, the service listens on %s", ann["prometheus.io/port"], listenPort)
	}
	if code, body := routeAnswers(t, ann["prometheus.io/path"]); code != http.StatusOK || !strings.Contains(body, "# TYPE") {
		t.Errorf("GET %s on the service's router: %d %.200s, want the exposition", ann["prometheus.io/path"], code, body)
	}
}

// selects: every label of the selector is on the pod.
func selects(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func checkSelectors(t *testing.T, sc chartScenario, c *renderedChart) {
	d := appDeployment(t, c)
	pod := d.Spec.Template.Labels
	if !selects(d.Spec.Selector.MatchLabels, pod) {
		t.Errorf("Deployment selector %v does not match its pods %v", d.Spec.Selector.MatchLabels, pod)
	}
	svc := object[corev1.Service](t, c, "Service", chartFullname)
	if !selects(svc.Spec.Selector, pod) {
		t.Errorf("Service selector %v does not match the pods %v", svc.Spec.Selector, pod)
	}
	if len(svc.Spec.Ports) != 1 || containerPort(t, appContainer(t, c), svc.Spec.Ports[0].TargetPort) != 8000 {
		t.Errorf("Service ports %+v: want one, to the container's 8000", svc.Spec.Ports)
	}
	pdb := object[policyv1.PodDisruptionBudget](t, c, "PodDisruptionBudget", chartFullname)
	if !selects(pdb.Spec.Selector.MatchLabels, pod) {
		t.Errorf("PDB selector %v does not match the pods", pdb.Spec.Selector.MatchLabels)
	}
	// Every selector of another component's objects misses the service's
	// pods, and the other way round.
	for _, m := range c.manifests {
		switch o := m.Object.(type) {
		case *appsv1.Deployment:
			if o.Name != d.Name && selects(o.Spec.Selector.MatchLabels, pod) {
				t.Errorf("Deployment %s selects the service's pods", o.Name)
			}
			if o.Name != d.Name && selects(svc.Spec.Selector, o.Spec.Template.Labels) {
				t.Errorf("the service's Service selects Deployment %s's pods", o.Name)
			}
		case *networkingv1.NetworkPolicy:
			if o.Name == chartFullname {
				if !selects(o.Spec.PodSelector.MatchLabels, pod) {
					t.Errorf("NetworkPolicy %s does not select the service's pods", o.Name)
				}
				continue
			}
			// A component's policy admits the service's pods.
			admits := false
			for _, rule := range o.Spec.Ingress {
				for _, peer := range rule.From {
					admits = admits || peer.PodSelector != nil && selects(peer.PodSelector.MatchLabels, pod)
				}
			}
			if !admits {
				t.Errorf("NetworkPolicy %s keeps the service's pods out", o.Name)
			}
		}
	}
	// The in-chart components are reached at the addresses the service gets.
	env := podEnvironment(t, sc, c)
	for _, a := range []struct{ setting, component string }{
		{"MONGODB_URI", "mongodb"}, {"EUREKA_URL", "eureka"}, {"OTEL_EXPORTER_OTLP_ENDPOINT", "jaeger"},
	} {
		if !(chartValues{sc.values}).bool(a.component, "enabled") {
			continue
		}
		u, err := url.Parse(env[a.setting])
		if err != nil {
			t.Fatalf("%s=%q: %v", a.setting, env[a.setting], err)
		}
		s := object[corev1.Service](t, c, "Service", u.Hostname())
		port, _ := strconv.Atoi(u.Port())
		found := false
		for _, p := range s.Spec.Ports {
			found = found || int(p.Port) == port
		}
		var target map[string]string
		for _, m := range c.manifests {
			switch o := m.Object.(type) {
			case *appsv1.Deployment:
				if selects(s.Spec.Selector, o.Spec.Template.Labels) {
					target = o.Spec.Template.Labels
				}
			case *appsv1.StatefulSet:
				if selects(s.Spec.Selector, o.Spec.Template.Labels) {
					target = o.Spec.Template.Labels
				}
			}
		}
		if !found || target == nil {
			t.Errorf("%s=%s: Service %s has ports %+v and selects %v", a.setting, env[a.setting], s.Name, s.Spec.Ports, target)
		}
	}
}

func checkTestHook(t *testing.T, _ chartScenario, c *renderedChart) {
	pod := object[corev1.Pod](t, c, "Pod", chartFullname+"-test")
	if pod.Annotations["helm.sh/hook"] != "test" {
		t.Errorf("test pod annotations %v: want helm.sh/hook: test", pod.Annotations)
	}
	if pod.Spec.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("test pod restartPolicy %q, want Never", pod.Spec.RestartPolicy)
	}
	svc := object[corev1.Service](t, c, "Service", chartFullname)
	script := strings.Join(append(pod.Spec.Containers[0].Command, pod.Spec.Containers[0].Args...), " ")
	for _, path := range []string{"/health/ready", "/info"} {
		u := fmt.Sprintf("http://%s:%d%s", svc.Name, svc.Spec.Ports[0].Port, path)
		if !strings.Contains(script, u) {
			t.Errorf("the test pod does not GET %s: %s", u, script)
		}
		if code, _ := routeAnswers(t, path); code == http.StatusNotFound {
			t.Errorf("%s is no route of the service", path)
		}
	}
	if !strings.Contains(script, "set -e") {
		t.Error("the test pod's script goes on after a failed request")
	}
}

// checkMirrorsCompose: the self-contained install is the compose stack:
// same images, commands, limits, wiring and drain.
func checkMirrorsCompose(t *testing.T, sc chartScenario, c *renderedChart) {
	if !sc.compose {
		return
	}
	p := loadCompose(t, writeEnvFile(t, "# empty"))
	composeApp := service(t, p, "app")
	podEnv := podEnvironment(t, sc, c)

	limits := func(name string, ct corev1.Container) {
		t.Helper()
		s := service(t, p, name)
		l := s.Deploy.Resources.Limits
		if got := ct.Resources.Limits.Memory().Value(); got != int64(l.MemoryBytes) {
			t.Errorf("%s: memory limit %d, compose's %d", ct.Name, got, l.MemoryBytes)
		}
		if got := ct.Resources.Limits.Cpu().AsApproximateFloat64(); got != float64(l.NanoCPUs) {
			t.Errorf("%s: CPU limit %v, compose's %v", ct.Name, got, l.NanoCPUs)
		}
	}
	limits("app", appContainer(t, c))

	mongo := object[appsv1.StatefulSet](t, c, "StatefulSet", chartFullname+"-mongodb")
	mc := mongo.Spec.Template.Spec.Containers[0]
	composeMongo := service(t, p, "mongo")
	if mc.Image != composeMongo.Image {
		t.Errorf("mongodb image %s, compose's %s", mc.Image, composeMongo.Image)
	}
	if !slices.Equal(mc.Args, []string(composeMongo.Command)) {
		t.Errorf("mongod arguments %v, compose's %v", mc.Args, composeMongo.Command)
	}
	if mc.ReadinessProbe == nil || mc.ReadinessProbe.Exec == nil || !slices.Equal(mc.ReadinessProbe.Exec.Command, composeMongo.HealthCheck.Test[1:]) {
		t.Errorf("mongodb readiness %+v, compose's healthcheck %v", mc.ReadinessProbe, composeMongo.HealthCheck.Test)
	}
	limits("mongo", mc)
	// The data on a volume of its own, at compose's mount point.
	var volumeTarget string
	for _, v := range composeMongo.Volumes {
		volumeTarget = v.Target
	}
	if len(mongo.Spec.VolumeClaimTemplates) != 1 || !slices.ContainsFunc(mc.VolumeMounts, func(m corev1.VolumeMount) bool {
		return m.Name == mongo.Spec.VolumeClaimTemplates[0].Name && m.MountPath == volumeTarget
	}) {
		t.Errorf("mongodb volumes %+v, mounts %+v: want a volumeClaimTemplate on %s", mongo.Spec.VolumeClaimTemplates, mc.VolumeMounts, volumeTarget)
	}

	for _, name := range []string{"eureka", "jaeger"} {
		d := object[appsv1.Deployment](t, c, "Deployment", chartFullname+"-"+name)
		ct := d.Spec.Template.Spec.Containers[0]
		want := service(t, p, name).Image
		if !strings.Contains(want, ":") {
			want += ":latest"
		}
		if ct.Image != want {
			t.Errorf("%s image %s, compose's %s", name, ct.Image, want)
		}
		limits(name, ct)
	}

	// The wiring: the same ports, paths and protocol, with the chart's
	// service names for compose's.
	for _, name := range []string{"MONGODB_URI", "EUREKA_URL", "OTEL_EXPORTER_OTLP_ENDPOINT"} {
		ours, err1 := url.Parse(podEnv[name])
		theirs, err2 := url.Parse(env(composeApp, name))
		if err1 != nil || err2 != nil || ours.Scheme != theirs.Scheme || ours.Port() != theirs.Port() || ours.Path != theirs.Path {
			t.Errorf("%s=%q, compose's %q: want the same scheme, port and path", name, podEnv[name], env(composeApp, name))
		}
	}
	for _, name := range []string{"OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_PROTOCOL", "EUREKA_PREFER_IP_ADDRESS", "AUTH_ENABLED", "SHUTDOWN_DELAY", "LISTEN_ADDR"} {
		if podEnv[name] != env(composeApp, name) {
			t.Errorf("%s=%q, compose's %q", name, podEnv[name], env(composeApp, name))
		}
	}
	grace := time.Duration(*appDeployment(t, c).Spec.Template.Spec.TerminationGracePeriodSeconds) * time.Second
	if grace != time.Duration(*composeApp.StopGracePeriod) {
		t.Errorf("terminationGracePeriodSeconds %v, compose's stop_grace_period %v", grace, time.Duration(*composeApp.StopGracePeriod))
	}
}

// chartValues reads nested values of a scenario.
type chartValues struct{ m map[string]any }

func (v chartValues) lookup(path ...string) (any, bool) {
	var node any = v.m
	for _, p := range path {
		obj, ok := node.(map[string]any)
		if !ok {
			return nil, false
		}
		if node, ok = obj[p]; !ok {
			return nil, false
		}
	}
	return node, true
}

func (v chartValues) bool(path ...string) bool { return v.boolOr(false, path...) }

func (v chartValues) boolOr(def bool, path ...string) bool {
	x, ok := v.lookup(path...)
	if !ok {
		return def
	}
	b, _ := x.(bool)
	return b
}

func (v chartValues) string(path ...string) string {
	x, _ := v.lookup(path...)
	s, _ := x.(string)
	return s
}

func (v chartValues) object(path ...string) map[string]any {
	x, _ := v.lookup(path...)
	m, _ := x.(map[string]any)
	return m
}
