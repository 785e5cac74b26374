package discovery

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// Transport is an http.RoundTripper for URLs whose host is an application
// name, http://SPORTS_SERVICE/path: it sends the request to one UP instance
// of that app from the registry cache, picked by the configured load
// balancer. If the instance cannot be reached and the request is idempotent,
// it tries the next instance; a non-idempotent request is never sent twice,
// since the first one may have been processed.
type Transport struct {
	registry *Registry
	base     http.RoundTripper
	balancer balancer
	preferIP bool
	log      *slog.Logger
}

// NewTransport returns a Transport over base (http.DefaultTransport if nil).
func NewTransport(registry *Registry, base http.RoundTripper) *Transport {
	if base == nil {
		base = http.DefaultTransport
	}
	return &Transport{
		registry: registry,
		base:     base,
		balancer: newBalancer(registry.cfg.LoadBalancer),
		preferIP: registry.cfg.PreferIPAddress,
		log:      registry.log,
	}
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, _, err := t.send(req, req.URL.Hostname(), func(inst Instance, out *http.Request) error {
		out.URL.Host = inst.address(t.preferIP)
		return nil
	})
	return resp, err
}

// StatusPage GETs the registered statusPageUrl of one UP instance of app
// (http://host:port/info when the instance registered none), as it is but
// for the host, which becomes the instance's IP when calling by IP, trying the next instance when one cannot be reached. Redirects are not
// followed: the caller gets what the instance answered. It returns the
// instance that answered; the caller closes the body.
func (t *Transport) StatusPage(ctx context.Context, app string) (*http.Response, Instance, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+url.PathEscape(app)+StatusPagePath, nil)
	if err != nil {
		return nil, Instance{}, fmt.Errorf("discovery: build request: %w", err)
	}
	return t.send(req, app, func(inst Instance, out *http.Request) error {
		target := inst.StatusPageURL
		if target == "" {
			target = "http://" + inst.address(t.preferIP) + StatusPagePath
		}
		u, err := url.Parse(target)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("discovery: %s registered an unusable statusPageUrl %q", inst.InstanceID, target)
		}
		// Calling by IP (EUREKA_PREFER_IP_ADDRESS) applies to the URL too:
		// a peer's host name may not resolve from here.
		if t.preferIP && inst.IPAddr != "" && u.Hostname() == inst.HostName {
			host := inst.IPAddr
			if port := u.Port(); port != "" {
				host = net.JoinHostPort(inst.IPAddr, port)
			} else if strings.Contains(host, ":") {
				host = "[" + host + "]" // IPv6
			}
			u.Host = host
		}
		out.URL = u
		return nil
	})
}

// send sends req to one UP instance of app after target has pointed the
// copy at it; see Transport.
func (t *Transport) send(req *http.Request, app string, target func(Instance, *http.Request) error) (*http.Response, Instance, error) {
	if req.Body != nil {
		// The RoundTripper contract: close the body even on error. Our own
		// retries read the body through GetBody.
		defer req.Body.Close()
	}
	instances, err := t.registry.upInstances(req.Context(), app)
	if err != nil {
		return nil, Instance{}, fmt.Errorf("discovery: %s %s: %w", req.Method, app, err)
	}
	retry := isIdempotent(req) && (req.Body == nil || req.Body == http.NoBody || req.GetBody != nil)
	start := t.balancer.start(app, len(instances))

	var errs []error
	for i := range instances {
		inst := instances[(start+i)%len(instances)]
		out, err := instanceRequest(req, i > 0)
		if err != nil {
			return nil, inst, err
		}
		if err := target(inst, out); err != nil {
			return nil, inst, err
		}
		resp, err := t.base.RoundTrip(out)
		if err == nil {
			return resp, inst, nil
		}
		errs = append(errs, fmt.Errorf("%s (%s): %w", inst.InstanceID, out.URL.Host, err))
		if !retry || req.Context().Err() != nil {
			break
		}
		t.log.Warn("instance unreachable; trying the next one", "app", app, "instance", inst.InstanceID, "error", err)
	}
	return nil, Instance{}, fmt.Errorf("discovery: %s %s: %w", req.Method, app, errors.Join(errs...))
}

// instanceRequest copies req for one instance; a retry gets a fresh body.
func instanceRequest(req *http.Request, rewind bool) (*http.Request, error) {
	out := req.Clone(req.Context())
	out.Host = ""
	if rewind && req.GetBody != nil {
		body, err := req.GetBody()
		if err != nil {
			return nil, fmt.Errorf("discovery: rewind request body: %w", err)
		}
		out.Body = body
	}
	if !rewind && req.Body != nil {
		// The first attempt reads the caller's body; keep it open for
		// RoundTrip's deferred Close, which owns it.
		out.Body = io.NopCloser(req.Body)
	}
	return out, nil
}

// isIdempotent follows RFC 9110 section 9.2.2 and net/http: the idempotent
// methods, or any request that carries an idempotency key.
func isIdempotent(req *http.Request) bool {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodPut, http.MethodDelete:
		return true
	}
	_, key := req.Header["Idempotency-Key"]
	_, xKey := req.Header["X-Idempotency-Key"]
	return key || xKey
}

// Client sends requests to applications by name.
type Client struct {
	http      *http.Client
	transport *Transport
}

// NewClient returns a client whose requests go through a Transport over
// base (http.DefaultTransport if nil).
func NewClient(registry *Registry, base http.RoundTripper) *Client {
	t := NewTransport(registry, base)
	return &Client{http: &http.Client{Transport: t}, transport: t}
}

// Do sends method path (with body, may be nil) to one UP instance of app and
// returns its response; the caller closes the body. Connection failures are
// retried on the next instance for idempotent methods only.
func (c *Client) Do(ctx context.Context, app, method, path string, body []byte) (*http.Response, error) {
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	u := &url.URL{Scheme: "http", Host: strings.ToLower(app), Path: path}
	if p, q, ok := strings.Cut(path, "?"); ok {
		u.Path, u.RawQuery = p, q
	}
	var reader io.Reader
	if body != nil {
		// bytes.Reader gives the request a GetBody, so it can be re-sent.
		reader = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), reader)
	if err != nil {
		return nil, fmt.Errorf("discovery: build request: %w", err)
	}
	return c.http.Do(req)
}

// StatusPage GETs the status page of one UP instance of app; see
// Transport.StatusPage.
func (c *Client) StatusPage(ctx context.Context, app string) (*http.Response, Instance, error) {
	return c.transport.StatusPage(ctx, app)
}

// HTTPClient is the underlying client, for code that builds its own
// requests to http://APPNAME/... URLs.
func (c *Client) HTTPClient() *http.Client { return c.http }
