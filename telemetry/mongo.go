package telemetry

import (
	"context"
	"encoding/json"
	"net"
	"strconv"
	"strings"
	"sync"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/event"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// maxOpenCommandSpans bounds the spans waiting for their command to finish.
// The driver reports the end of every command it starts, so the map only
// grows past a few entries per pooled connection if that promise breaks;
// then new commands go untraced rather than the map growing without limit.
const maxOpenCommandSpans = 10000

// maxStatementLen caps db.statement; a large insert would otherwise copy
// its whole batch shape into every span.
const maxStatementLen = 2048

// Span attributes of MongoDB command spans (database semantic conventions).
const (
	attrDBSystem     = attribute.Key("db.system")
	attrDBName       = attribute.Key("db.name")
	attrDBCollection = attribute.Key("db.mongodb.collection")
	attrDBOperation  = attribute.Key("db.operation")
	attrDBStatement  = attribute.Key("db.statement")
	attrServerAddr   = attribute.Key("server.address")
	attrServerPort   = attribute.Key("server.port")
)

// CommandMonitor returns a MongoDB command monitor that records one client
// span per command, as a child of the span in the command's context, named
// "<command> <db>.<collection>". The statement attribute keeps the command
// document's keys but replaces its values by "?".
func CommandMonitor(tp trace.TracerProvider) *event.CommandMonitor {
	return newCommandTracer(tp).monitor()
}

// CombineCommandMonitors returns a monitor calling each non-nil monitor in
// turn, since a mongo client takes a single one.
func CombineCommandMonitors(monitors ...*event.CommandMonitor) *event.CommandMonitor {
	var ms []*event.CommandMonitor
	for _, m := range monitors {
		if m != nil {
			ms = append(ms, m)
		}
	}
	return &event.CommandMonitor{
		Started: func(ctx context.Context, e *event.CommandStartedEvent) {
			for _, m := range ms {
				if m.Started != nil {
					m.Started(ctx, e)
				}
			}
		},
		Succeeded: func(ctx context.Context, e *event.CommandSucceededEvent) {
			for _, m := range ms {
				if m.Succeeded != nil {
					m.Succeeded(ctx, e)
				}
			}
		},
		Failed: func(ctx context.Context, e *event.CommandFailedEvent) {
			for _, m := range ms {
				if m.Failed != nil {
					m.Failed(ctx, e)
				}
			}
		},
	}
}

// commandKey identifies a command between its started and finished events.
// Request ids are unique per client; the connection makes that certain.
type commandKey struct {
	connectionID string
	requestID    int64
}

type commandTracer struct {
	tracer trace.Tracer

	mu   sync.Mutex
	open map[commandKey]trace.Span
}

func newCommandTracer(tp trace.TracerProvider) *commandTracer {
	return &commandTracer{
		tracer: tp.Tracer(instrumentationName),
		open:   make(map[commandKey]trace.Span),
	}
}

func (m *commandTracer) monitor() *event.CommandMonitor {
	return &event.CommandMonitor{Started: m.started, Succeeded: m.succeeded, Failed: m.failed}
}

func (m *commandTracer) started(ctx context.Context, e *event.CommandStartedEvent) {
	if ctx == nil {
		ctx = context.Background()
	}
	collection := commandCollection(e.CommandName, e.Command)
	attrs := []attribute.KeyValue{
		attrDBSystem.String("mongodb"),
		attrDBName.String(e.DatabaseName),
		attrDBOperation.String(e.CommandName),
		attrDBStatement.String(SanitizeCommand(e.Command)),
	}
	name := e.CommandName + " " + e.DatabaseName
	if collection != "" {
		name += "." + collection
		attrs = append(attrs, attrDBCollection.String(collection))
	}
	if host, port, ok := connectionAddress(e.ConnectionID); ok {
		attrs = append(attrs, attrServerAddr.String(host), attrServerPort.Int(port))
	}

	key := commandKey{connectionID: e.ConnectionID, requestID: e.RequestID}
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.open) >= maxOpenCommandSpans {
		return
	}
	_, span := m.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	m.open[key] = span
}

func (m *commandTracer) finish(e event.CommandFinishedEvent) (trace.Span, bool) {
	key := commandKey{connectionID: e.ConnectionID, requestID: e.RequestID}
	m.mu.Lock()
	defer m.mu.Unlock()
	span, ok := m.open[key]
	delete(m.open, key)
	return span, ok
}

func (m *commandTracer) succeeded(_ context.Context, e *event.CommandSucceededEvent) {
	if span, ok := m.finish(e.CommandFinishedEvent); ok {
		span.End()
	}
}

func (m *commandTracer) failed(_ context.Context, e *event.CommandFailedEvent) {
	if span, ok := m.finish(e.CommandFinishedEvent); ok {
		if e.Failure != nil {
			span.RecordError(e.Failure)
			span.SetStatus(codes.Error, e.Failure.Error())
		} else {
			span.SetStatus(codes.Error, "command failed")
		}
		span.End()
	}
}

// commandCollection returns the collection a command works on: the value of
// its first element for most commands ({find: "player", ...}), the
// "collection" field for getMore, "" for database-level commands.
func commandCollection(commandName string, command bson.Raw) string {
	if commandName == "getMore" {
		if v, err := command.LookupErr("collection"); err == nil {
			if s, ok := v.StringValueOK(); ok {
				return s
			}
		}
		return ""
	}
	elems, err := command.Elements()
	if err != nil || len(elems) == 0 {
		return ""
	}
	s, _ := elems[0].Value().StringValueOK()
	return s
}

// connectionAddress parses the driver's connection ids, "host:port[-N]".
func connectionAddress(connectionID string) (string, int, bool) {
	addr := connectionID
	if i := strings.LastIndex(addr, "["); i >= 0 {
		addr = addr[:i]
	}
	host, portText, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, false
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		return "", 0, false
	}
	return host, port, true
}

// skippedCommandField reports driver bookkeeping fields, left out of
// statements because they say nothing about the query.
func skippedCommandField(key string) bool {
	switch key {
	case "lsid", "$clusterTime", "$db":
		return true
	default:
		return false
	}
}

// SanitizeCommand renders a command document as JSON with every value
// replaced by "?" and its keys kept, so that a statement shows the query's
// shape but no data. The first element's value is kept when it is a string:
// it names the collection ({"find":"player"}), not data. Arrays are reduced
// to their distinct element shapes.
func SanitizeCommand(command bson.Raw) string {
	elems, err := command.Elements()
	if err != nil {
		return "?"
	}
	var b strings.Builder
	b.WriteByte('{')
	for i, elem := range elems {
		key := elem.Key()
		if skippedCommandField(key) {
			continue
		}
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		writeJSONString(&b, key)
		b.WriteByte(':')
		if s, ok := elem.Value().StringValueOK(); ok && i == 0 {
			writeJSONString(&b, s)
			continue
		}
		writeSanitizedValue(&b, elem.Value())
	}
	b.WriteByte('}')
	statement := b.String()
	if len(statement) > maxStatementLen {
		// Cut on a rune boundary at most maxStatementLen bytes long.
		statement = strings.ToValidUTF8(statement[:maxStatementLen-3], "") + "..."
	}
	return statement
}

func writeSanitizedValue(b *strings.Builder, v bson.RawValue) {
	switch v.Type {
	case bson.TypeEmbeddedDocument:
		writeSanitizedDocument(b, v.Document())
	case bson.TypeArray:
		values, err := v.Array().Values()
		if err != nil {
			b.WriteString(`"?"`)
			return
		}
		seen := make(map[string]bool)
		b.WriteByte('[')
		for _, elem := range values {
			var one strings.Builder
			writeSanitizedValue(&one, elem)
			if seen[one.String()] {
				continue
			}
			if len(seen) > 0 {
				b.WriteByte(',')
			}
			seen[one.String()] = true
			b.WriteString(one.String())
		}
		b.WriteByte(']')
	default:
		b.WriteString(`"?"`)
	}
}

func writeSanitizedDocument(b *strings.Builder, doc bson.Raw) {
	elems, err := doc.Elements()
	if err != nil {
		b.WriteString(`"?"`)
		return
	}
	b.WriteByte('{')
	for i, elem := range elems {
		if i > 0 {
			b.WriteByte(',')
		}
		writeJSONString(b, elem.Key())
		b.WriteByte(':')
		writeSanitizedValue(b, elem.Value())
	}
	b.WriteByte('}')
}

func writeJSONString(b *strings.Builder, s string) {
	quoted, _ := json.Marshal(s) // marshalling a string cannot fail
	b.Write(quoted)
}

// CommandMonitor is the package-level CommandMonitor on p's tracer
// provider, or nil when p exports nothing: a span nobody records is not worth
// sanitizing every command for.
func (p *Provider) CommandMonitor() *event.CommandMonitor {
	if p.exportsNothing {
		return nil
	}
	return CommandMonitor(p.TracerProvider())
}
