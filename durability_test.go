package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/osms/sports-service/models"
)

// TestNothingLost has 20 clients each write 250 distinct officials, retrying
// a write that got a 503 or a connection error with the same id, as a client
// that wants exactly-once storage would; a 409 on a retry means the earlier
// attempt was stored and counts as acknowledged. Afterwards every
// acknowledged record reads back exactly once and nothing else is there. The
// second case cuts the database link for 3 seconds in the middle of the
// writes.
func TestNothingLost(t *testing.T) {
	const (
		clients = 20
		// 500 a client (10,000 records) took 22 s to write and 2.1 s to
		// list on the embedded FerretDB (about 450 writes/s with 20
		// clients, and a list that sorts the collection in memory), per
		// case: half of that keeps the suite quick and the list far from
		// DB_TIMEOUT.
		perClient = 250
		outage    = 3 * time.Second
	)
	tests := []struct {
		name string
		cut  bool
	}{
		{"steady", false},
		{"database cut mid-way", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mongoURI, proxy := proxiedDatabase(t)
			s := startService(t, map[string]string{"MONGODB_URI": mongoURI, "DB_TIMEOUT": "5s", "LOG_LEVEL": "info"})
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}, Timeout: 30 * time.Second}

			var acked, ackedByConflict, retries, refusedWhileDown atomic.Int64
			half := make(chan struct{})
			halfOnce := sync.OnceFunc(func() { close(half) })
			var mu sync.Mutex
			var failures []string
			fail := func(format string, args ...any) {
				mu.Lock()
				defer mu.Unlock()
				if len(failures) < 10 {
					failures = append(failures, fmt.Sprintf(format, args...))
				}
			}
			var firstAfterRestore atomic.Int64 // unix nanos of the first 201 after Restore
			var restoredAt atomic.Int64

			start := time.Now()
			var wg sync.WaitGroup
			for c := range clients {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for n := range perClient {
						id := int64(c*perClient + n + 1)
						body, _ := json.Marshal(officialBody(id))
						for attempt := 0; ; attempt++ {
							if attempt == 200 {
								fail("official %d: no acknowledgement after %d attempts", id, attempt)
								break
							}
							o := send(client, "POST", s.URL+"/ch11/official/add", string(body))
							if o.status == http.StatusCreated || o.status == http.StatusConflict && attempt > 0 {
								if o.status == http.StatusConflict {
									ackedByConflict.Add(1)
								}
								if ra := restoredAt.Load(); ra != 0 && o.status == http.StatusCreated {
									firstAfterRestore.CompareAndSwap(0, time.Now().UnixNano())
								}
								if acked.Add(1) == clients*perClient/2 {
									halfOnce()
								}
								break
							}
							if o.status != 0 && o.status != http.StatusServiceUnavailable {
								fail("official %d attempt %d: status %d", id, attempt, o.status)
								break
							}
							if o.status == http.StatusServiceUnavailable {
								refusedWhileDown.Add(1)
							}
							retries.Add(1)
							time.Sleep(100 * time.Millisecond)
						}
					}
				}()
			}
			var cutAt time.Time
			if tt.cut {
				<-half
				cutAt = time.Now()
				proxy.Cut()
				time.Sleep(outage)
				restoredAt.Store(time.Now().UnixNano())
				proxy.Restore()
			}
			wg.Wait()
			wrote := time.Since(start)
			for _, f := range failures {
				t.Error(f)
			}

			// Read everything back through the API in one streamed list: a
			// keyset page makes the embedded FerretDB sort the whole
			// collection in memory each time, which a 10,000-record page
			// walk would repeat ten times.
			readStart := time.Now()
			var all []models.Official
			s.do(t, "GET", "/ch11/official/list/all", nil).JSON(t, &all)
			seen := make(map[int64]int, len(all))
			for _, o := range all {
				seen[o.OfficialID]++
			}
			var missing, duplicated []string
			for id := int64(1); id <= clients*perClient; id++ {
				switch seen[id] {
				case 1:
				case 0:
					missing = append(missing, fmt.Sprint(id))
				default:
					duplicated = append(duplicated, fmt.Sprint(id))
				}
			}
			if len(missing) > 0 || len(duplicated) > 0 || len(seen) != clients*perClient {
				t.Errorf("read back %d distinct records, want %d; missing %s; duplicated %s",
					len(seen), clients*perClient, head(missing), head(duplicated))
			}
			if int(acked.Load()) != clients*perClient {
				t.Errorf("%d writes acknowledged, want %d", acked.Load(), clients*perClient)
			}
			figure := fmt.Sprintf("FIGURE: nothing lost (%s): %d records acknowledged by %d clients in %v (%.0f/s), %d retries (%d answered 503, %d acknowledged by a 409 on retry), read back %d (%d distinct) in %v",
				tt.name, acked.Load(), clients, wrote.Round(time.Millisecond), float64(acked.Load())/wrote.Seconds(),
				retries.Load(), refusedWhileDown.Load(), ackedByConflict.Load(), len(all), len(seen), time.Since(readStart).Round(time.Millisecond))
			if tt.cut {
				if first := firstAfterRestore.Load(); first != 0 {
					figure += fmt.Sprintf("; link cut %v at %v, first write stored %v after restore",
						outage, cutAt.Sub(start).Round(time.Millisecond), time.Duration(first-restoredAt.Load()).Round(time.Millisecond))
				}
				if retries.Load() == 0 {
					t.Error("no write was retried: the cut did not happen during the writes")
				}
			}
			t.Log(figure)
		})
	}
}

// head lists the first few items of a long list.
func head(items []string) string {
	if len(items) > 10 {
		return strings.Join(items[:10], ",") + fmt.Sprintf(",... (%d)", len(items))
	}
	return strings.Join(items, ",")
}
