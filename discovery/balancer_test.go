package discovery

import "testing"

// call is one balancer.start call: which app, how many instances.
type call struct {
	app string
	n   int
}

func TestRoundRobin(t *testing.T) {
	tests := []struct {
		name  string
		calls []call
		want  []int
	}{
		{
			name:  "cycles through instances",
			calls: []call{{"A", 3}, {"A", 3}, {"A", 3}, {"A", 3}},
			want:  []int{0, 1, 2, 0},
		},
		{
			name:  "one counter per app, app names case-insensitive",
			calls: []call{{"a", 2}, {"B", 2}, {"A", 2}, {"b", 2}, {"a", 2}},
			want:  []int{0, 0, 1, 1, 0},
		},
		{
			name:  "follows a changing instance count",
			calls: []call{{"A", 2}, {"A", 2}, {"A", 1}, {"A", 3}},
			want:  []int{0, 1, 0, 0},
		},
		{
			name:  "no instances",
			calls: []call{{"A", 0}},
			want:  []int{0},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBalancer(RoundRobin)
			for i, c := range tt.calls {
				if got := b.start(c.app, c.n); got != tt.want[i] {
					t.Fatalf("call %d (%s, %d): %d, want %d", i, c.app, c.n, got, tt.want[i])
				}
			}
		})
	}
}

func TestRandomBalancer(t *testing.T) {
	tests := []struct {
		name string
		n    int
	}{{"one", 1}, {"three", 3}, {"ten", 10}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBalancer(Random)
			seen := map[int]int{}
			for range 1000 {
				i := b.start("A", tt.n)
				if i < 0 || i >= tt.n {
					t.Fatalf("index %d out of [0, %d)", i, tt.n)
				}
				seen[i]++
			}
			// With 1000 draws every index turns up; a balancer stuck on
			// one instance would not pass.
			if len(seen) != tt.n {
				t.Fatalf("indexes seen %v, want all %d", seen, tt.n)
			}
		})
	}
	if got := newBalancer(Random).start("A", 0); got != 0 {
		t.Fatalf("no instances: %d, want 0", got)
	}
}
