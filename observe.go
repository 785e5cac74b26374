package main

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/osms/sports-service/discovery"
	"github.com/osms/sports-service/metrics"
)

// Series for the alert rules of observability/rules: whether the database
// answers (the readiness probe's ping, run at scrape time) and how the
// Eureka registrations fare. The driver's own metrics cannot say "down":
// with no server to select, the driver sends no command, so no failure is
// counted.
const (
	metricDatabaseUp          = "sports_service_database_up"
	metricRegistrationFailing = "eureka_registration_consecutive_failures"
	metricRegistrationBeat    = "eureka_registration_last_heartbeat_timestamp_seconds"
)

// registerHealthMetrics adds the collectors to monitor; ping has its own
// deadline (the readiness probe's).
func registerHealthMetrics(monitor *metrics.Metrics, ping func(context.Context) error, agent *discoveryAgent) error {
	up := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: metricDatabaseUp,
		Help: "1 when the database answered a ping during this scrape (the readiness probe's), else 0.",
	}, func() float64 {
		if ping(context.Background()) != nil {
			return 0
		}
		return 1
	})
	if err := monitor.Register(up); err != nil {
		return err
	}
	if !agent.Enabled() {
		return nil
	}
	return monitor.Register(newRegistrationCollector(agent.Status))
}

// registrationCollector reports each Eureka registration (the app name and
// its aliases) from the registrar's status.
type registrationCollector struct {
	status        func() discovery.Status
	failing, beat *prometheus.Desc
}

func newRegistrationCollector(status func() discovery.Status) registrationCollector {
	return registrationCollector{
		status: status,
		failing: prometheus.NewDesc(metricRegistrationFailing,
			"Eureka registration, heartbeat or status updates that failed in a row (0 after a success), by registered app name.",
			[]string{"eureka_app"}, nil),
		beat: prometheus.NewDesc(metricRegistrationBeat,
			"When Eureka last accepted a heartbeat of this instance, Unix seconds, by registered app name (absent before the first).",
			[]string{"eureka_app"}, nil),
	}
}

func (c registrationCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.failing
	ch <- c.beat
}

func (c registrationCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.status()
	for _, r := range append([]discovery.RegistrationStatus{st.Registration}, st.Aliases...) {
		ch <- prometheus.MustNewConstMetric(c.failing, prometheus.GaugeValue, float64(r.ConsecutiveFailures), r.App)
		if !r.LastHeartbeat.IsZero() {
			ch <- prometheus.MustNewConstMetric(c.beat, prometheus.GaugeValue,
				float64(r.LastHeartbeat.UnixNano())/float64(time.Second), r.App)
		}
	}
}
