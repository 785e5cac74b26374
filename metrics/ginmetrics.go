package metrics

import (
	"fmt"
	"sync"

	"github.com/gin-gonic/gin"
	"github.com/penglongli/gin-metrics/ginmetrics"
)

// gin-metrics v0.1.13 keeps one process-wide monitor (ginmetrics.GetMonitor,
// not safe for concurrent use) whose metrics it registers, once, on
// Prometheus' default registry, with the settings in force at that moment;
// calling its Use again would swap a global bloom filter under running
// engines. So it is configured exactly once per process, here, and every
// Metrics shares the result. This file is the only one that touches it.

// durationBuckets span 1 ms to 10 s, for requests and MongoDB commands.
func durationBuckets() []float64 {
	return []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}
}

// metricInFlight is our custom gauge; gin-metrics has none.
const metricInFlight = "gin_requests_in_flight"

// ginMonitorSettings are the parts of Config that gin-metrics bakes in.
type ginMonitorSettings struct {
	path        string
	slowSeconds int
}

// ginMonitor is what the process-wide monitor offers to each Metrics.
type ginMonitor struct {
	settings ginMonitorSettings
	// recorder records the request after the handlers ran, in gin-metrics'
	// series (requestRecorder), and counts the requests in flight.
	recorder *requestRecorder
	// libraryInterceptor is gin-metrics' own middleware, which recorder
	// replaces on the request path; its test checks that the two record
	// the same.
	libraryInterceptor gin.HandlerFunc
}

var (
	ginMonitorOnce   sync.Once
	sharedGinMonitor *ginMonitor
	ginMonitorErr    error
)

// processGinMonitor configures gin-metrics on first use and returns it; a
// later call asking for other settings gets an error, since they can no
// longer change.
func processGinMonitor(settings ginMonitorSettings) (*ginMonitor, error) {
	ginMonitorOnce.Do(func() {
		sharedGinMonitor, ginMonitorErr = newGinMonitor(settings)
	})
	if ginMonitorErr != nil {
		return nil, ginMonitorErr
	}
	if sharedGinMonitor.settings != settings {
		return nil, fmt.Errorf("gin-metrics is configured once per process, already with path %q and slow threshold %ds",
			sharedGinMonitor.settings.path, sharedGinMonitor.settings.slowSeconds)
	}
	return sharedGinMonitor, nil
}

func newGinMonitor(settings ginMonitorSettings) (*ginMonitor, error) {
	monitor := ginmetrics.GetMonitor()
	// Its exclusion of the metrics path compares the raw URL path.
	monitor.SetMetricPath(settings.path)
	monitor.SetSlowTime(int32(settings.slowSeconds))
	monitor.SetDuration(durationBuckets())

	// UseWithoutExposingEndpoint registers the metrics and appends the
	// interceptor to the routes given; a bare router group catches it so
	// each engine can install it without re-running the registration.
	var catcher gin.RouterGroup
	monitor.UseWithoutExposingEndpoint(&catcher)
	if len(catcher.Handlers) != 1 {
		return nil, fmt.Errorf("gin-metrics installed %d handlers, expected its one interceptor", len(catcher.Handlers))
	}

	err := monitor.AddMetric(&ginmetrics.Metric{
		Type:        ginmetrics.Gauge,
		Name:        metricInFlight,
		Description: "the requests being served now, by route template and method.",
		Labels:      []string{"uri", "method"},
	})
	if err != nil {
		return nil, fmt.Errorf("register %s: %w", metricInFlight, err)
	}
	recorder, err := newRequestRecorder(func(name string) (string, []string, []float64) {
		m := monitor.GetMetric(name)
		return m.Description, m.Labels, m.Buckets
	}, settings)
	if err != nil {
		return nil, err
	}
	return &ginMonitor{settings: settings, recorder: recorder, libraryInterceptor: catcher.Handlers[0]}, nil
}
