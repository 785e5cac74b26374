//go:build kube

package kube

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/osms/sports-service/internal/testenv"
)

// api is the service through its Service, signed in as the first admin.
type api struct {
	base   string
	token  string
	client *http.Client
}

// answer is one response.
type answer struct {
	status int
	body   string
	header http.Header
}

func (a answer) String() string { return fmt.Sprintf("%d %.300s", a.status, a.body) }

// newTransport is a keep-alive transport for n concurrent clients: what a
// real caller uses (and what keeps connections pinned to a pod until it
// closes them, the hard case of a drain).
func newTransport(n int) *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = n, n
	return tr
}

func newAPI(base string, conns int) *api {
	return &api{base: base, client: &http.Client{Transport: newTransport(conns), Timeout: 30 * time.Second}}
}

// with returns a copy of a that shares its token but has its own
// connections.
func (a *api) with(conns int) *api {
	b := newAPI(a.base, conns)
	b.token = a.token
	return b
}

// do sends a request; body is JSON-encoded unless it is a string (then a
// form when it looks like one); headers are name, value pairs.
func (a *api) do(ctx context.Context, method, path string, body any, headers ...string) (answer, error) {
	req, err := testenv.NewRequest(method, a.base+path, body, headers...)
	if err != nil {
		return answer{}, err
	}
	req = req.WithContext(ctx)
	if s, ok := body.(string); ok && strings.Contains(s, "=") && !strings.HasPrefix(s, "{") {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if a.token != "" && strings.HasPrefix(path, "/ch11/") && req.Header.Get("Authorization") == "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{}, err
	}
	return answer{resp.StatusCode, string(b), resp.Header}, nil
}

// must sends a request that must answer want.
func (a *api) must(t testing.TB, want int, method, path string, body any, headers ...string) answer {
	t.Helper()
	ans, err := a.do(context.Background(), method, path, body, headers...)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	if ans.status != want {
		t.Fatalf("%s %s: %s, want %d", method, path, ans, want)
	}
	return ans
}

// signIn trades the admin's credentials for a token. The first admin is
// created in the background once the database answers: retry a while.
func (a *api) signIn(t testing.TB, user, password string) {
	t.Helper()
	form := url.Values{"grant_type": {"password"}, "username": {user}, "password": {password}}.Encode()
	var last string
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(time.Second) {
		ans, err := a.do(context.Background(), http.MethodPost, "/ch11/login/token", form)
		if err == nil && ans.status == http.StatusOK {
			var tok struct {
				AccessToken string `json:"access_token"`
			}
			if json.Unmarshal([]byte(ans.body), &tok) == nil && tok.AccessToken != "" {
				a.token = tok.AccessToken
				return
			}
		}
		last = fmt.Sprint(ans, err)
	}
	t.Fatalf("sign in as %s: %s", user, last)
}

func newID() int64 { return 1_000_000 + rand.Int64N(1<<50) }

func officialJSON(id int64, lname string) map[string]any {
	return map[string]any{"official_id": id, "fname": "Rita", "lname": lname, "age": 40,
		"birthday": "1984-03-04", "date_started": "2005-01-01"}
}

func playerJSON(id, game int64, lname string) map[string]any {
	p := map[string]any{"player_id": id, "fname": "Ann", "lname": lname, "age": 20,
		"birthday": "2004-01-02", "date_started": "2020-05-01"}
	if game != 0 {
		p["game_id"] = game
	}
	return p
}

// load is a steady read and write load through the Service: readers GET
// players, writers create an official (with an Idempotency-Key), read it,
// update it with its ETag and delete it with the new one. Every answer that
// is not the expected one, and every connection error, is a failure.
type load struct {
	api     *api
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	started time.Time

	mu       sync.Mutex
	ops      map[string]*opCount
	failures []failure
}

type opCount struct{ ok, failed, connErrors int }

type failure struct {
	at   time.Time
	what string
}

// loadPause paces each worker: the load is steady, not a stress test (the
// cluster shares two cores with it).
const loadPause = 20 * time.Millisecond

func startLoad(a *api, readers, writers int, players []int64) *load {
	ctx, cancel := context.WithCancel(context.Background())
	l := &load{api: a.with(readers + writers), cancel: cancel, started: time.Now(), ops: map[string]*opCount{}}
	for i := range readers {
		l.wg.Go(func() {
			for n := i; ctx.Err() == nil; n++ {
				l.call(ctx, "read", http.StatusOK, http.MethodGet, fmt.Sprintf("/ch11/player/get/%d", players[n%len(players)]), nil)
				time.Sleep(loadPause)
			}
		})
	}
	for range writers {
		l.wg.Go(func() {
			for ctx.Err() == nil {
				l.writeCycle(ctx)
				time.Sleep(loadPause)
			}
		})
	}
	return l
}

// writeCycle creates, updates and deletes one official.
func (l *load) writeCycle(ctx context.Context) {
	id := newID()
	ans, ok := l.call(ctx, "create", http.StatusCreated, http.MethodPost, "/ch11/official/add", officialJSON(id, "Load"),
		"Idempotency-Key", fmt.Sprintf("load-%d", id))
	if !ok {
		return
	}
	ans, ok = l.call(ctx, "update", http.StatusOK, http.MethodPatch, fmt.Sprintf("/ch11/official/update/%d", id),
		map[string]any{"lname": "Loaded"}, "If-Match", ans.header.Get("ETag"))
	if !ok {
		return
	}
	l.call(ctx, "delete", http.StatusOK, http.MethodDelete, fmt.Sprintf("/ch11/official/delete/%d", id), nil,
		"If-Match", ans.header.Get("ETag"))
}

// call sends one request of the load and counts it; a request cut short by
// the load's stop is not counted.
func (l *load) call(ctx context.Context, op string, want int, method, path string, body any, headers ...string) (answer, bool) {
	ans, err := l.api.do(ctx, method, path, body, headers...)
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		return ans, false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.ops[op]
	if c == nil {
		c = &opCount{}
		l.ops[op] = c
	}
	switch {
	case err != nil:
		c.connErrors++
		l.failures = append(l.failures, failure{time.Now(), fmt.Sprintf("%s %s: %v", method, path, err)})
		return ans, false
	case ans.status != want:
		c.failed++
		l.failures = append(l.failures, failure{time.Now(), fmt.Sprintf("%s %s: %s, want %d", method, path, ans, want)})
		return ans, false
	}
	c.ok++
	return ans, true
}

// loadReport is what a load saw.
type loadReport struct {
	duration                  time.Duration
	ok, failed, connErrors    int
	ops                       map[string]opCount
	failures                  []failure
	firstFailure, lastFailure time.Time
}

// stop ends the load and reports it.
func (l *load) stop() loadReport {
	l.cancel()
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	r := loadReport{duration: time.Since(l.started), ops: map[string]opCount{}, failures: l.failures}
	for op, c := range l.ops {
		r.ops[op] = *c
		r.ok += c.ok
		r.failed += c.failed
		r.connErrors += c.connErrors
	}
	if len(l.failures) > 0 {
		r.firstFailure, r.lastFailure = l.failures[0].at, l.failures[len(l.failures)-1].at
	}
	return r
}

func (r loadReport) String() string {
	var ops []string
	for op, c := range r.ops {
		ops = append(ops, fmt.Sprintf("%s %d ok/%d failed/%d connection errors", op, c.ok, c.failed, c.connErrors))
	}
	sort.Strings(ops)
	return fmt.Sprintf("%d requests in %v (%.0f/s): %d ok, %d failed answers, %d connection errors [%s]",
		r.ok+r.failed+r.connErrors, r.duration.Round(time.Millisecond), float64(r.ok+r.failed+r.connErrors)/r.duration.Seconds(),
		r.ok, r.failed, r.connErrors, strings.Join(ops, "; "))
}

// requireNoFailure fails the test when the load saw any failure, listing
// the first ones.
func (r loadReport) requireNoFailure(t testing.TB, during string) {
	t.Helper()
	t.Logf("load during %s: %s", during, r)
	if r.failed+r.connErrors == 0 {
		return
	}
	var lines []string
	for i, f := range r.failures {
		if i == 20 {
			lines = append(lines, fmt.Sprintf("... and %d more", len(r.failures)-20))
			break
		}
		lines = append(lines, f.at.Format("15:04:05.000")+" "+f.what)
	}
	t.Errorf("%d failed requests during %s:\n%s", r.failed+r.connErrors, during, strings.Join(lines, "\n"))
}

// throughput GETs path with conns concurrent keep-alive connections for d
// and returns the successful requests per second (and the failures).
func throughput(a *api, path string, conns int, d time.Duration) (perSecond float64, failed int) {
	b := a.with(conns)
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var mu sync.Mutex
	ok := 0
	var wg sync.WaitGroup
	start := time.Now()
	for range conns {
		wg.Go(func() {
			for ctx.Err() == nil {
				ans, err := b.do(ctx, http.MethodGet, path, nil)
				if ctx.Err() != nil {
					return
				}
				mu.Lock()
				if err == nil && ans.status == http.StatusOK {
					ok++
				} else {
					failed++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return float64(ok) / time.Since(start).Seconds(), failed
}
