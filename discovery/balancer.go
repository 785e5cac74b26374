package discovery

import (
	"math/rand/v2"
	"strings"
	"sync"
)

// balancer picks the index of the first instance to try out of n.
type balancer interface {
	start(app string, n int) int
}

func newBalancer(kind LoadBalancer) balancer {
	if kind == Random {
		return randomBalancer{intN: rand.IntN}
	}
	return &roundRobin{next: map[string]uint64{}}
}

// roundRobin keeps one counter per app, so calls to one app alternate even
// when calls to others are interleaved.
type roundRobin struct {
	mu   sync.Mutex
	next map[string]uint64
}

func (r *roundRobin) start(app string, n int) int {
	if n <= 0 {
		return 0
	}
	app = strings.ToUpper(app)
	r.mu.Lock()
	defer r.mu.Unlock()
	i := r.next[app]
	r.next[app] = i + 1
	return int(i % uint64(n))
}

type randomBalancer struct {
	intN func(int) int
}

func (r randomBalancer) start(_ string, n int) int {
	if n <= 0 {
		return 0
	}
	return r.intN(n)
}
