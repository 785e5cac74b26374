//go:build !noembed

package embeddeddb

import (
	"bytes"
	"context"
	"log/slog"
	"testing"
)

// countingHandler counts the WithAttrs calls that reach it.
type countingHandler struct {
	slog.Handler
	withAttrs *int
}

func (h countingHandler) WithAttrs(as []slog.Attr) slog.Handler {
	*h.withAttrs++
	return countingHandler{h.Handler.WithAttrs(as), h.withAttrs}
}

func (h countingHandler) WithGroup(name string) slog.Handler {
	return countingHandler{h.Handler.WithGroup(name), h.withAttrs}
}

// Derived loggers write what eager ones write, and a logger that never logs
// (or logs below the level) costs its handler no WithAttrs.
func TestDeferredAttrs(t *testing.T) {
	var eagerOut, deferredOut bytes.Buffer
	newJSON := func(b *bytes.Buffer) slog.Handler {
		return slog.NewJSONHandler(b, &slog.HandlerOptions{Level: slog.LevelWarn, ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}})
	}
	calls := 0
	eager := slog.New(newJSON(&eagerOut))
	deferred := slog.New(deferredAttrs{handler: countingHandler{newJSON(&deferredOut), &calls}})

	for i := range 100 {
		deferred.With("query", i).Info("below the level")
	}
	if calls != 0 {
		t.Fatalf("%d WithAttrs reached the handler for loggers that wrote nothing", calls)
	}

	log := func(l *slog.Logger) {
		base := l.With("component", "ferretdb")
		a := base.With("conn", 1).WithGroup("sql")
		b := base.With("conn", 2) // a sibling: must not see conn=1 or the group
		a.Warn("slow query", "ms", 120)
		b.Error("broken pipe", "err", "EOF")
		base.WithGroup("g").With("x", []int{1, 2}).Error("nested")
		l.ErrorContext(context.Background(), "plain")
	}
	log(eager)
	log(deferred)
	if deferredOut.String() != eagerOut.String() {
		t.Errorf("deferred attributes wrote\n%s\neager ones\n%s", deferredOut.String(), eagerOut.String())
	}
	if calls == 0 {
		t.Error("the logged records' attributes never reached the handler")
	}
}
