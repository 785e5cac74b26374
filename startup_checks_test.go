package main

import (
	"context"
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSecondInstance: a second process on the same address fails first on
// the address, before touching the database; one on another address but the
// same DATA_DIR fails with one error naming the directory.
func TestSecondInstance(t *testing.T) {
	t.Parallel()
	first := startService(t, nil)
	addr := strings.TrimPrefix(first.URL, "http://")
	tests := []struct {
		name   string
		listen string
		is     error
		want   string
	}{
		{"same address", addr, syscall.EADDRINUSE, "listen on " + addr},
		{"same data directory", "127.0.0.1:0", errDataDirInUse, first.DataDir},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vars := map[string]string{"LISTEN_ADDR": tt.listen, "DATA_DIR": first.DataDir, "ENV_FILE": os.DevNull}
			logs := &syncBuffer{}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a hang, not a timing assertion
			defer cancel()
			err := run(ctx, []string{"sports-service"}, func(k string) string { return vars[k] }, logs, logs)
			if !errors.Is(err, tt.is) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("second instance: %v, want %v naming %q", err, tt.is, tt.want)
			}
			if l := logs.String(); strings.Contains(l, "index") || strings.Contains(l, "disconnected") {
				t.Errorf("the second instance reached the database before failing:\n%s", l)
			}
		})
	}
	first.awaitReady(t)
}
