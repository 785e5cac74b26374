//go:build stack

package stack

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestStack runs every check against the one running stack, in this order:
// the read-only checks first, then those that stop or scale containers
// (each restores one healthy app instance at its end), and last the one
// that takes the whole stack down and up again.
func TestStack(t *testing.T) {
	s := connect(t)
	t.Cleanup(func() {
		if t.Failed() {
			s.dumpState(t)
		}
	})
	for _, tc := range []struct {
		name string
		run  func(*testing.T, *stack)
	}{
		{"sign-in", testSignIn},
		{"client flow", testClientFlow},
		{"docs in chromium", testDocs},
		{"metrics", testMetrics},
		{"prometheus", testPrometheus},
		{"trace in jaeger", testTrace},
		{"registered in eureka", testRegistered},
		{"image", testImage},
		{"scale to three", testScale},
		{"invariants across three instances", testInvariants},
		{"mongo restart", testMongoRestart},
		{"sigterm", testSigterm},
		{"volume", testVolume},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The state when the check failed, before its cleanup restores
			// the stack (deferred calls run before cleanups, on t.Fatal too).
			defer func() {
				if t.Failed() {
					s.dumpState(t)
				}
			}()
			tc.run(t, s)
		})
	}
}

// newID is a record id unlikely to exist already: the stack's database
// outlives a test run (its volume), so fixed ids would collide on a rerun.
func newID() int64 { return 1_000_000 + rand.Int64N(1<<52) }

func playerJSON(id int) string {
	return fmt.Sprintf(`{"player_id":%d,"fname":"Ada","lname":"Lovelace","age":36,"birthday":"1990-12-10","date_started":"2010-01-01","game_id":null}`, id)
}

func player(id, gameID int64, lname string) map[string]any {
	p := map[string]any{"player_id": id, "fname": "Ann", "lname": lname, "age": 20,
		"birthday": "2004-01-02", "date_started": "2020-05-01"}
	if gameID != 0 {
		p["game_id"] = gameID
	}
	return p
}
