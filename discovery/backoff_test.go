package discovery

import (
	"testing"
	"time"
)

func TestBackoffGrowsToCap(t *testing.T) {
	tests := []struct {
		name         string
		initial, max time.Duration
		wantNominal  []time.Duration
	}{
		{"doubles then caps", time.Second, 10 * time.Second,
			[]time.Duration{1, 2, 4, 8, 10, 10, 10}},
		{"cap below initial", 5 * time.Second, 2 * time.Second,
			[]time.Duration{2, 2, 2}},
		{"cap exactly reached", time.Second, 4 * time.Second,
			[]time.Duration{1, 2, 4, 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBackoff(tt.initial, tt.max)
			b.random = func() float64 { return 1 } // upper bound: the nominal delay
			for i, want := range tt.wantNominal {
				if got := b.next(); got != want*time.Second {
					t.Fatalf("step %d: %s, want %s", i, got, want*time.Second)
				}
			}
		})
	}
}

func TestBackoffJitterBounds(t *testing.T) {
	tests := []struct {
		name   string
		random float64
		want   []time.Duration // in ms, for initial 1s, max 8s
	}{
		{"lowest jitter is half the delay", 0, []time.Duration{500, 1000, 2000, 4000, 4000}},
		{"middle jitter", 0.5, []time.Duration{750, 1500, 3000, 6000, 6000}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBackoff(time.Second, 8*time.Second)
			b.random = func() float64 { return tt.random }
			for i, want := range tt.want {
				if got := b.next(); got != want*time.Millisecond {
					t.Fatalf("step %d: %s, want %s", i, got, want*time.Millisecond)
				}
			}
		})
	}

	t.Run("real randomness stays within [d/2, d]", func(t *testing.T) {
		b := newBackoff(100*time.Millisecond, time.Second)
		for i := range 200 {
			nominal := b.nominal()
			got := b.next()
			if got < nominal/2 || got > nominal {
				t.Fatalf("step %d: %s outside [%s, %s]", i, got, nominal/2, nominal)
			}
		}
	})
}

func TestBackoffReset(t *testing.T) {
	b := newBackoff(time.Second, time.Minute)
	b.random = func() float64 { return 1 }
	for range 5 {
		b.next()
	}
	b.reset()
	if got := b.next(); got != time.Second {
		t.Fatalf("after reset: %s, want 1s", got)
	}
}
