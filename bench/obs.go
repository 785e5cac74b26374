package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/osms/sports-service/internal/testenv"
)

// hasObservability reports whether the service binary serves /metrics, that
// is whether observability is wired into it; the suite then adds the
// observability variants of the trivial scenario.
func hasObservability(ctx context.Context, base string) bool {
	status, _, err := httpGet(ctx, base+"/metrics")
	return err == nil && status == 200
}

// observabilityVariants are the trivial scenario's configurations besides
// the default one: without the access log, and with tracing at 100 % and
// at 10 % to a live Jaeger (OTLP over HTTP). Metrics are always on.
func observabilityVariants() []variant {
	// The first, metrics + access log without tracing, is the service's
	// default: scenarioTrivial has already run it.
	return []variant{
		// What the access log costs: it is written at info level.
		{name: "metrics, no access log (LOG_LEVEL=warn)", short: "metrics, no log", env: []string{"TRACING_EXPORTER=none", "LOG_LEVEL=warn"}},
		// What the garbage collector costs: the default with GOGC=400
		// (a heap target of 5x the live heap instead of 2x).
		{name: "metrics + access log, GOGC=400", short: "GOGC=400", env: []string{"TRACING_EXPORTER=none", "GOGC=400"}},
		{name: tracing100, short: "trace 100%", jaeger: true, env: []string{"TRACING_EXPORTER=otlp", "OTEL_TRACES_SAMPLER=always_on"}},
		{name: "metrics + tracing 10% + access log", short: "trace 10%", jaeger: true,
			env: []string{"TRACING_EXPORTER=otlp", "OTEL_TRACES_SAMPLER=traceidratio", "OTEL_TRACES_SAMPLER_ARG=0.1"}},
	}
}

const tracing100 = "metrics + tracing 100% + access log"

// jaegerProc is a live Jaeger receiving the service's spans.
type jaegerProc struct {
	*proc
	env []string // the service's settings to export to it
}

// startJaeger runs the Jaeger binary that .ci/jaeger.sh builds, with
// in-memory storage on free loopback ports.
func startJaeger(s *suite) (*jaegerProc, error) {
	bin, err := testenv.JaegerBinary()
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("no Jaeger binary (build it with bash .ci/jaeger.sh, or set JAEGER_BIN): %w", err)
	}
	ports := make([]int, 6)
	for i := range ports {
		if ports[i], err = freePort(); err != nil {
			return nil, err
		}
	}
	udp, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	udpPort := udp.LocalAddr().(*net.UDPAddr).Port
	udp.Close()
	queryHTTP, queryGRPC, health, otlpGRPC, otlpHTTP, thriftHTTP := ports[0], ports[1], ports[2], ports[3], ports[4], ports[5]
	config := filepath.Join(s.out, "jaeger.yaml")
	if err := os.WriteFile(config, []byte(testenv.JaegerConfig(queryHTTP, queryGRPC, health, otlpGRPC, otlpHTTP, thriftHTTP, udpPort)), 0o644); err != nil {
		return nil, err
	}
	start := time.Now()
	p, err := startProc(s.out, "jaeger", nil, nil, bin, "--config", config)
	if err != nil {
		return nil, err
	}
	if _, err := waitHTTP(p, "http://127.0.0.1:"+strconv.Itoa(health)+"/status", start, 60*time.Second); err != nil {
		p.stop()
		return nil, err
	}
	return &jaegerProc{proc: p, env: []string{
		"OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:" + strconv.Itoa(otlpHTTP),
		"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=http/protobuf",
	}}, nil
}

func (j *jaegerProc) stop() {
	if j != nil {
		j.proc.stop()
	}
}
