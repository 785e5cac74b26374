package metrics

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/osms/sports-service/internal/httpmethod"
)

func init() { gin.SetMode(gin.TestMode) }

// These tests share gin-metrics' process-wide series, so none runs in
// parallel and counts are compared before and after.

func testConfig() Config {
	return Config{AppName: "osms-test", SlowSeconds: DefaultSlowSeconds, Path: DefaultPath}
}

func newEngine(t *testing.T) (*gin.Engine, *Metrics) {
	t.Helper()
	m, err := New(testConfig())
	if err != nil {
		t.Fatal(err)
	}
	engine := gin.New()
	m.Use(engine)
	engine.GET("/players/:id", func(c *gin.Context) { c.String(http.StatusOK, "player") })
	engine.POST("/players", func(c *gin.Context) { c.String(http.StatusCreated, "created") })
	legacy := func(c *gin.Context) { c.String(http.StatusOK, "legacy") }
	engine.Any("/ch11/flask/*path", legacy)
	engine.Any("/ch11/django/*path", legacy)
	return engine, m
}

func serve(engine http.Handler, method, path string) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	engine.ServeHTTP(w, httptest.NewRequest(method, path, strings.NewReader("body")))
	return w
}

// scrape fetches /metrics, parses it and returns the families and the text.
func scrape(t *testing.T, engine http.Handler) (map[string]*dto.MetricFamily, string) {
	t.Helper()
	w := serve(engine, http.MethodGet, "/metrics")
	if w.Code != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", w.Code, w.Body)
	}
	text := w.Body.String()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(bytes.NewBufferString(text))
	if err != nil {
		t.Fatalf("exposition does not parse: %v", err)
	}
	return families, text
}

func countSeries(families map[string]*dto.MetricFamily) int {
	n := 0
	for _, f := range families {
		n += len(f.Metric)
	}
	return n
}

// value returns the value of the series of family name with the given
// labels (a subset), and whether it exists.
func value(families map[string]*dto.MetricFamily, name string, labels map[string]string) (float64, bool) {
	f, ok := families[name]
	if !ok {
		return 0, false
	}
next:
	for _, m := range f.Metric {
		have := map[string]string{}
		for _, l := range m.Label {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range labels {
			if have[k] != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		case m.Untyped != nil:
			return m.Untyped.GetValue(), true
		}
	}
	return 0, false
}

func TestExpositionIsWellFormed(t *testing.T) {
	engine, _ := newEngine(t)
	serve(engine, http.MethodGet, "/players/1")
	families, text := scrape(t, engine)

	for _, want := range []string{
		"gin_request_total", "gin_uri_request_total", "gin_request_duration", "gin_request_body_total",
		"gin_response_body_total", "gin_requests_in_flight",
		"go_goroutines", "process_cpu_seconds_total",
		"mongodb_driver_pool_connections", "mongodb_driver_pool_connections_in_use",
		"mongodb_driver_pool_connections_idle", "mongodb_driver_pool_waiting",
	} {
		if _, ok := families[want]; !ok {
			t.Errorf("family %s missing", want)
		}
	}
	for name, f := range families {
		if !strings.Contains(text, "# HELP "+name+" ") || !strings.Contains(text, "# TYPE "+name+" ") {
			t.Errorf("family %s lacks a HELP or TYPE line", name)
		}
		for _, m := range f.Metric {
			if !hasLabel(m, LabelAppName, "osms-test") {
				t.Errorf("series of %s without app_name=osms-test: %v", name, m.Label)
			}
		}
	}
	if got, ok := value(families, "gin_uri_request_total", map[string]string{"uri": "/players/:id", "method": "GET", "code": "200"}); !ok || got < 1 {
		t.Errorf("request to /players/1 not counted under its route template: %v %v", got, ok)
	}
	d := families["gin_request_duration"]
	if d == nil || d.GetType() != dto.MetricType_HISTOGRAM {
		t.Fatalf("gin_request_duration is not a histogram")
	}
	var bounds []float64
	for _, b := range d.Metric[0].Histogram.Bucket {
		if !math.IsInf(b.GetUpperBound(), 1) { // the text format lists +Inf too
			bounds = append(bounds, b.GetUpperBound())
		}
	}
	if len(bounds) < 2 || bounds[0] != 0.001 || bounds[len(bounds)-1] != 10 {
		t.Errorf("latency buckets %v, want 0.001 to 10", bounds)
	}
}

func hasLabel(m *dto.Metric, name, value string) bool {
	for _, l := range m.Label {
		if l.GetName() == name && l.GetValue() == value {
			return true
		}
	}
	return false
}

func TestMetricsPathIsNotCounted(t *testing.T) {
	engine, _ := newEngine(t)
	scrape(t, engine)
	families, _ := scrape(t, engine)
	if _, ok := value(families, "gin_uri_request_total", map[string]string{"uri": "/metrics"}); ok {
		t.Error("scrapes of /metrics are counted")
	}
}

func TestUnmatchedPathsAddNoSeries(t *testing.T) {
	engine, _ := newEngine(t)
	// Create once the series that any unmatched request falls into.
	serve(engine, http.MethodGet, "/warm-up-unknown")
	serve(engine, http.MethodPost, "/warm-up-unknown")
	serve(engine, "BREW", "/warm-up-unknown")
	before, _ := scrape(t, engine)

	methods := []string{http.MethodGet, http.MethodPost, "BREW", "PROPFIND", fmt.Sprintf("X%d", rand.Int())}
	for i := range 1000 {
		path := fmt.Sprintf("/random/%x/%d", rand.Uint64(), i)
		if w := serve(engine, methods[i%len(methods)], path); w.Code != http.StatusNotFound {
			t.Fatalf("%s: %d", path, w.Code)
		}
	}
	after, _ := scrape(t, engine)
	if b, a := countSeries(before), countSeries(after); a != b {
		t.Errorf("series %d before, %d after 1000 unknown paths", b, a)
		for name, f := range after {
			if len(f.Metric) != len(before[name].GetMetric()) {
				t.Errorf("family %s grew from %d to %d", name, len(before[name].GetMetric()), len(f.Metric))
			}
		}
	}
	if got, ok := value(after, "gin_uri_request_total", map[string]string{"uri": "", "method": httpmethod.Other, "code": "404"}); !ok || got < 600 {
		t.Errorf("unmatched requests with odd methods: %v %v, want them under method=_OTHER", got, ok)
	}
}

func TestMethodIsRestoredForOuterMiddlewares(t *testing.T) {
	m, err := New(testConfig())
	if err != nil {
		t.Fatal(err)
	}
	engine := gin.New()
	var seen string
	engine.Use(func(c *gin.Context) { c.Next(); seen = c.Request.Method })
	m.Use(engine)
	serve(engine, "BREW", "/teapot")
	if seen != "BREW" {
		t.Errorf("outer middleware saw method %q", seen)
	}
}

func TestLegacyMountsAreToldApart(t *testing.T) {
	engine, _ := newEngine(t)
	before, _ := scrape(t, engine)
	serve(engine, http.MethodGet, "/ch11/flask/players/1")
	serve(engine, http.MethodPost, "/ch11/flask/login")
	serve(engine, http.MethodGet, "/ch11/django/games/7")
	after, _ := scrape(t, engine)
	for _, tt := range []struct {
		uri, method string
		want        float64
	}{
		{"/ch11/flask/*path", "GET", 1},
		{"/ch11/flask/*path", "POST", 1},
		{"/ch11/django/*path", "GET", 1},
	} {
		labels := map[string]string{"uri": tt.uri, "method": tt.method, "code": "200"}
		b, _ := value(before, "gin_uri_request_total", labels)
		a, _ := value(after, "gin_uri_request_total", labels)
		if a-b != tt.want {
			t.Errorf("%s %s counted %v times, want %v", tt.method, tt.uri, a-b, tt.want)
		}
	}
}

func TestInFlightGauge(t *testing.T) {
	engine, _ := newEngine(t)
	entered, release := make(chan struct{}), make(chan struct{})
	engine.GET("/block", func(c *gin.Context) {
		close(entered)
		<-release
		c.Status(http.StatusOK)
	})
	labels := map[string]string{"uri": "/block", "method": "GET"}
	inFlight := func() float64 {
		families, _ := scrape(t, engine)
		v, _ := value(families, metricInFlight, labels)
		return v
	}

	base := inFlight()
	done := make(chan struct{})
	go func() {
		defer close(done)
		serve(engine, http.MethodGet, "/block")
	}()
	<-entered
	if got := inFlight(); got != base+1 {
		t.Errorf("in flight during a blocked request = %v, want %v", got, base+1)
	}
	close(release)
	<-done
	if got := inFlight(); got != base {
		t.Errorf("in flight after the request = %v, want %v", got, base)
	}
}

func TestNewIsRepeatableButSettingsAreFixed(t *testing.T) {
	for range 3 {
		if _, err := New(testConfig()); err != nil {
			t.Fatalf("second construction: %v", err)
		}
	}
	// Only the app name is ours per instance.
	other := testConfig()
	other.AppName = "another"
	if _, err := New(other); err != nil {
		t.Errorf("different app name: %v", err)
	}
	other.SlowSeconds = DefaultSlowSeconds + 1
	if _, err := New(other); err == nil || !strings.Contains(err.Error(), "once per process") {
		t.Errorf("different slow threshold accepted: %v", err)
	}
}

func TestLoadConfig(t *testing.T) {
	tests := []struct {
		name    string
		vars    map[string]string
		want    Config
		wantErr string
	}{
		{name: "defaults", want: Config{AppName: DefaultAppName, SlowSeconds: DefaultSlowSeconds, Path: DefaultPath}},
		{name: "all set", vars: map[string]string{EnvAppName: "osms-eu", EnvSlowSeconds: "2", EnvPath: "/internal/metrics"}, want: Config{AppName: "osms-eu", SlowSeconds: 2, Path: "/internal/metrics"}},
		{name: "bad app name", vars: map[string]string{EnvAppName: "osms app"}, wantErr: EnvAppName},
		{name: "bad slow", vars: map[string]string{EnvSlowSeconds: "1.5"}, wantErr: EnvSlowSeconds},
		{name: "negative slow", vars: map[string]string{EnvSlowSeconds: "-1"}, wantErr: EnvSlowSeconds},
		{name: "relative path", vars: map[string]string{EnvPath: "metrics"}, wantErr: EnvPath},
		{name: "wildcard path", vars: map[string]string{EnvPath: "/m/*x"}, wantErr: EnvPath},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := LoadConfig(func(k string) string { return tt.vars[k] })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || strings.Contains(err.Error(), "\n") {
					t.Errorf("err = %v, want one line naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil || cfg != tt.want {
				t.Errorf("got %+v, %v; want %+v", cfg, err, tt.want)
			}
		})
	}
}

// TestRecorderRecordsAsGinMetrics sends the same requests through an engine
// with gin-metrics' own interceptor and through one with requestRecorder,
// and compares what each added to every gin-metrics series: the same
// series, the same counts.
func TestRecorderRecordsAsGinMetrics(t *testing.T) {
	m, err := New(testConfig())
	if err != nil {
		t.Fatal(err)
	}
	engineWith := func(interceptor gin.HandlerFunc) *gin.Engine {
		engine := gin.New()
		engine.Use(m.trackInFlight, interceptor, normalizeMethod)
		engine.GET(m.cfg.Path, gin.WrapH(m.Handler()))
		engine.GET("/recorder/players/:id", func(c *gin.Context) { c.String(http.StatusOK, "player") })
		engine.POST("/recorder/players", func(c *gin.Context) { c.String(http.StatusCreated, "created") })
		engine.GET("/recorder/fail", func(c *gin.Context) { c.String(http.StatusInternalServerError, "fail") })
		engine.GET("/recorder/empty", func(c *gin.Context) { c.Status(http.StatusNoContent) })
		return engine
	}
	requests := []struct {
		method, path, body string
	}{
		{http.MethodGet, "/recorder/players/1", ""},
		{http.MethodGet, "/recorder/players/2", ""},
		{http.MethodPost, "/recorder/players", `{"name":"x"}`},
		{http.MethodGet, "/recorder/fail", ""},
		{http.MethodGet, "/recorder/empty", ""},
		{http.MethodGet, "/recorder/no/such/route", ""},
		{http.MethodDelete, "/recorder/players/1", ""},
		{"BREW", "/recorder/players/1", ""},
		{http.MethodGet, "/metrics", ""},
	}
	// Each engine gets client addresses that no filter has seen, some of
	// them twice: the visitor counts must agree too.
	run := func(engine *gin.Engine) map[string]float64 {
		before := ginSeries(t, engine)
		prefix := fmt.Sprintf("10.%d.%d.", rand.IntN(256), rand.IntN(256))
		for i, r := range requests {
			for _, client := range []int{i, i, i + 100} {
				req := httptest.NewRequest(r.method, r.path, strings.NewReader(r.body))
				req.RemoteAddr = prefix + fmt.Sprint(client) + ":40000"
				engine.ServeHTTP(httptest.NewRecorder(), req)
			}
		}
		after := ginSeries(t, engine)
		added := map[string]float64{}
		for series, v := range after {
			if d := v - before[series]; d != 0 {
				added[series] = d
			}
		}
		return added
	}
	library := run(engineWith(m.gin.libraryInterceptor))
	ours := run(engineWith(m.gin.recorder.record))
	if len(library) == 0 {
		t.Fatal("gin-metrics recorded nothing")
	}
	for series, want := range library {
		if got := ours[series]; got != want {
			t.Errorf("%s: recorder added %v, gin-metrics %v", series, got, want)
		}
	}
	for series, got := range ours {
		if _, ok := library[series]; !ok {
			t.Errorf("%s: recorder added %v, gin-metrics nothing", series, got)
		}
	}
}

// ginSeries is every gin_* series by name and labels: counters' values and
// histograms' sample counts (their durations differ run to run).
func ginSeries(t *testing.T, engine http.Handler) map[string]float64 {
	t.Helper()
	families, _ := scrape(t, engine)
	series := map[string]float64{}
	for name, f := range families {
		if !strings.HasPrefix(name, "gin_") || name == metricInFlight {
			continue
		}
		for _, metric := range f.Metric {
			key := name + labelString(metric.Label)
			switch {
			case metric.Counter != nil:
				series[key] = metric.Counter.GetValue()
			case metric.Histogram != nil:
				series[key] = float64(metric.Histogram.GetSampleCount())
			}
		}
	}
	return series
}

func labelString(labels []*dto.LabelPair) string {
	var b strings.Builder
	for _, l := range labels {
		fmt.Fprintf(&b, " %s=%q", l.GetName(), l.GetValue())
	}
	return b.String()
}
