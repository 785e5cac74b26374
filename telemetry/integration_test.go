package telemetry

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/osms/sports-service/internal/testenv"
)

// jaegerPollDeadline bounds the wait for spans to become queryable; it is
// generous because Jaeger batches and indexes asynchronously.
const jaegerPollDeadline = 60 * time.Second

// TestExportToJaeger sends traced requests, whose handler runs MongoDB
// commands, through each exporter mode into a real Jaeger, then reads the
// traces back from its query API.
func TestExportToJaeger(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	jaeger := testenv.StartJaeger(t)
	mongoURI := testenv.StartFerretDB(t)

	modes := []struct {
		name string
		vars map[string]string
	}{
		{"jaeger-agent", map[string]string{"TRACING_EXPORTER": "jaeger", "JAEGER_AGENT_ENDPOINT": jaeger.AgentAddr}},
		{"jaeger-collector", map[string]string{"TRACING_EXPORTER": "jaeger", "JAEGER_COLLECTOR_ENDPOINT": jaeger.CollectorURL}},
		{"otlp-http", map[string]string{"TRACING_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_ENDPOINT": jaeger.OTLPHTTPURL}},
		{"otlp-grpc", map[string]string{"TRACING_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://" + jaeger.OTLPGRPCAddr}},
		// The SDK's precedences, now that it reads the variables: the
		// traces-only endpoint and protocol win over the generic ones,
		// which point nowhere.
		{"otlp-traces-variables-win", map[string]string{
			"OTEL_TRACES_EXPORTER":               "otlp",
			"OTEL_EXPORTER_OTLP_PROTOCOL":        "grpc",
			"OTEL_EXPORTER_OTLP_ENDPOINT":        "http://127.0.0.1:9",
			"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf",
			"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": jaeger.OTLPHTTPURL + "/v1/traces",
			"OTEL_EXPORTER_OTLP_HEADERS":         "x-tenant=osms",
		}},
	}
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			service := "osms-it-" + mode.name
			mode.vars["OTEL_SERVICE_NAME"] = service
			mode.vars["OTEL_BSP_SCHEDULE_DELAY"] = "100"
			cfg, err := LoadConfig(env(t, mode.vars))
			if err != nil {
				t.Fatal(err)
			}
			p, err := New(t.Context(), cfg, "v-test", io.Discard)
			if err != nil {
				t.Fatal(err)
			}

			client, err := mongo.Connect(options.Client().ApplyURI(mongoURI).SetMonitor(CommandMonitor(p.TracerProvider())))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = client.Disconnect(context.Background()) })
			players := client.Database("sports").Collection("player")

			engine := gin.New()
			engine.Use(append(gin.HandlersChain{setRequestID}, Middleware(service, p)...)...)
			engine.GET("/players/:name", func(c *gin.Context) {
				ctx := c.Request.Context()
				if _, err := players.InsertOne(ctx, bson.D{{Key: "name", Value: c.Param("name")}}); err != nil {
					c.String(http.StatusInternalServerError, err.Error())
					return
				}
				var player bson.M
				if err := players.FindOne(ctx, bson.D{{Key: "name", Value: c.Param("name")}}).Decode(&player); err != nil {
					c.String(http.StatusInternalServerError, err.Error())
					return
				}
				c.JSON(http.StatusOK, player)
			})
			server := httptest.NewServer(engine)
			defer server.Close()

			plainTraceID := get(t, server.URL+"/players/pele", nil)

			// Fresh ids per mode: all modes share one Jaeger.
			parentTraceID, parentSpanID := randomHex(t, 16), randomHex(t, 8)
			continuedTraceID := get(t, server.URL+"/players/maradona", map[string]string{
				"traceparent": "00-" + parentTraceID + "-" + parentSpanID + "-01",
			})
			if continuedTraceID != parentTraceID {
				t.Errorf("X-Trace-Id %s, want the incoming %s", continuedTraceID, parentTraceID)
			}

			shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := p.Shutdown(shutdownCtx); err != nil {
				t.Errorf("shutdown: %v", err)
			}

			ctx, cancelPoll := context.WithTimeout(context.Background(), jaegerPollDeadline)
			defer cancelPoll()
			complete := func(tr testenv.JaegerTrace) bool {
				server, ok := serverSpan(tr)
				return ok && len(tr.MongoChildren(server.SpanID)) >= 2
			}
			for _, traceID := range []string{plainTraceID, parentTraceID} {
				tr := jaeger.WaitForTrace(ctx, t, traceID, complete)
				server, _ := serverSpan(tr)
				if got := tr.Processes[server.ProcessID].ServiceName; got != service {
					t.Errorf("trace %s: service %q, want %q", traceID, got, service)
				}
				for key, want := range map[string]string{
					"http.route":                "/players/:name",
					"http.response.status_code": "200",
					"http.request.method":       "GET",
					"request.id":                "req-123",
				} {
					if got, _ := server.Tag(key); got != want {
						t.Errorf("trace %s: server span %s = %q, want %q", traceID, key, got, want)
					}
				}
				names := map[string]bool{}
				for _, s := range tr.MongoChildren(server.SpanID) {
					names[s.OperationName] = true
					if got, _ := s.Tag("db.name"); got != "sports" {
						t.Errorf("mongo span %s: db.name %q", s.OperationName, got)
					}
				}
				if !names["insert sports.player"] || !names["find sports.player"] {
					t.Errorf("trace %s: mongo spans %v, want insert and find sports.player", traceID, names)
				}
				if traceID == parentTraceID && server.ParentSpanID() != parentSpanID {
					t.Errorf("server span parent %q, want the incoming %s", server.ParentSpanID(), parentSpanID)
				}
			}
			if ok, err := jaeger.HasService(ctx, service); err != nil || !ok {
				t.Errorf("jaeger does not list service %s (err %v)", service, err)
			}
		})
	}
}

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// get requests url with extra headers and returns the X-Trace-Id reply.
func get(t *testing.T, url string, headers map[string]string) string {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %s", url, resp.Status, body)
	}
	return resp.Header.Get(HeaderTraceID)
}

func serverSpan(tr testenv.JaegerTrace) (testenv.JaegerSpan, bool) {
	for _, s := range tr.Spans {
		if kind, _ := s.Tag("span.kind"); kind == "server" {
			return s, true
		}
	}
	return testenv.JaegerSpan{}, false
}
