package main

import (
	"bytes"
	"net"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// TestHealthMetrics: /metrics says whether the database answers (its
// readiness ping, at scrape time) and how many Eureka calls failed in a
// row for each registered name, the series the alert rules of
// observability/prometheus read.
func TestHealthMetrics(t *testing.T) {
	t.Parallel()
	mongoURI, proxy := proxiedDatabase(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadEureka := "http://" + ln.Addr().String() + "/eureka"
	ln.Close() // nothing listens there: every Eureka call is refused
	s := startService(t, map[string]string{
		"MONGODB_URI": mongoURI, "READY_TIMEOUT": "300ms", "DB_TIMEOUT": "1s",
		"EUREKA_URL": deadEureka, "EUREKA_APP_NAME": "SPORTS-SERVICE", "EUREKA_APP_ALIASES": "SPORTS_SERVICE",
	})

	// Polls until cond holds on a scrape's values; bounded (a hang), not a
	// timing assertion.
	waitScrape := func(what string, cond func(values map[string]float64) bool) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			values := scrapeGauges(t, s)
			if cond(values) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 30s; last scrape %v", what, values)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	for _, tc := range []struct {
		name   string
		change func()
		want   float64
	}{
		{"database answers", func() {}, 1},
		{"database black-holed", proxy.Stall, 0},
		{"database back", proxy.Restore, 1},
	} {
		tc.change()
		waitScrape(tc.name, func(v map[string]float64) bool { return v[metricDatabaseUp] == tc.want })
	}
	waitScrape("Eureka failures counted for the name and the alias", func(v map[string]float64) bool {
		return v[metricRegistrationFailing+`{eureka_app="SPORTS-SERVICE"}`] >= 1 &&
			v[metricRegistrationFailing+`{eureka_app="SPORTS_SERVICE"}`] >= 1
	})
	if _, ok := scrapeGauges(t, s)[metricRegistrationBeat+`{eureka_app="SPORTS-SERVICE"}`]; ok {
		t.Errorf("%s present before any heartbeat was accepted", metricRegistrationBeat)
	}
}

// scrapeGauges returns the service's gauges as name or name{eureka_app="x"}.
func scrapeGauges(t *testing.T, s *testService) map[string]float64 {
	t.Helper()
	r := s.do(t, "GET", "/metrics", nil)
	expect(t, r, 200)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(r.Body))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for name, f := range families {
		for _, m := range f.Metric {
			if m.Gauge == nil {
				continue
			}
			key := name
			for _, l := range m.Label {
				if l.GetName() == "eureka_app" {
					key += `{eureka_app="` + l.GetValue() + `"}`
				}
			}
			out[key] = m.Gauge.GetValue()
		}
	}
	return out
}
