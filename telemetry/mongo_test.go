package telemetry

import (
	"context"
	"errors"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/event"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

func rawDoc(t *testing.T, doc bson.D) bson.Raw {
	t.Helper()
	b, err := bson.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSanitizeCommand(t *testing.T) {
	tests := []struct {
		name string
		cmd  bson.D
		want string
	}{
		{
			name: "find keeps collection and keys, hides values",
			cmd:  bson.D{{Key: "find", Value: "player"}, {Key: "filter", Value: bson.D{{Key: "name", Value: "Pelé"}, {Key: "age", Value: bson.D{{Key: "$gt", Value: 30}}}}}, {Key: "limit", Value: 1}},
			want: `{"find":"player","filter":{"name":"?","age":{"$gt":"?"}},"limit":"?"}`,
		},
		{
			name: "driver bookkeeping is dropped",
			cmd:  bson.D{{Key: "find", Value: "player"}, {Key: "lsid", Value: bson.D{{Key: "id", Value: "x"}}}, {Key: "$db", Value: "sports"}, {Key: "$clusterTime", Value: bson.D{}}},
			want: `{"find":"player"}`,
		},
		{
			name: "arrays reduce to distinct shapes",
			cmd: bson.D{{Key: "insert", Value: "game"}, {Key: "documents", Value: bson.A{
				bson.D{{Key: "home", Value: "a"}, {Key: "away", Value: "b"}},
				bson.D{{Key: "home", Value: "c"}, {Key: "away", Value: "d"}},
				bson.D{{Key: "home", Value: "e"}},
			}}},
			want: `{"insert":"game","documents":[{"home":"?","away":"?"},{"home":"?"}]}`,
		},
		{
			name: "$in list of scalars",
			cmd:  bson.D{{Key: "find", Value: "player"}, {Key: "filter", Value: bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: bson.A{1, 2, 3}}}}}}},
			want: `{"find":"player","filter":{"_id":{"$in":["?"]}}}`,
		},
		{
			name: "numeric first value is hidden",
			cmd:  bson.D{{Key: "aggregate", Value: 1}, {Key: "pipeline", Value: bson.A{bson.D{{Key: "$match", Value: bson.D{{Key: "x", Value: 1}}}}}}},
			want: `{"aggregate":"?","pipeline":[{"$match":{"x":"?"}}]}`,
		},
		{
			name: "a string that is not the first element is a value",
			cmd:  bson.D{{Key: "update", Value: "player"}, {Key: "comment", Value: "secret"}},
			want: `{"update":"player","comment":"?"}`,
		},
		{
			name: "keys needing escapes stay valid JSON",
			cmd:  bson.D{{Key: "find", Value: "p"}, {Key: "filter", Value: bson.D{{Key: `we"ird`, Value: 1}}}},
			want: `{"find":"p","filter":{"we\"ird":"?"}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SanitizeCommand(rawDoc(t, tt.cmd)); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestSanitizeCommandCapsLength(t *testing.T) {
	var filter bson.D
	for i := range 500 {
		filter = append(filter, bson.E{Key: strings.Repeat("k", 10) + string(rune('a'+i%26)) + strings.Repeat("x", i%7), Value: i})
	}
	got := SanitizeCommand(rawDoc(t, bson.D{{Key: "find", Value: "p"}, {Key: "filter", Value: filter}}))
	if len(got) > maxStatementLen || !strings.HasSuffix(got, "...") {
		t.Errorf("statement of %d bytes, ends %q", len(got), got[len(got)-10:])
	}
}

func TestConnectionAddress(t *testing.T) {
	tests := []struct {
		id   string
		host string
		port int
		ok   bool
	}{
		{"127.0.0.1:27017[-5]", "127.0.0.1", 27017, true},
		{"mongo:27018", "mongo", 27018, true},
		{"[::1]:27017[-1]", "::1", 27017, true},
		{"garbage", "", 0, false},
	}
	for _, tt := range tests {
		host, port, ok := connectionAddress(tt.id)
		if host != tt.host || port != tt.port || ok != tt.ok {
			t.Errorf("connectionAddress(%q) = %q, %d, %v", tt.id, host, port, ok)
		}
	}
}

func newRecordingProvider() (*sdktrace.TracerProvider, *tracetest.SpanRecorder) {
	rec := tracetest.NewSpanRecorder()
	return sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)), rec
}

func TestCommandMonitorSpans(t *testing.T) {
	tp, rec := newRecordingProvider()
	monitor := CommandMonitor(tp)

	ctx, parent := tp.Tracer("test").Start(context.Background(), "request")
	find := &event.CommandStartedEvent{
		Command:      rawDoc(t, bson.D{{Key: "find", Value: "player"}, {Key: "filter", Value: bson.D{{Key: "name", Value: "x"}}}}),
		DatabaseName: "sports", CommandName: "find", RequestID: 1, ConnectionID: "127.0.0.1:27017[-1]",
	}
	monitor.Started(ctx, find)
	monitor.Succeeded(ctx, &event.CommandSucceededEvent{CommandFinishedEvent: event.CommandFinishedEvent{CommandName: "find", RequestID: 1, ConnectionID: find.ConnectionID}})

	insert := &event.CommandStartedEvent{
		Command:      rawDoc(t, bson.D{{Key: "insert", Value: "game"}}),
		DatabaseName: "sports", CommandName: "insert", RequestID: 2, ConnectionID: find.ConnectionID,
	}
	monitor.Started(ctx, insert)
	monitor.Failed(ctx, &event.CommandFailedEvent{CommandFinishedEvent: event.CommandFinishedEvent{CommandName: "insert", RequestID: 2, ConnectionID: find.ConnectionID}, Failure: errors.New("duplicate key")})
	parent.End()

	spans := rec.Ended()
	if len(spans) != 3 {
		t.Fatalf("%d spans ended, want 3", len(spans))
	}
	findSpan, insertSpan := spans[0], spans[1]
	if findSpan.Name() != "find sports.player" || insertSpan.Name() != "insert sports.game" {
		t.Errorf("names %q, %q", findSpan.Name(), insertSpan.Name())
	}
	for _, s := range []sdktrace.ReadOnlySpan{findSpan, insertSpan} {
		if s.Parent().SpanID() != parent.SpanContext().SpanID() || s.SpanKind() != trace.SpanKindClient {
			t.Errorf("%s: parent %v kind %v", s.Name(), s.Parent().SpanID(), s.SpanKind())
		}
	}
	want := map[attribute.Key]attribute.Value{
		"db.system":             attribute.StringValue("mongodb"),
		"db.name":               attribute.StringValue("sports"),
		"db.mongodb.collection": attribute.StringValue("player"),
		"db.operation":          attribute.StringValue("find"),
		"db.statement":          attribute.StringValue(`{"find":"player","filter":{"name":"?"}}`),
		"server.address":        attribute.StringValue("127.0.0.1"),
		"server.port":           attribute.IntValue(27017),
	}
	got := map[attribute.Key]attribute.Value{}
	for _, a := range findSpan.Attributes() {
		got[a.Key] = a.Value
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("attribute %s = %v, want %v", k, got[k].Emit(), v.Emit())
		}
	}
	if findSpan.Status().Code == codes.Error {
		t.Error("successful command has error status")
	}
	if insertSpan.Status().Code != codes.Error || insertSpan.Status().Description != "duplicate key" {
		t.Errorf("failed command status = %+v", insertSpan.Status())
	}
}

func TestCommandMonitorForgetsFinishedCommands(t *testing.T) {
	tp, _ := newRecordingProvider()
	tracer := newCommandTracer(tp)
	monitor := tracer.monitor()
	for i := range int64(100) {
		started := &event.CommandStartedEvent{Command: rawDoc(t, bson.D{{Key: "ping", Value: 1}}), CommandName: "ping", RequestID: i, ConnectionID: "h:1"}
		monitor.Started(context.Background(), started)
		monitor.Succeeded(context.Background(), &event.CommandSucceededEvent{CommandFinishedEvent: event.CommandFinishedEvent{RequestID: i, ConnectionID: "h:1"}})
	}
	if n := openSpans(tracer); n != 0 {
		t.Errorf("%d spans still open", n)
	}
}

func TestCommandMonitorBoundsOpenCommands(t *testing.T) {
	tp, _ := newRecordingProvider()
	tracer := newCommandTracer(tp)
	monitor := tracer.monitor()
	cmd := rawDoc(t, bson.D{{Key: "ping", Value: 1}})
	for i := range int64(maxOpenCommandSpans + 50) {
		monitor.Started(context.Background(), &event.CommandStartedEvent{Command: cmd, CommandName: "ping", RequestID: i, ConnectionID: "h:1"})
	}
	if n := openSpans(tracer); n != maxOpenCommandSpans {
		t.Errorf("%d spans open, want the bound %d", n, maxOpenCommandSpans)
	}
}

func openSpans(m *commandTracer) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.open)
}

func TestCombineCommandMonitors(t *testing.T) {
	var calls []string
	record := func(name string) *event.CommandMonitor {
		return &event.CommandMonitor{
			Started:   func(context.Context, *event.CommandStartedEvent) { calls = append(calls, name+" started") },
			Succeeded: func(context.Context, *event.CommandSucceededEvent) { calls = append(calls, name+" succeeded") },
			Failed:    func(context.Context, *event.CommandFailedEvent) { calls = append(calls, name+" failed") },
		}
	}
	combined := CombineCommandMonitors(record("a"), nil, &event.CommandMonitor{}, record("b"))
	ctx := context.Background()
	combined.Started(ctx, &event.CommandStartedEvent{})
	combined.Succeeded(ctx, &event.CommandSucceededEvent{})
	combined.Failed(ctx, &event.CommandFailedEvent{})
	want := "a started,b started,a succeeded,b succeeded,a failed,b failed"
	if got := strings.Join(calls, ","); got != want {
		t.Errorf("calls %s, want %s", got, want)
	}
}
