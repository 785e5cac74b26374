package discovery

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"
)

// Without EUREKA_URL the service runs as before: nothing blocks, nothing
// fails, and lookups say discovery is off.
func TestAgentDisabled(t *testing.T) {
	cfg, err := LoadConfig(func(string) string { return "" }, 8080)
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(cfg, nil, nil, "v")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	done := make(chan struct{})
	go func() { defer close(done); a.Registrar().Run(ctx) }()
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatal("Registrar.Run did not return at once with discovery disabled")
	}
	if err := a.Deregister(ctx); err != nil {
		t.Errorf("Deregister: %v", err)
	}
	if st := a.Status(); st.Enabled || st.Registration.Enabled || st.Registry.Enabled || st.Registry.Stale ||
		st.Registration.InstanceID != "" || len(st.Aliases) != 0 {
		t.Errorf("Status() = %+v", st)
	}
	if _, err := a.Instances("x"); !errors.Is(err, ErrDisabled) {
		t.Errorf("Instances: %v", err)
	}
	if _, err := a.Do(ctx, "x", http.MethodGet, "/", nil); !errors.Is(err, ErrDisabled) {
		t.Errorf("Do: %v", err)
	}
}

func TestNewRejectsInvalidConfig(t *testing.T) {
	cfg := Config{ServerURLs: []string{"http://e/eureka"}, AppName: "A", InstanceHost: "h", InstanceIP: "10.0.0.1", Port: 80}
	if _, err := New(cfg, nil, nil, "v"); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("zero intervals accepted: %v", err)
	}
}
