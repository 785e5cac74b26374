package discovery

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/ArthurHlt/go-eureka-client/eureka"
)

// ErrInstanceNotFound means Eureka answered 404 for our instance: it does not
// know it (restarted, or evicted it), so the instance must register again.
var ErrInstanceNotFound = errors.New("eureka does not know the instance")

// ErrUnreachable is wrapped when no configured Eureka server answered.
var ErrUnreachable = errors.New("no eureka server answered")

// StatusError is an answer from Eureka with an unexpected HTTP status.
type StatusError struct {
	Op     string
	Server string
	Code   int
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("eureka %s at %s: HTTP %d", e.Op, e.Server, e.Code)
}

// eurekaServers sends requests to the configured Eureka servers through
// go-eureka-client, one library client per server so that we, not the
// library, decide the order: the server that answered last is tried first,
// then the others in configuration order.
//
// What go-eureka-client v1.1.0 does, and how it is wrapped:
//   - It sends JSON bodies (Content-Type: application/json) and no Accept
//     header, so Eureka answers reads in XML; its Applications type has the
//     XML tags, so we decode XML too.
//   - Its high-level calls treat 400, 403, 404 and 412 as success
//     (RegisterInstance, UnregisterInstance) and only SendHeartbeat maps 404.
//     We call its Post/Put/Delete/Get and check the status code ourselves.
//   - It has no status update call; PUT and DELETE on .../status?value=X go
//     through its Put and Delete, which keep a query string intact.
//   - Its retry loop (DefaultCheckRetry) sleeps and switches "leader"; we set
//     CheckRetry to give up at once and do the failover here.
//   - It takes no context; a call runs in a goroutine bounded by the
//     transport's timeouts, and we stop waiting when ctx is done.
//   - It logs through logrus' global logger; that is left as it is.
type eurekaServers struct {
	urls    []string
	clients []*eureka.Client
	timeout time.Duration

	mu        sync.Mutex
	preferred int // index of the server that answered last
}

func newEurekaServers(urls []string, timeout time.Duration) *eurekaServers {
	s := &eurekaServers{urls: urls, timeout: timeout}
	for _, u := range urls {
		c := eureka.NewClient([]string{u})
		c.CheckRetry = func(_ *eureka.Cluster, _ int, resp http.Response, err error) error {
			if resp.StatusCode != 0 {
				return &StatusError{Server: u, Code: resp.StatusCode}
			}
			return err
		}
		dialer := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
		c.SetTransport(&http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           dialer.DialContext,
			ResponseHeaderTimeout: timeout,
			IdleConnTimeout:       90 * time.Second,
			MaxIdleConnsPerHost:   2,
		})
		s.clients = append(s.clients, c)
	}
	return s
}

// request is one call to send to a Eureka server.
type request struct {
	op     string // for errors and logs: "register", "heartbeat", ...
	method string
	path   string // relative to the service URL, e.g. apps/APP/ID
	body   []byte
	// ok lists the status codes that mean success.
	ok []int
}

// send tries the servers in turn until one answers. An answer with a status
// that is not in req.ok ends the attempt: another peer would answer the same.
// It returns the URL of the server that answered.
func (s *eurekaServers) send(ctx context.Context, req request) (*eureka.RawResponse, string, error) {
	s.mu.Lock()
	first := s.preferred
	s.mu.Unlock()

	var errs []error
	for i := range s.clients {
		if err := ctx.Err(); err != nil {
			return nil, "", fmt.Errorf("eureka %s: %w", req.op, err)
		}
		idx := (first + i) % len(s.clients)
		resp, err := s.sendTo(ctx, idx, req)
		var statusErr *StatusError
		switch {
		case err == nil:
		case errors.As(err, &statusErr):
			// The library reports 5xx and other unlisted codes this way.
			statusErr.Op = req.op
			s.setPreferred(idx)
			return nil, s.urls[idx], statusErr
		default:
			errs = append(errs, fmt.Errorf("%s: %w", s.urls[idx], err))
			continue
		}
		s.setPreferred(idx)
		if resp.StatusCode == http.StatusNotFound && !containsCode(req.ok, http.StatusNotFound) {
			return resp, s.urls[idx], fmt.Errorf("eureka %s at %s: %w", req.op, s.urls[idx], ErrInstanceNotFound)
		}
		if !containsCode(req.ok, resp.StatusCode) {
			return resp, s.urls[idx], &StatusError{Op: req.op, Server: s.urls[idx], Code: resp.StatusCode}
		}
		return resp, s.urls[idx], nil
	}
	return nil, "", fmt.Errorf("eureka %s: %w: %w", req.op, ErrUnreachable, errors.Join(errs...))
}

func (s *eurekaServers) setPreferred(idx int) {
	s.mu.Lock()
	s.preferred = idx
	s.mu.Unlock()
}

func (s *eurekaServers) sendTo(ctx context.Context, idx int, req request) (*eureka.RawResponse, error) {
	type result struct {
		resp *eureka.RawResponse
		err  error
	}
	// Buffered so the goroutine can finish after we stopped waiting; the
	// transport's timeouts bound how long it may run.
	done := make(chan result, 1)
	c := s.clients[idx]
	go func() {
		var r result
		switch req.method {
		case http.MethodGet:
			r.resp, r.err = c.Get(req.path)
		case http.MethodPost:
			r.resp, r.err = c.Post(req.path, req.body)
		case http.MethodPut:
			r.resp, r.err = c.Put(req.path, req.body)
		case http.MethodDelete:
			r.resp, r.err = c.Delete(req.path)
		default:
			r.err = fmt.Errorf("method %s not supported", req.method)
		}
		done <- r
	}()
	select {
	case r := <-done:
		return r.resp, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func containsCode(codes []int, code int) bool {
	for _, c := range codes {
		if c == code {
			return true
		}
	}
	return false
}

func instancePath(app, id string) string {
	return "apps/" + url.PathEscape(app) + "/" + url.PathEscape(id)
}

// register sends the instance (POST /apps/APP); Eureka answers 204.
func (s *eurekaServers) register(ctx context.Context, info *eureka.InstanceInfo) (string, error) {
	body, err := json.Marshal(eureka.Instance{Instance: info})
	if err != nil {
		return "", fmt.Errorf("encode instance: %w", err)
	}
	_, server, err := s.send(ctx, request{
		op: "register", method: http.MethodPost, path: "apps/" + url.PathEscape(info.App), body: body,
		ok: []int{http.StatusNoContent, http.StatusOK},
	})
	return server, err
}

// heartbeat renews the lease (PUT /apps/APP/ID); 404 means register again.
func (s *eurekaServers) heartbeat(ctx context.Context, app, id string) (string, error) {
	_, server, err := s.send(ctx, request{
		op: "heartbeat", method: http.MethodPut, path: instancePath(app, id),
		ok: []int{http.StatusOK},
	})
	return server, err
}

// setStatus changes the instance's status. DOWN and OUT_OF_SERVICE are set
// as an override (PUT .../status?value=X) that survives our own heartbeats;
// UP removes the override (DELETE .../status?value=UP). Overriding to UP
// instead would pin UP and hide a later DOWN re-registration.
func (s *eurekaServers) setStatus(ctx context.Context, app, id, status string) error {
	method := http.MethodPut
	if status == eureka.UP {
		method = http.MethodDelete
	}
	_, _, err := s.send(ctx, request{
		op: "status " + status, method: method,
		path: instancePath(app, id) + "/status?value=" + url.QueryEscape(status),
		ok:   []int{http.StatusOK},
	})
	return err
}

// deregister deletes the instance (DELETE /apps/APP/ID). 404 counts as done:
// the instance is gone either way.
func (s *eurekaServers) deregister(ctx context.Context, app, id string) error {
	_, _, err := s.send(ctx, request{
		op: "deregister", method: http.MethodDelete, path: instancePath(app, id),
		ok: []int{http.StatusOK, http.StatusNotFound},
	})
	return err
}

// applications fetches the full registry (GET /apps), decoded from the XML
// that Eureka sends when no Accept header is given.
func (s *eurekaServers) applications(ctx context.Context) (*eureka.Applications, error) {
	resp, _, err := s.send(ctx, request{
		op: "fetch registry", method: http.MethodGet, path: "apps",
		ok: []int{http.StatusOK},
	})
	if err != nil {
		return nil, err
	}
	apps := new(eureka.Applications)
	if err := xml.Unmarshal(resp.Body, apps); err != nil {
		return nil, fmt.Errorf("decode eureka registry: %w", err)
	}
	return apps, nil
}

// normalizeApp is how Eureka keys applications.
func normalizeApp(app string) string { return strings.ToUpper(app) }
