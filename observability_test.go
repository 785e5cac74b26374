package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/osms/sports-service/internal/testenv"
)

// TestTracesReachJaeger runs the whole service exporting over OTLP/HTTP to a
// real Jaeger: a request sent with a traceparent lands in that trace, with
// the server span and the MongoDB spans under it, and the log lines written
// for it carry the trace id.
func TestTracesReachJaeger(t *testing.T) {
	jaeger := testenv.StartJaeger(t)
	s := startService(t, map[string]string{
		"TRACING_EXPORTER":            "otlp",
		"OTEL_EXPORTER_OTLP_ENDPOINT": jaeger.OTLPHTTPURL,
		"OTEL_SERVICE_NAME":           "sports-service-test",
		"OTEL_BSP_SCHEDULE_DELAY":     "100",
	})
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	r := s.do(t, "POST", "/ch11/player/add", playerBody(1),
		"traceparent", "00-"+traceID+"-00f067aa0ba902b7-01", "X-Request-ID", "traced-request")
	expect(t, r, 201)
	if got := r.Header.Get("X-Trace-Id"); got != traceID {
		t.Errorf("X-Trace-Id = %q, want the incoming trace %s", got, traceID)
	}

	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("service log:\n%s", s.Logs)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	trace := jaeger.WaitForTrace(ctx, t, traceID, func(tr testenv.JaegerTrace) bool {
		server, mongo := false, false
		for _, sp := range tr.Spans {
			if v, _ := sp.Tag("db.system"); v == "mongodb" {
				mongo = true
			}
			if _, ok := sp.Tag("http.route"); ok {
				server = true
			}
		}
		return server && mongo
	})
	var server *testenv.JaegerSpan
	for i, sp := range trace.Spans {
		if route, ok := sp.Tag("http.route"); ok && route == "/ch11/player/add" {
			server = &trace.Spans[i]
		}
	}
	if server == nil {
		t.Fatalf("no server span with http.route=/ch11/player/add in %+v", trace.Spans)
	}
	if status, _ := server.Tag("http.response.status_code"); status != "201" {
		t.Errorf("server span status = %q, want 201", status)
	}
	children := 0
	for _, sp := range trace.Spans {
		if v, _ := sp.Tag("db.system"); v == "mongodb" && sp.ParentSpanID() == server.SpanID {
			children++
		}
	}
	if children == 0 {
		t.Error("no MongoDB span is a child of the request's server span")
	}
	if svc := trace.Processes[server.ProcessID].ServiceName; svc != "sports-service-test" {
		t.Errorf("service name %q", svc)
	}
	for _, line := range strings.Split(s.logsSoFar(t), "\n") {
		if strings.Contains(line, `"request_id":"traced-request"`) && !strings.Contains(line, `"trace_id":"`+traceID+`"`) {
			t.Errorf("a log line of the traced request lacks its trace id: %s", line)
		}
	}
}

// TestMetricsEndpoint: /metrics parses, counts API routes and the legacy
// mounts by their templates, and labels series with the app name.
func TestMetricsEndpoint(t *testing.T) {
	s := startService(t, map[string]string{"METRICS_APP_NAME": "osms-test"})
	expect(t, s.do(t, "GET", "/ch11/player/get/1", nil), 404)
	expect(t, s.do(t, "GET", "/ch11/flask/index", nil), 200)
	expect(t, s.do(t, "GET", "/ch11/django/index/", nil), 200)
	r := s.do(t, "GET", "/metrics", nil)
	expect(t, r, 200)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(r.Body))
	if err != nil {
		t.Fatalf("/metrics does not parse: %v", err)
	}
	text := string(r.Body)
	for _, want := range []string{`/ch11/player/get/:id`, `/ch11/flask/*path`, `/ch11/django/*path`, `app_name="osms-test"`} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	for name, f := range families {
		if f.GetHelp() == "" {
			t.Errorf("%s has no HELP", name)
		}
	}
}

// TestDotEnvReachesTheTracingSDK: the OpenTelemetry SDK reads OTEL_* from the
// process environment only, so run exports a .env file's OTEL_* values there;
// a value the process environment already has wins, as for every other
// variable.
func TestDotEnvReachesTheTracingSDK(t *testing.T) {
	dotenv := filepath.Join(t.TempDir(), ".env")
	if err := os.WriteFile(dotenv, []byte("OTEL_SERVICE_NAME=from-dotenv\nOTEL_TRACES_SAMPLER=always_on\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, process, want string
	}{
		{"from the .env file", "", "from-dotenv"},
		{"the process environment wins", "from-process", "from-process"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Restored after the test, whatever run sets.
			t.Setenv("OTEL_SERVICE_NAME", tt.process)
			t.Setenv("OTEL_TRACES_SAMPLER", "")
			s := startService(t, map[string]string{"ENV_FILE": dotenv, "TRACING_EXPORTER": "stdout"})
			expect(t, s.do(t, "GET", "/ch11/player/list/all", nil), 200)
			s.Stop(t)
			want := `{"Key":"service.name","Value":{"Type":"STRING","Value":"` + tt.want + `"}}`
			if !strings.Contains(s.Logs.String(), want) {
				t.Errorf("no span with %s in the service's output:\n%s", want, s.Logs)
			}
		})
	}
}
