package testenv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// JaegerVersion is the Jaeger release that .ci/jaeger.sh builds.
const JaegerVersion = "v1.76.0"

// jaegerStartAttempts bounds retries when a port picked as free was taken by
// another process before Jaeger bound it.
const jaegerStartAttempts = 3

// jaegerReadyTimeout is how long Jaeger may take to open its ports; it is a
// deadline for start-up, not a performance assertion.
const jaegerReadyTimeout = 60 * time.Second

// Jaeger is a Jaeger all-in-one process started for one test, listening on
// loopback ports of its own so that tests of several packages, which go
// test runs in parallel, never share or collide.
type Jaeger struct {
	// AgentAddr is the Thrift compact UDP host:port (the "agent" protocol).
	AgentAddr string
	// CollectorURL is the Thrift HTTP endpoint, ending in /api/traces.
	CollectorURL string
	// OTLPGRPCAddr is the OTLP/gRPC host:port.
	OTLPGRPCAddr string
	// OTLPHTTPURL is the OTLP/HTTP base URL (traces go to /v1/traces).
	OTLPHTTPURL string
	// QueryURL is the base URL of the query API and UI.
	QueryURL string

	client *http.Client
}

// JaegerBinary returns the path of the Jaeger binary: $JAEGER_BIN if set,
// else the cache path that .ci/jaeger.sh builds into.
func JaegerBinary() (string, error) {
	if bin := os.Getenv("JAEGER_BIN"); bin != "" {
		return bin, nil
	}
	cacheDir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("locate cache directory: %w", err)
	}
	return filepath.Join(cacheDir, "sports-service", "jaeger", "jaeger-"+JaegerVersion), nil
}

// JaegerAt queries a Jaeger that runs elsewhere (a container of the compose
// stack) at its query API base URL; only the query methods apply to it.
func JaegerAt(queryURL string) *Jaeger {
	return &Jaeger{QueryURL: queryURL, client: &http.Client{Timeout: 5 * time.Second}}
}

// StartJaeger starts Jaeger with in-memory storage on free loopback ports,
// waits until it reports healthy and kills it when the test ends. When the
// binary is missing it skips the test (fails it when CI=true).
func StartJaeger(t testing.TB) *Jaeger {
	t.Helper()
	bin, err := JaegerBinary()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(bin); err != nil {
		RequireOrSkip(t, fmt.Sprintf("Jaeger binary %s (build it with .ci/jaeger.sh or set JAEGER_BIN): %v", bin, err))
	}

	var lastErr error
	for attempt := 1; attempt <= jaegerStartAttempts; attempt++ {
		j, err := startJaeger(t, bin, attempt)
		if err == nil {
			return j
		}
		lastErr = err
		t.Logf("jaeger start attempt %d: %v", attempt, err)
	}
	t.Fatalf("start jaeger: %v", lastErr)
	return nil
}

func startJaeger(t testing.TB, bin string, attempt int) (*Jaeger, error) {
	t.Helper()
	ports, err := freeTCPPorts(6)
	if err != nil {
		return nil, err
	}
	udpPort, err := freeUDPPort()
	if err != nil {
		return nil, err
	}
	otlpGRPC, otlpHTTP, thriftHTTP, queryHTTP, queryGRPC, health := ports[0], ports[1], ports[2], ports[3], ports[4], ports[5]

	dir := t.TempDir()
	configPath := filepath.Join(dir, fmt.Sprintf("jaeger-%d.yaml", attempt))
	config := JaegerConfig(queryHTTP, queryGRPC, health, otlpGRPC, otlpHTTP, thriftHTTP, udpPort)
	if err := os.WriteFile(configPath, []byte(config), 0o600); err != nil {
		return nil, fmt.Errorf("write jaeger config: %w", err)
	}
	logPath := filepath.Join(dir, fmt.Sprintf("jaeger-%d.log", attempt))
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("create jaeger log: %w", err)
	}
	defer logFile.Close() // the child keeps its own descriptor

	cmd := exec.Command(bin, "--config", configPath)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("run %s: %w", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		_ = cmd.Process.Kill()
		<-exited
	}

	j := &Jaeger{
		AgentAddr:    fmt.Sprintf("127.0.0.1:%d", udpPort),
		CollectorURL: fmt.Sprintf("http://127.0.0.1:%d/api/traces", thriftHTTP),
		OTLPGRPCAddr: fmt.Sprintf("127.0.0.1:%d", otlpGRPC),
		OTLPHTTPURL:  fmt.Sprintf("http://127.0.0.1:%d", otlpHTTP),
		QueryURL:     fmt.Sprintf("http://127.0.0.1:%d", queryHTTP),
		client:       &http.Client{Timeout: 5 * time.Second},
	}
	healthURL := fmt.Sprintf("http://127.0.0.1:%d/status", health)
	if err := j.waitReady(healthURL, exited); err != nil {
		stop()
		return nil, fmt.Errorf("%w; log:\n%s", err, tail(logPath, 4000))
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("jaeger log (%s):\n%s", logPath, tail(logPath, 4000))
		}
	})
	return j, nil
}

// waitReady polls the health check and the query API until both answer, or
// the process exits, or the start-up deadline passes.
func (j *Jaeger) waitReady(healthURL string, exited <-chan error) error {
	deadline := time.Now().Add(jaegerReadyTimeout)
	for {
		select {
		case err := <-exited:
			return fmt.Errorf("jaeger exited during start-up: %v", err)
		default:
		}
		if j.get(healthURL) == nil && j.get(j.QueryURL+"/api/services") == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("jaeger not ready after %s", jaegerReadyTimeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (j *Jaeger) get(u string) error {
	resp, err := j.client.Get(u)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	return nil
}

// jaegerConfigTemplate is Jaeger v2's all-in-one configuration (it is an
// OpenTelemetry collector) reduced to what tests use, with every port
// replaced: query HTTP, query gRPC, health, OTLP gRPC, OTLP HTTP, Thrift
// HTTP, Thrift compact UDP. Internal telemetry is off so that it does not
// open its default metrics port 8888.
const jaegerConfigTemplate = `service:
  extensions: [jaeger_storage, jaeger_query, healthcheckv2]
  pipelines:
    traces:
      receivers: [otlp, jaeger]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: none
    logs:
      level: warn
extensions:
  jaeger_query:
    storage:
      traces: memstore
    http:
      endpoint: 127.0.0.1:%d
    grpc:
      endpoint: 127.0.0.1:%d
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: 10000
  healthcheckv2:
    use_v2: true
    http:
      endpoint: 127.0.0.1:%d
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:%d
      http:
        endpoint: 127.0.0.1:%d
  jaeger:
    protocols:
      thrift_http:
        endpoint: 127.0.0.1:%d
      thrift_compact:
        endpoint: 127.0.0.1:%d
processors:
  batch:
    timeout: 200ms
exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
`

// JaegerConfig is Jaeger's --config file for in-memory storage on the given
// loopback ports. The performance suite, which is not a test, starts its
// own Jaeger with it.
func JaegerConfig(queryHTTP, queryGRPC, health, otlpGRPC, otlpHTTP, thriftHTTP, thriftCompactUDP int) string {
	return fmt.Sprintf(jaegerConfigTemplate, queryHTTP, queryGRPC, health, otlpGRPC, otlpHTTP, thriftHTTP, thriftCompactUDP)
}

// freeTCPPorts asks the kernel for n distinct free loopback TCP ports. They
// are released before Jaeger binds them, hence the retry in StartJaeger.
func freeTCPPorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find free tcp port: %w", err)
		}
		defer l.Close() // held until all are picked, so they stay distinct
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func freeUDPPort() (int, error) {
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find free udp port: %w", err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port, nil
}

func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// JaegerTrace is one trace as the query API returns it.
type JaegerTrace struct {
	TraceID   string                   `json:"traceID"`
	Spans     []JaegerSpan             `json:"spans"`
	Processes map[string]JaegerProcess `json:"processes"`
}

// JaegerProcess is the emitting service of spans.
type JaegerProcess struct {
	ServiceName string      `json:"serviceName"`
	Tags        []JaegerTag `json:"tags"`
}

// JaegerSpan is one span of a JaegerTrace.
type JaegerSpan struct {
	TraceID       string            `json:"traceID"`
	SpanID        string            `json:"spanID"`
	OperationName string            `json:"operationName"`
	References    []JaegerReference `json:"references"`
	Tags          []JaegerTag       `json:"tags"`
	ProcessID     string            `json:"processID"`
}

// JaegerReference links a span to its parent.
type JaegerReference struct {
	RefType string `json:"refType"`
	TraceID string `json:"traceID"`
	SpanID  string `json:"spanID"`
}

// JaegerTag is a span attribute; Value is a string, number or bool.
type JaegerTag struct {
	Key   string `json:"key"`
	Type  string `json:"type"`
	Value any    `json:"value"`
}

// Tag returns the value of the span's attribute key, formatted as text.
func (s JaegerSpan) Tag(key string) (string, bool) {
	for _, tag := range s.Tags {
		if tag.Key == key {
			return fmt.Sprint(tag.Value), true
		}
	}
	return "", false
}

// ParentSpanID returns the span id of the CHILD_OF reference, or "".
func (s JaegerSpan) ParentSpanID() string {
	for _, ref := range s.References {
		if ref.RefType == "CHILD_OF" {
			return ref.SpanID
		}
	}
	return ""
}

// MongoChildren returns the MongoDB command spans (db.system=mongodb) whose
// parent is the span parentSpanID.
func (tr JaegerTrace) MongoChildren(parentSpanID string) []JaegerSpan {
	var children []JaegerSpan
	for _, s := range tr.Spans {
		if system, _ := s.Tag("db.system"); system == "mongodb" && s.ParentSpanID() == parentSpanID {
			children = append(children, s)
		}
	}
	return children
}

// Services lists the service names Jaeger has received spans from.
func (j *Jaeger) Services(ctx context.Context) ([]string, error) {
	var services []string
	err := j.query(ctx, "/api/services", &services)
	return services, err
}

// Traces returns recent traces of service (empty, no error, when Jaeger has
// none yet).
func (j *Jaeger) Traces(ctx context.Context, service string) ([]JaegerTrace, error) {
	var traces []JaegerTrace
	err := j.query(ctx, "/api/traces?limit=100&lookback=1h&service="+url.QueryEscape(service), &traces)
	return traces, err
}

// Trace returns the trace with the given hex trace id; found is false while
// Jaeger does not have it.
func (j *Jaeger) Trace(ctx context.Context, traceID string) (trace JaegerTrace, found bool, err error) {
	var traces []JaegerTrace
	err = j.query(ctx, "/api/traces/"+url.PathEscape(traceID), &traces)
	var notFound errNotFound
	if errors.As(err, &notFound) {
		return JaegerTrace{}, false, nil
	}
	if err != nil || len(traces) == 0 {
		return JaegerTrace{}, false, err
	}
	return traces[0], true, nil
}

// WaitForTrace polls Jaeger until it holds trace traceID with a span for
// which done returns true (or any span, when done is nil), failing the test
// when ctx ends first. Spans of one trace may arrive in several batches,
// hence done.
func (j *Jaeger) WaitForTrace(ctx context.Context, t testing.TB, traceID string, done func(JaegerTrace) bool) JaegerTrace {
	t.Helper()
	for {
		trace, found, err := j.Trace(ctx, traceID)
		if err == nil && found && (done == nil || done(trace)) {
			return trace
		}
		select {
		case <-ctx.Done():
			t.Fatalf("trace %s not complete in jaeger before %v (last error %v, last seen %+v)", traceID, ctx.Err(), err, trace)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

type errNotFound struct{ path string }

func (e errNotFound) Error() string { return "not found: " + e.path }

// query GETs a query API path and decodes the "data" member of the reply.
func (j *Jaeger) query(ctx context.Context, path string, data any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, j.QueryURL+path, nil)
	if err != nil {
		return err
	}
	resp, err := j.client.Do(req)
	if err != nil {
		return fmt.Errorf("query jaeger %s: %w", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return errNotFound{path: path}
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("query jaeger %s: %s", path, resp.Status)
	}
	envelope := struct {
		Data any `json:"data"`
	}{Data: data}
	if err := json.NewDecoder(resp.Body).Decode(&envelope); err != nil {
		return fmt.Errorf("decode jaeger %s: %w", path, err)
	}
	return nil
}

// HasService reports whether service is among the names Jaeger lists.
func (j *Jaeger) HasService(ctx context.Context, service string) (bool, error) {
	services, err := j.Services(ctx)
	if err != nil {
		return false, err
	}
	for _, s := range services {
		if s == service {
			return true, nil
		}
	}
	return false, nil
}
