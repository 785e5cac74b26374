package metrics

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"go.mongodb.org/mongo-driver/v2/event"
)

// Command outcomes.
const (
	outcomeSuccess = "success"
	outcomeFailure = "failure"
)

// mongoMetrics counts MongoDB commands and tracks the connection pool.
// Command names come from the driver, so the label set stays small.
type mongoMetrics struct {
	commands *prometheus.CounterVec
	duration *prometheus.HistogramVec

	open    atomic.Int64 // connections created and not closed
	inUse   atomic.Int64 // connections checked out
	waiting atomic.Int64 // check-outs started and not finished
}

func newMongoMetrics(reg prometheus.Registerer) (*mongoMetrics, error) {
	m := &mongoMetrics{
		commands: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mongodb_driver_commands_total",
			Help: "MongoDB commands completed, by command name and outcome (success or failure).",
		}, []string{"command", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "mongodb_driver_command_duration_seconds",
			Help:    "Time MongoDB commands took, from the driver's view, by command name and outcome.",
			Buckets: durationBuckets(),
		}, []string{"command", "outcome"}),
	}
	gauge := func(name, help string, value func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, value)
	}
	collectors := []prometheus.Collector{
		m.commands,
		m.duration,
		gauge("mongodb_driver_pool_connections", "Open connections in the MongoDB connection pools.",
			func() float64 { return float64(m.open.Load()) }),
		gauge("mongodb_driver_pool_connections_in_use", "MongoDB connections checked out of the pools.",
			func() float64 { return float64(m.inUse.Load()) }),
		gauge("mongodb_driver_pool_connections_idle", "Open MongoDB connections not checked out.",
			func() float64 { return float64(max(0, m.open.Load()-m.inUse.Load())) }),
		gauge("mongodb_driver_pool_waiting", "Requests waiting to check a MongoDB connection out.",
			func() float64 { return float64(m.waiting.Load()) }),
	}
	for _, c := range collectors {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register mongodb metrics: %w", err)
		}
	}
	return m, nil
}

// CommandMonitor returns the driver command monitor feeding the command
// metrics; combine it with the tracing one (telemetry.CombineCommandMonitors)
// since a client takes a single monitor.
func (m *Metrics) CommandMonitor() *event.CommandMonitor {
	return &event.CommandMonitor{
		Succeeded: func(_ context.Context, e *event.CommandSucceededEvent) {
			m.mongo.observe(e.CommandName, outcomeSuccess, e.Duration.Seconds())
		},
		Failed: func(_ context.Context, e *event.CommandFailedEvent) {
			m.mongo.observe(e.CommandName, outcomeFailure, e.Duration.Seconds())
		},
	}
}

func (m *mongoMetrics) observe(command, outcome string, seconds float64) {
	m.commands.WithLabelValues(command, outcome).Inc()
	m.duration.WithLabelValues(command, outcome).Observe(seconds)
}

// PoolMonitor returns the driver pool monitor feeding the pool gauges
// (options.Client().SetPoolMonitor).
func (m *Metrics) PoolMonitor() *event.PoolMonitor {
	return &event.PoolMonitor{Event: m.mongo.poolEvent}
}

func (m *mongoMetrics) poolEvent(e *event.PoolEvent) {
	switch e.Type {
	case event.ConnectionCreated:
		m.open.Add(1)
	case event.ConnectionClosed:
		m.open.Add(-1)
	case event.ConnectionCheckOutStarted:
		m.waiting.Add(1)
	case event.ConnectionCheckedOut:
		m.waiting.Add(-1)
		m.inUse.Add(1)
	case event.ConnectionCheckOutFailed:
		m.waiting.Add(-1)
	case event.ConnectionCheckedIn:
		m.inUse.Add(-1)
	}
}
