package observability

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"

	"github.com/osms/sports-service/internal/testenv"
)

// instanceDownFor is the `for` of SportsServiceInstanceDown in the test's
// copy of the rules (1m in alerts.yml), so that the alert fires in seconds.
const instanceDownFor = 3 * time.Second

// TestLiveStack runs the real Prometheus (Debian's prometheus package) with
// prometheus/prometheus.yml and the rules, scraping three instances of the
// service built from this module (static targets instead of Docker's DNS,
// 1 s intervals), applies a short load on every OpenAPI route, and then:
// three targets are up; every recording rule and every dashboard query
// evaluates through the HTTP API with at least one series, naming only
// metrics the service exports or the rules record; stopping one instance
// makes SportsServiceInstanceDown pending, then firing. It logs the scrape
// duration and series per instance, idle and after the load, and
// Prometheus' resident memory (docs/observability.md quotes them).
func TestLiveStack(t *testing.T) {
	t.Parallel()
	promBin, err := exec.LookPath("prometheus")
	if err != nil {
		testenv.RequireOrSkip(t, "the prometheus server (Debian: apt-get install prometheus)")
	}
	svcBin := buildService(t)
	mongoURI := testenv.StartFerretDB(t)
	deadEureka := "http://" + closedAddr(t) + "/eureka"

	var instances []*serviceProcess
	for i := range 3 {
		instances = append(instances, startService(t, svcBin, fmt.Sprintf("app-%d", i+1),
			"MONGODB_URI="+mongoURI,
			// Nothing answers there: the registration series exist (and
			// count failures), as they do in the stack with Eureka down.
			"EUREKA_URL="+deadEureka,
			"EUREKA_APP_NAME=SPORTS-SERVICE"))
	}
	var targets []string
	for _, in := range instances {
		targets = append(targets, in.addr)
	}
	prom := startPrometheus(t, promBin, targets)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	prom.waitFor(ctx, t, "three sports-service targets up", func() bool {
		return len(prom.query(t, `up{job="sports-service"} == 1`)) == 3
	})
	t.Run("three targets up", func(t *testing.T) {
		up := 0
		for _, tg := range prom.targets(t) {
			if tg.Labels["job"] == Job && tg.Health == "up" {
				up++
			}
		}
		if up != 3 {
			t.Errorf("%d sports-service targets up, want 3", up)
		}
	})
	idle := prom.scrapeStats(t)

	routes := openAPIRoutes(t, instances[0].url)
	for _, in := range instances {
		for range 3 {
			for _, r := range routes {
				r.send(t, in.url)
			}
		}
	}
	exported := exportedNames(t, instances[0].url)

	// The rates need two scrapes after the load; the rules one evaluation.
	recorded := recordingRules(t)
	prom.waitFor(ctx, t, "every recording rule to return data", func() bool {
		for _, name := range recorded {
			if len(prom.query(t, name)) == 0 {
				return false
			}
		}
		return len(prom.query(t, `instance:gin_uri_request:rate1m > 0`)) == 3
	})
	t.Run("recording rules", func(t *testing.T) {
		for _, name := range recorded {
			if n := len(prom.query(t, name)); n == 0 {
				t.Errorf("%s: no series", name)
			}
		}
	})
	t.Run("dashboard queries", func(t *testing.T) {
		known := slices.Concat(exported, recorded, []string{"up"})
		for _, q := range panelQueries(t) {
			for _, name := range metricNames(q.Expr) {
				if !slices.Contains(known, name) {
					t.Errorf("%s, %q: %s is neither exported by the service nor recorded", q.Dashboard, q.Panel, name)
				}
			}
			expr := strings.NewReplacer("$instance", ".*", "$__rate_interval", "1m").Replace(q.Expr)
			if n := len(prom.query(t, expr)); n == 0 {
				t.Errorf("%s, %q: %s returns no series", q.Dashboard, q.Panel, expr)
			}
		}
	})
	loaded := prom.scrapeStats(t)
	for _, in := range instances {
		t.Logf("instance %s: idle %s; after every route x3 %s", in.addr, idle[in.addr], loaded[in.addr])
	}
	if rss := prom.query(t, `process_resident_memory_bytes{job="prometheus"}`); len(rss) == 1 {
		t.Logf("prometheus resident memory: %.1f MiB, head series %v", rss[0].value()/(1<<20), prom.query(t, `prometheus_tsdb_head_series`)[0].value())
	}

	t.Run("instance down alert", func(t *testing.T) {
		gone := instances[1]
		gone.kill(t)
		stopped := time.Now()
		var states []string
		prom.waitFor(ctx, t, "SportsServiceInstanceDown firing for "+gone.addr, func() bool {
			for _, a := range prom.alerts(t) {
				if a.Labels["alertname"] == "SportsServiceInstanceDown" && a.Labels["instance"] == gone.addr {
					if len(states) == 0 || states[len(states)-1] != a.State {
						states = append(states, a.State)
					}
					return a.State == "firing"
				}
			}
			return false
		})
		t.Logf("alert states %v, firing %s after the instance stopped (for: %s)", states, time.Since(stopped).Round(100*time.Millisecond), instanceDownFor)
		if !slices.Equal(states, []string{"pending", "firing"}) {
			t.Errorf("SportsServiceInstanceDown went through %v, want pending then firing", states)
		}
		for _, a := range prom.alerts(t) {
			if a.Labels["alertname"] == "SportsServiceInstanceDown" && a.Labels["instance"] != gone.addr {
				t.Errorf("SportsServiceInstanceDown for %s, which runs", a.Labels["instance"])
			}
		}
	})
}

// buildService compiles the module's service (without the embedded
// database: the instances share one FerretDB).
func buildService(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		testenv.RequireOrSkip(t, "the go command, to build the service")
	}
	out := filepath.Join(t.TempDir(), "sports-service")
	cmd := exec.Command(goBin, "build", "-tags", "noembed", "-o", out, ".")
	cmd.Dir = ".."
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	return out
}

func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// closedAddr is a loopback address nothing listens on (connections are
// refused at once).
func closedAddr(t testing.TB) string { return freeAddr(t) }

type serviceProcess struct {
	addr, url, log string
	cmd            *exec.Cmd
	done           chan struct{}
}

func startService(t *testing.T, bin, name string, env ...string) *serviceProcess {
	t.Helper()
	dir := t.TempDir()
	p := &serviceProcess{addr: freeAddr(t), log: filepath.Join(dir, "stdout.log"), done: make(chan struct{})}
	p.url = "http://" + p.addr
	logf, err := os.Create(p.log)
	if err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command(bin)
	p.cmd.Dir = dir
	p.cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "LISTEN_ADDR=" + p.addr, "LOG_LEVEL=warn"}, env...)
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); logf.Close(); close(p.done) }()
	t.Cleanup(func() {
		p.kill(t)
		if t.Failed() {
			b, _ := os.ReadFile(p.log)
			t.Logf("%s (%s) log:\n%s", name, p.addr, tail(string(b), 30))
		}
	})
	waitUntil(t, 30*time.Second, name+" ready on "+p.addr, p.done, func() bool {
		resp, err := http.Get(p.url + "/health/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return p
}

func (p *serviceProcess) kill(t testing.TB) {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// waitUntil polls cond every 100 ms until it holds; it fails the test when
// limit passes or exited closes first. (A bound on waiting, not a timing
// assertion.)
func waitUntil(t testing.TB, limit time.Duration, what string, exited <-chan struct{}, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		select {
		case <-exited:
			t.Fatalf("%s: the process exited", what)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, limit)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// route is one operation of the service's OpenAPI document.
type route struct{ method, path string }

var pathParam = regexp.MustCompile(`\{[^}]+\}`)

func openAPIRoutes(t *testing.T, base string) []route {
	t.Helper()
	resp, err := http.Get(base + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	var out []route
	for p, ops := range doc.Paths {
		for m := range ops {
			out = append(out, route{strings.ToUpper(m), pathParam.ReplaceAllString(p, "1")})
		}
	}
	if len(out) < 10 {
		t.Fatalf("openapi.json lists %d operations", len(out))
	}
	return out
}

// send makes one request of r; whatever the answer (400 for an empty
// body, 404 for a missing id), it counts as traffic of that route.
func (r route) send(t testing.TB, base string) {
	var body io.Reader
	if r.method != http.MethodGet && r.method != http.MethodDelete {
		body = strings.NewReader("{}")
	}
	req, err := http.NewRequest(r.method, base+r.path, body)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", r.method, r.path, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

// exportedNames lists the series names of base's /metrics, with a
// histogram's and summary's _bucket, _sum and _count.
func exportedNames(t testing.TB, base string) []string {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for name := range families {
		names = append(names, name, name+"_bucket", name+"_sum", name+"_count")
	}
	return names
}

// recordingRules lists the names the rule files record.
func recordingRules(t testing.TB) []string {
	t.Helper()
	var names []string
	for _, f := range ruleFiles(t) {
		for _, g := range f.doc.Groups {
			for _, r := range g.Rules {
				if r.Record != "" {
					names = append(names, r.Record)
				}
			}
		}
	}
	return names
}

type ruleFile struct {
	path string
	doc  struct {
		Groups []struct {
			Name  string `yaml:"name"`
			Rules []struct {
				Record string `yaml:"record"`
				Alert  string `yaml:"alert"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
}

func ruleFiles(t testing.TB) []ruleFile {
	t.Helper()
	paths, err := filepath.Glob("prometheus/rules/*.yml")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no rule files: %v", err)
	}
	var out []ruleFile
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		f := ruleFile{path: p}
		if err := yaml.Unmarshal(b, &f.doc); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		out = append(out, f)
	}
	return out
}

var (
	promString    = regexp.MustCompile(`"(\\.|[^"\\])*"`)
	promMatchers  = regexp.MustCompile(`\{[^}]*\}|\[[^\]]*\]`)
	promGrouping  = regexp.MustCompile(`\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	promIdent     = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*`)
	promOperators = []string{"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left", "group_right", "Inf", "NaN"}
)

// metricNames returns the metric names a PromQL expression selects: the
// identifiers left once strings, label matchers, ranges and groupings are
// gone, except functions (followed by "(") and keywords.
func metricNames(expr string) []string {
	e := promString.ReplaceAllString(expr, `""`)
	e = promMatchers.ReplaceAllString(e, " ")
	e = promGrouping.ReplaceAllString(e, " ")
	var names []string
	for _, loc := range promIdent.FindAllStringIndex(e, -1) {
		name := e[loc[0]:loc[1]]
		if strings.HasPrefix(strings.TrimSpace(e[loc[1]:]), "(") || slices.Contains(promOperators, name) {
			continue
		}
		if loc[0] > 0 && (e[loc[0]-1] >= '0' && e[loc[0]-1] <= '9' || e[loc[0]-1] == '.') {
			continue // the exponent or unit of a number
		}
		names = append(names, name)
	}
	return names
}

// prometheusProcess is the Prometheus server of the test.
type prometheusProcess struct {
	url  string
	done chan struct{}
}

// startPrometheus runs bin with prometheus/prometheus.yml, where the
// sports-service job's DNS discovery becomes static targets, intervals are
// 1 s, and the rules are copies whose SportsServiceInstanceDown waits
// instanceDownFor.
func startPrometheus(t *testing.T, bin string, targets []string) *prometheusProcess {
	t.Helper()
	dir := t.TempDir()
	addr := freeAddr(t)
	var rules []string
	for _, f := range ruleFiles(t) {
		b, err := os.ReadFile(f.path)
		if err != nil {
			t.Fatal(err)
		}
		if filepath.Base(f.path) == "alerts.yml" {
			b = shortenFor(t, b, "SportsServiceInstanceDown", instanceDownFor)
		}
		p := filepath.Join(dir, filepath.Base(f.path))
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		rules = append(rules, p)
	}

	b, err := os.ReadFile("prometheus/prometheus.yml")
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	cfg["global"] = map[string]any{"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"}
	cfg["rule_files"] = rules
	jobs := map[string]bool{}
	for _, sc := range cfg["scrape_configs"].([]any) {
		job := sc.(map[string]any)
		jobs[job["job_name"].(string)] = true
		switch job["job_name"] {
		case Job:
			if _, ok := job["dns_sd_configs"]; !ok {
				t.Fatalf("job %s: no dns_sd_configs in prometheus.yml", Job)
			}
			delete(job, "dns_sd_configs")
			job["static_configs"] = []any{map[string]any{"targets": targets}}
		case "prometheus":
			job["static_configs"] = []any{map[string]any{"targets": []string{addr}}}
		}
	}
	if !jobs[Job] || !jobs["prometheus"] {
		t.Fatalf("prometheus.yml scrapes %v, want %s and prometheus", jobs, Job)
	}
	out, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	config := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(config, out, 0o644); err != nil {
		t.Fatal(err)
	}

	p := &prometheusProcess{url: "http://" + addr, done: make(chan struct{})}
	logPath := filepath.Join(dir, "prometheus.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--config.file="+config, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--log.level=warn")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = cmd.Wait(); logf.Close(); close(p.done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("prometheus log:\n%s", tail(string(b), 30))
		}
	})
	waitUntil(t, 30*time.Second, "prometheus ready on "+addr, p.done, func() bool {
		resp, err := http.Get(p.url + "/-/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return p
}

// shortenFor sets the `for` of alert in a rule file to d.
func shortenFor(t testing.TB, rules []byte, alert string, d time.Duration) []byte {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal(rules, &doc); err != nil {
		t.Fatal(err)
	}
	found := false
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Kind == yaml.MappingNode {
			isAlert := false
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == "alert" && n.Content[i+1].Value == alert {
					isAlert = true
				}
			}
			for i := 0; isAlert && i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == "for" {
					n.Content[i+1].Value = d.String()
					found = true
				}
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(&doc)
	if !found {
		t.Fatalf("no `for` of alert %s in alerts.yml", alert)
	}
	out, err := yaml.Marshal(&doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (p *prometheusProcess) waitFor(ctx context.Context, t testing.TB, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v", what, ctx.Err())
		case <-p.done:
			t.Fatalf("waiting for %s: prometheus exited", what)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// get decodes the data of an HTTP API answer into out.
func (p *prometheusProcess) get(t testing.TB, path string, query url.Values, out any) {
	t.Helper()
	resp, err := http.Get(p.url + path + "?" + query.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var answer struct {
		Status    string          `json:"status"`
		Error     string          `json:"error"`
		ErrorType string          `json:"errorType"`
		Data      json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(b, &answer); err != nil || answer.Status != "success" {
		t.Fatalf("GET %s %v: %s %s %s", path, query, resp.Status, answer.ErrorType, bytes.TrimSpace(b))
	}
	if err := json.Unmarshal(answer.Data, out); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}

type sample struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
}

func (s sample) value() float64 {
	var v float64
	_, _ = fmt.Sscan(fmt.Sprint(s.Value[1]), &v)
	return v
}

// query evaluates expr now; an evaluation error fails the test.
func (p *prometheusProcess) query(t testing.TB, expr string) []sample {
	t.Helper()
	var data struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	}
	p.get(t, "/api/v1/query", url.Values{"query": {expr}}, &data)
	if data.ResultType != "vector" {
		return []sample{{}} // a scalar: one value
	}
	var out []sample
	if err := json.Unmarshal(data.Result, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

type target struct {
	Labels map[string]string `json:"labels"`
	Health string            `json:"health"`
}

func (p *prometheusProcess) targets(t testing.TB) []target {
	var data struct {
		Active []target `json:"activeTargets"`
	}
	p.get(t, "/api/v1/targets", url.Values{"state": {"active"}}, &data)
	return data.Active
}

type alert struct {
	Labels map[string]string `json:"labels"`
	State  string            `json:"state"`
}

func (p *prometheusProcess) alerts(t testing.TB) []alert {
	var data struct {
		Alerts []alert `json:"alerts"`
	}
	p.get(t, "/api/v1/alerts", nil, &data)
	return data.Alerts
}

// scrapeStats is, per sports-service instance, the last scrape's duration
// and samples.
func (p *prometheusProcess) scrapeStats(t testing.TB) map[string]string {
	out := map[string]string{}
	for _, s := range p.query(t, `scrape_duration_seconds{job="sports-service"}`) {
		out[s.Metric["instance"]] = fmt.Sprintf("scrape %.1f ms", s.value()*1000)
	}
	for _, s := range p.query(t, `scrape_samples_scraped{job="sports-service"}`) {
		out[s.Metric["instance"]] += fmt.Sprintf(", %.0f series", s.value())
	}
	return out
}
