//go:build stack

package stack

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"testing"
	"time"

	"github.com/osms/sports-service/internal/invariants"
)

// gatewayWriteRefill is how long the gateway's write limit (20 r/s, burst
// 40, docker-compose.yaml) takes to refill the burst.
const gatewayWriteRefill = 2 * time.Second

// gatewayClient sends the races through the gateway, which spreads them
// over the app instances: the instance number is ignored.
type gatewayClient struct{ s *stack }

func (g gatewayClient) Send(_ int, st invariants.Step) invariants.Answer {
	a, err := g.s.try(nil, st.Method, st.Path, st.Body, st.Header...)
	return invariants.Answer{Status: a.status, Body: a.body, Header: a.header, Err: err}
}

// testInvariants plays the data's rules (internal/invariants) through the
// gateway with the app scaled to three instances: requests that break a
// rule if both succeed, sent at the same moment and spread by the gateway
// over the instances; then every record is read back. The admin races
// demote or delete the first admin; the cleanup makes it admin again, or
// adds it back (the harness's token, issued to it, stays valid meanwhile).
func testInvariants(t *testing.T, s *stack) {
	t.Cleanup(func() { s.restore(t) })
	s.mustCompose(t, append([]string{"up", "-d", "--no-build", "--pull", "never", "--no-recreate", "--scale", "app=3"}, s.services()...)...)
	apps := s.running(t, "app")
	if len(apps) != 3 {
		t.Fatalf("%d app containers run after --scale app=3, want 3", len(apps))
	}
	g := gatewayClient{s}
	// Every instance answers through the gateway before the races start.
	seen := map[string]bool{}
	s.waitFor(t, "all three instances answer through the gateway", scaleUpWithin, func() bool {
		a := s.get(t, "/info")
		var info struct {
			Instance string `json:"instance"`
		}
		if a.status == http.StatusOK && json.Unmarshal([]byte(a.body), &info) == nil {
			seen[info.Instance] = true
		}
		return len(seen) >= 3
	})

	admins, err := invariants.Admins(g, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(admins) == 0 {
		t.Fatal("the stack has no admin")
	}
	first := admins[0]
	// The admin races start from one admin: the others (left by an earlier
	// run) become viewers, the first last.
	for _, id := range admins[1:] {
		expect(t, "demote an extra admin", g.send(t, "PATCH", fmt.Sprintf("/ch11/login/role/%d", id), map[string]any{"role": "viewer"}), 200)
	}
	t.Cleanup(func() {
		time.Sleep(gatewayWriteRefill)
		a := g.send(t, "PATCH", fmt.Sprintf("/ch11/login/role/%d", first), map[string]any{"role": "admin"})
		if a.status != http.StatusNotFound {
			expect(t, "make the first admin admin again", a, http.StatusOK)
			return
		}
		// The race "the last two admins, one deleted and one demoted at
		// once" deletes it when its delete wins (ReadBack has checked that
		// an admin is left). Add it back, so that a later sign-in with
		// the stack's admin credentials works as before.
		c, ok := s.adminCredentials(t)
		if !ok {
			t.Logf("the first admin (login %d) was deleted by the admin races; sign-in is off, so it is not added back", first)
			return
		}
		expect(t, "add the first admin back", g.send(t, "POST", "/ch11/login/add", map[string]any{
			"login_id": first, "username": c.Username, "password": c.Password, "role": "admin"}), http.StatusCreated)
	})

	var tally invariants.Tally
	// The stack's volume outlives a run: ids of a new range each time,
	// under the API's maximum id (2^53 - 1).
	base := 1_000_000 * (1 + rand.Int64N(1<<30))
	start := time.Now()
	always := func() []int { return []int{0, 1, 2} }
	// The gateway limits writes per client (NGINX_WRITE_RATE 20 r/s, burst
	// 40): a round of every race is about 35 writes, so each starts with
	// the burst refilled.
	refill := func(int) { time.Sleep(gatewayWriteRefill) }
	if err := invariants.Play(g, invariants.Races(base), 0, 6, &tally, always, nil, refill); err != nil {
		t.Fatal(err)
	}
	broken, err := invariants.ReadBack(g, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d races through the gateway in %s", tally.Rounds, time.Since(start).Round(100*time.Millisecond))
	invariants.Report(t, &tally, broken)
}

func (g gatewayClient) send(t *testing.T, method, path string, body any) answer {
	t.Helper()
	return g.s.request(t, nil, method, path, body)
}
