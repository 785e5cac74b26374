package metrics

import (
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/osms/sports-service/internal/clientip"
	"github.com/penglongli/gin-metrics/bloom"
	"github.com/prometheus/client_golang/prometheus"
)

// The series of gin-metrics v0.1.13 that its interceptor records (its names
// are unexported there).
const (
	metricRequests      = "gin_request_total"
	metricVisitors      = "gin_request_uv_total"
	metricRouteRequests = "gin_uri_request_total"
	metricRequestBytes  = "gin_request_body_total"
	metricResponseBytes = "gin_response_body_total"
	metricDuration      = "gin_request_duration"
	metricSlowRequests  = "gin_slow_request_total"
)

// requestRecorder records each request in gin-metrics' own series, as
// gin-metrics' interceptor (ginMetricHandle) does, at a fraction of its cost
// per request (issue #27): the interceptor looks up each of its metrics by
// name, builds label slices, formats the status code and hashes four label
// sets on every request. Here the series without labels are resolved once,
// those of a route, method and status once per combination, and the
// unique-visitor filter is locked, which gin-metrics' is not.
//
// gin-metrics still defines and registers every series (names, help texts,
// labels, buckets): the recorder finds its collectors on the default
// registry. The one difference: the four series without labels exist from
// the start, at 0, instead of from the first request.
type requestRecorder struct {
	metricPath  string
	slowSeconds int32

	requests, visitors, requestBytes, responseBytes prometheus.Counter
	slowRequests                                    *prometheus.CounterVec
	routeRequests                                   *prometheus.CounterVec
	durations                                       *prometheus.HistogramVec
	inFlight                                        *prometheus.GaugeVec

	// routes holds the *routeSeries of each routeKey seen, inFlightGauges
	// the gauge of each route and method (status 0).
	routes, inFlightGauges sync.Map

	visitorsMu sync.Mutex
	seen       *bloom.BloomFilter // client IPs counted in visitors
}

type routeKey struct {
	route, method string
	status        int
}

type routeSeries struct {
	requests prometheus.Counter
	duration prometheus.Observer
}

// registered returns the collector registered on the default registry with
// probe's descriptors: gin-metrics', found through the registry's
// AlreadyRegisteredError, whose purpose that is.
func registered[C prometheus.Collector](probe C) (C, error) {
	err := prometheus.DefaultRegisterer.Register(probe)
	var already prometheus.AlreadyRegisteredError
	if errors.As(err, &already) {
		if existing, ok := already.ExistingCollector.(C); ok {
			return existing, nil
		}
		return probe, fmt.Errorf("registered as a %T, not a %T", already.ExistingCollector, probe)
	}
	if err == nil {
		prometheus.DefaultRegisterer.Unregister(probe)
		return probe, errors.New("not registered")
	}
	return probe, err
}

func newRequestRecorder(lookup func(name string) (help string, labels []string, buckets []float64), settings ginMonitorSettings) (*requestRecorder, error) {
	r := &requestRecorder{metricPath: settings.path, slowSeconds: int32(settings.slowSeconds), seen: bloom.NewBloomFilter()}
	// The counters with labels, and those without, whose one series each
	// is resolved now.
	counters := []struct {
		name       string
		vec        **prometheus.CounterVec
		unlabelled *prometheus.Counter
	}{
		{name: metricRouteRequests, vec: &r.routeRequests},
		{name: metricSlowRequests, vec: &r.slowRequests},
		{name: metricRequests, unlabelled: &r.requests},
		{name: metricVisitors, unlabelled: &r.visitors},
		{name: metricRequestBytes, unlabelled: &r.requestBytes},
		{name: metricResponseBytes, unlabelled: &r.responseBytes},
	}
	for _, c := range counters {
		help, labels, _ := lookup(c.name)
		vec, err := registered(prometheus.NewCounterVec(prometheus.CounterOpts{Name: c.name, Help: help}, labels))
		if err != nil {
			return nil, fmt.Errorf("find gin-metrics' %s: %w", c.name, err)
		}
		if c.vec != nil {
			*c.vec = vec
		} else if *c.unlabelled, err = vec.GetMetricWithLabelValues(); err != nil {
			return nil, fmt.Errorf("gin-metrics' %s has labels: %w", c.name, err)
		}
	}
	help, labels, buckets := lookup(metricDuration)
	durations, err := registered(prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: metricDuration, Help: help, Buckets: buckets}, labels))
	if err != nil {
		return nil, fmt.Errorf("find gin-metrics' %s: %w", metricDuration, err)
	}
	r.durations = durations
	help, labels, _ = lookup(metricInFlight)
	if r.inFlight, err = registered(prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: metricInFlight, Help: help}, labels)); err != nil {
		return nil, fmt.Errorf("find %s: %w", metricInFlight, err)
	}
	return r, nil
}

// record is the interceptor: gin-metrics' ginMetricHandle, series by
// series.
func (r *requestRecorder) record(c *gin.Context) {
	if c.Request.URL.Path == r.metricPath {
		c.Next()
		return
	}
	start := time.Now()
	c.Next()

	req := c.Request
	r.requests.Inc()
	r.countVisitor(clientip.Of(c))
	key := routeKey{route: c.FullPath(), method: req.Method, status: c.Writer.Status()}
	series := r.seriesOf(key)
	series.requests.Inc()
	if req.ContentLength >= 0 {
		r.requestBytes.Add(float64(req.ContentLength))
	}
	latency := time.Since(start)
	if int32(latency.Seconds()) > r.slowSeconds {
		r.slowRequests.WithLabelValues(key.route, key.method, strconv.Itoa(key.status)).Inc()
	}
	series.duration.Observe(latency.Seconds())
	if size := c.Writer.Size(); size > 0 {
		r.responseBytes.Add(float64(size))
	}
}

func (r *requestRecorder) seriesOf(key routeKey) *routeSeries {
	if s, ok := r.routes.Load(key); ok {
		return s.(*routeSeries)
	}
	s := &routeSeries{
		requests: r.routeRequests.WithLabelValues(key.route, key.method, strconv.Itoa(key.status)),
		duration: r.durations.WithLabelValues(key.route),
	}
	actual, _ := r.routes.LoadOrStore(key, s)
	return actual.(*routeSeries)
}

// countVisitor counts ip in gin_request_uv_total the first time the filter
// sees it, as gin-metrics does (an empty ip every time, as there). The ip is
// gin's ClientIP, as there, without gin's parsing of the peer's address
// (clientip.Of).
func (r *requestRecorder) countVisitor(ip string) {
	r.visitorsMu.Lock()
	defer r.visitorsMu.Unlock()
	if !r.seen.Contains(ip) {
		r.seen.Add(ip)
		r.visitors.Inc()
	}
}

// inFlightOf is the gin_requests_in_flight gauge of route and method.
func (r *requestRecorder) inFlightOf(route, method string) prometheus.Gauge {
	key := routeKey{route: route, method: method}
	if g, ok := r.inFlightGauges.Load(key); ok {
		return g.(prometheus.Gauge)
	}
	g, _ := r.inFlightGauges.LoadOrStore(key, r.inFlight.WithLabelValues(route, method))
	return g.(prometheus.Gauge)
}
