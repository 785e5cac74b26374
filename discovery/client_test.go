package discovery

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/osms/sports-service/internal/testenv"
)

// cachedRegistry is a Registry whose cache is filled by the test, so the
// transport can be tested without Eureka.
func cachedRegistry(t *testing.T, app string, instances ...Instance) *Registry {
	t.Helper()
	cfg := Config{ServerURLs: []string{"http://127.0.0.1:1/eureka"}, LoadBalancer: RoundRobin}
	r := NewRegistry(cfg, nil)
	r.apps = map[string][]Instance{normalizeApp(app): instances}
	r.fetchedAt = time.Now()
	return r
}

func liveInstance(t *testing.T, name string) Instance {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		io.WriteString(w, name+" "+r.Method+" "+string(body))
	}))
	t.Cleanup(srv.Close)
	return instanceAt(t, name, srv.Listener.Addr().String())
}

// deadInstance has an address where nothing listens.
func deadInstance(t *testing.T, name string) Instance {
	t.Helper()
	return instanceAt(t, name, testenv.RefusingAddr(t))
}

func instanceAt(t *testing.T, name, addr string) Instance {
	host, port, _ := net.SplitHostPort(addr)
	p, _ := strconv.Atoi(port)
	return Instance{InstanceID: name, App: "SVC", HostName: host, IPAddr: host, Port: p, Status: StatusUp}
}

func TestTransportRetriesOnlyIdempotentRequests(t *testing.T) {
	tests := []struct {
		name      string
		method    string
		header    string
		body      string
		wantRetry bool
	}{
		{"GET", http.MethodGet, "", "", true},
		{"HEAD", http.MethodHead, "", "", true},
		{"OPTIONS", http.MethodOptions, "", "", true},
		{"PUT with body", http.MethodPut, "", "payload", true},
		{"DELETE", http.MethodDelete, "", "", true},
		{"POST", http.MethodPost, "", "payload", false},
		{"PATCH", http.MethodPatch, "", "payload", false},
		{"POST with Idempotency-Key", http.MethodPost, "Idempotency-Key", "payload", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Round robin starts at the first instance: the dead one.
			reg := cachedRegistry(t, "svc", deadInstance(t, "dead"), liveInstance(t, "live"))
			client := NewClient(reg, nil)
			ctx := context.Background()
			var body []byte
			if tt.body != "" {
				body = []byte(tt.body)
			}
			var resp *http.Response
			var err error
			if tt.header != "" {
				req, _ := http.NewRequestWithContext(ctx, tt.method, "http://svc/x", strings.NewReader(tt.body))
				req.Header.Set(tt.header, "k-1")
				resp, err = client.HTTPClient().Do(req)
			} else {
				resp, err = client.Do(ctx, "svc", tt.method, "/x", body)
			}
			if !tt.wantRetry {
				if err == nil {
					resp.Body.Close()
					t.Fatal("non-idempotent request succeeded: it was retried on the next instance")
				}
				if !strings.Contains(err.Error(), "dead") {
					t.Errorf("error %v does not name the instance that failed", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("not retried: %v", err)
			}
			defer resp.Body.Close()
			got, _ := io.ReadAll(resp.Body)
			if tt.method == http.MethodHead {
				return
			}
			if want := "live " + tt.method + " " + tt.body; string(got) != want {
				t.Fatalf("answer %q, want %q (body must be re-sent intact)", got, want)
			}
		})
	}
}

func TestTransportErrors(t *testing.T) {
	down := Instance{InstanceID: "d", App: "SVC", HostName: "127.0.0.1", Port: 1, Status: StatusDown}
	tests := []struct {
		name string
		reg  *Registry
		app  string
		want error
	}{
		{"disabled", NewRegistry(Config{}, nil), "svc", ErrDisabled},
		{"unknown app", cachedRegistry(t, "svc", down), "other", ErrAppNotFound},
		{"no instance up", cachedRegistry(t, "svc", down), "svc", ErrNoInstanceUp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewClient(tt.reg, nil).Do(context.Background(), tt.app, http.MethodGet, "/", nil)
			if !errors.Is(err, tt.want) {
				t.Fatalf("error %v, want %v", err, tt.want)
			}
		})
	}
}

func TestTransportAlternates(t *testing.T) {
	reg := cachedRegistry(t, "svc", liveInstance(t, "one"), liveInstance(t, "two"))
	client := NewClient(reg, nil)
	var got []string
	for range 4 {
		resp, err := client.Do(context.Background(), "SVC", http.MethodGet, "/", nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got = append(got, strings.Fields(string(b))[0])
	}
	if strings.Join(got, ",") != "one,two,one,two" {
		t.Fatalf("answers %v", got)
	}
}

// Failover between Eureka servers and answers a healthy Eureka does not
// give (500) need a fake server.
func TestEurekaServersFailover(t *testing.T) {
	dead := "http://" + deadInstance(t, "x").address(true) + "/eureka"
	var gotPath, gotType string
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotPath, gotType = r.URL.RequestURI(), r.Header.Get("Content-Type")
		switch {
		case strings.Contains(r.URL.Path, "/broken"):
			w.WriteHeader(http.StatusInternalServerError)
		case r.Method == http.MethodPost:
			w.WriteHeader(http.StatusNoContent)
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	defer fake.Close()
	ctx := context.Background()

	s := newEurekaServers([]string{dead, fake.URL + "/eureka"}, time.Second)
	server, err := s.register(ctx, instanceInfo(Config{AppName: "SVC", InstanceHost: "h", InstanceIP: "127.0.0.1", Port: 80,
		RenewalInterval: time.Second, LeaseDuration: 3 * time.Second}, "v", time.Now(), StatusUp))
	if err != nil || server != fake.URL+"/eureka" {
		t.Fatalf("register: %q, %v; want success at the second server", server, err)
	}
	if gotPath != "/eureka/apps/SVC" || gotType != "application/json" {
		t.Errorf("register sent %s as %s", gotPath, gotType)
	}

	if _, err := s.heartbeat(ctx, "SVC", "h:svc:80"); !errors.Is(err, ErrInstanceNotFound) {
		t.Errorf("heartbeat on 404: %v, want ErrInstanceNotFound", err)
	}
	if err := s.setStatus(ctx, "SVC", "h:svc:80", StatusDown); !errors.Is(err, ErrInstanceNotFound) {
		t.Errorf("status on 404: %v, want ErrInstanceNotFound", err)
	}
	if gotPath != "/eureka/apps/SVC/h:svc:80/status?value=DOWN" {
		t.Errorf("status update sent %s", gotPath)
	}
	if err := s.deregister(ctx, "SVC", "h:svc:80"); err != nil {
		t.Errorf("deregister on 404 (already gone): %v", err)
	}
	var statusErr *StatusError
	if _, err := s.heartbeat(ctx, "SVC", "broken"); !errors.As(err, &statusErr) || statusErr.Code != 500 {
		t.Errorf("heartbeat on 500: %v, want StatusError 500", err)
	}

	onlyDead := newEurekaServers([]string{dead}, time.Second)
	if _, err := onlyDead.heartbeat(ctx, "SVC", "x"); !errors.Is(err, ErrUnreachable) {
		t.Errorf("all servers down: %v, want ErrUnreachable", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.heartbeat(cancelled, "SVC", "x"); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled ctx: %v, want context.Canceled", err)
	}
}

// TestStatusPage: the call goes to the status page each instance
// registered (Spring's /actuator/info, /info when none), as it is, fails
// over to the next instance when one refuses, and reports which answered.
func TestStatusPage(t *testing.T) {
	page := func(name string) (Instance, string) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			io.WriteString(w, name+" "+r.URL.Path)
		}))
		t.Cleanup(srv.Close)
		return instanceAt(t, name, srv.Listener.Addr().String()), srv.URL
	}
	spring, springURL := page("spring")
	spring.StatusPageURL = springURL + "/actuator/info"
	plain, _ := page("plain") // registered no statusPageUrl
	dead := deadInstance(t, "dead")
	dead.StatusPageURL = "http://" + dead.address(true) + "/info"
	odd, _ := page("odd")
	odd.StatusPageURL = "ftp://example/info"
	// Registered by a host name that does not resolve here, and its IP.
	named, namedURL := page("named")
	named.HostName = "peer-host.invalid"
	named.StatusPageURL = strings.Replace(namedURL, "127.0.0.1", "peer-host.invalid", 1) + "/actuator/info"

	tests := []struct {
		name      string
		instances []Instance
		want      []string // answers of successive calls; "error:..." for an error
	}{
		{"registered URL", []Instance{spring}, []string{"spring /actuator/info"}},
		{"no URL registered: /info", []Instance{plain}, []string{"plain /info"}},
		{"a refusing instance is skipped", []Instance{dead, spring}, []string{"spring /actuator/info", "spring /actuator/info"}},
		{"only refusing instances", []Instance{dead}, []string{"error:connection refused"}},
		{"unusable URL", []Instance{odd}, []string{"error:unusable statusPageUrl"}},
		{"by host name", []Instance{named}, []string{"error:peer-host.invalid"}},
		{"by IP when preferred", []Instance{named}, []string{"named /actuator/info"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := cachedRegistry(t, "svc", tt.instances...)
			reg.cfg.PreferIPAddress = strings.Contains(tt.name, "by IP")
			tr := NewTransport(reg, nil)
			for i, want := range tt.want {
				resp, inst, err := tr.StatusPage(context.Background(), "svc")
				if wantErr, ok := strings.CutPrefix(want, "error:"); ok {
					if err == nil || !strings.Contains(err.Error(), wantErr) {
						t.Fatalf("call %d: error %v, want one with %q", i, err, wantErr)
					}
					continue
				}
				if err != nil {
					t.Fatalf("call %d: %v", i, err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if string(body) != want || !strings.HasPrefix(want, inst.InstanceID+" ") {
					t.Errorf("call %d: %q from instance %q, want %q", i, body, inst.InstanceID, want)
				}
			}
		})
	}
}
