// Package metrics exposes the service's Prometheus metrics: HTTP metrics
// from gin-metrics plus an in-flight gauge, Go runtime and process
// metrics, and MongoDB driver command and pool metrics. Every series
// carries the app_name label.
package metrics

import (
	"fmt"
	"net/http"
	"slices"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"

	"github.com/osms/sports-service/internal/httpmethod"
)

// LabelAppName is the label that tells apart the apps scraped together.
const LabelAppName = "app_name"

// Metrics serves the metrics of one service instance.
//
// HTTP metrics come from gin-metrics, whose series live on Prometheus'
// default registry and are therefore shared by every Metrics of a process
// (tests that count them should compare before and after). The MongoDB
// metrics live on a registry of each Metrics.
type Metrics struct {
	cfg      Config
	gin      *ginMonitor
	registry *prometheus.Registry
	gatherer prometheus.Gatherer
	mongo    *mongoMetrics
}

// New prepares the metrics. The gin-metrics part is configured on the first
// call in a process; later calls must pass the same Path and SlowSeconds.
func New(cfg Config) (*Metrics, error) {
	if cfg.AppName == "" {
		cfg.AppName = DefaultAppName
	}
	if cfg.Path == "" {
		cfg.Path = DefaultPath
	}
	gm, err := processGinMonitor(ginMonitorSettings{path: cfg.Path, slowSeconds: cfg.SlowSeconds})
	if err != nil {
		return nil, fmt.Errorf("set up gin-metrics: %w", err)
	}
	registry := prometheus.NewRegistry()
	mongo, err := newMongoMetrics(registry)
	if err != nil {
		return nil, err
	}
	return &Metrics{
		cfg:      cfg,
		gin:      gm,
		registry: registry,
		// The default registry holds gin-metrics' series and the Go
		// runtime and process collectors that client_golang registers.
		gatherer: appLabelGatherer{
			gatherer: prometheus.Gatherers{prometheus.DefaultGatherer, registry},
			appName:  cfg.AppName,
		},
		mongo: mongo,
	}, nil
}

// Use installs the HTTP metrics on the whole engine and serves the
// exposition at the configured path (default /metrics). Call it before
// registering routes, sub-app mounts included: gin runs only the
// middlewares registered before a route. Series are labelled by route
// template (gin's FullPath, "" for requests that matched no route), never
// by raw path.
func (m *Metrics) Use(engine *gin.Engine) {
	engine.Use(m.trackInFlight, m.gin.recorder.record, normalizeMethod)
	engine.GET(m.cfg.Path, gin.WrapH(m.Handler()))
}

// Handler serves the exposition, for mounting it elsewhere.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.gatherer, promhttp.HandlerOpts{})
}

// Gatherer returns everything that Handler exposes.
func (m *Metrics) Gatherer() prometheus.Gatherer { return m.gatherer }

// trackInFlight runs outermost: it counts the request while the rest of the
// chain runs, and restores the method that normalizeMethod may replace.
func (m *Metrics) trackInFlight(c *gin.Context) {
	if c.Request.URL.Path == m.cfg.Path {
		c.Next()
		return
	}
	method := c.Request.Method
	inFlight := m.gin.recorder.inFlightOf(c.FullPath(), httpmethod.Normalize(method))
	inFlight.Inc()
	defer func() {
		inFlight.Dec()
		c.Request.Method = method
	}()
	c.Next()
}

// normalizeMethod runs inside gin-metrics' interceptor and, once the
// handlers are done, replaces a non-standard method before the interceptor
// reads it for its method label, so that clients cannot mint series.
func normalizeMethod(c *gin.Context) {
	c.Next()
	c.Request.Method = httpmethod.Normalize(c.Request.Method)
}

// appLabelGatherer adds app_name to every series that lacks it: a constant
// label applied at exposition, since gin-metrics offers no way to set one.
type appLabelGatherer struct {
	gatherer prometheus.Gatherer
	appName  string
}

func (g appLabelGatherer) Gather() ([]*dto.MetricFamily, error) {
	families, err := g.gatherer.Gather()
	for _, family := range families {
		for _, metric := range family.Metric {
			if slices.ContainsFunc(metric.Label, func(l *dto.LabelPair) bool { return l.GetName() == LabelAppName }) {
				continue
			}
			metric.Label = append(metric.Label, &dto.LabelPair{Name: proto.String(LabelAppName), Value: proto.String(g.appName)})
			slices.SortFunc(metric.Label, func(a, b *dto.LabelPair) int {
				switch {
				case a.GetName() < b.GetName():
					return -1
				case a.GetName() > b.GetName():
					return 1
				}
				return 0
			})
		}
	}
	return families, err
}

// Register adds a collector of the service's own (its series get the
// app_name label like the others).
func (m *Metrics) Register(c prometheus.Collector) error {
	if err := m.registry.Register(c); err != nil {
		return fmt.Errorf("register collector: %w", err)
	}
	return nil
}
