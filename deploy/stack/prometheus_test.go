//go:build stack

package stack

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"
)

// prometheusURL is where docker-compose.yaml publishes Prometheus.
const prometheusURL = "http://127.0.0.1:9090"

// promWithin bounds waiting for Prometheus: the DNS discovery refreshes
// every 5 s and the job scrapes every 15 s; a rate needs two scrapes.
const promWithin = 90 * time.Second

// testPrometheus: the stack's Prometheus scrapes every running app
// container (found through Docker's DNS, addressed by its backend IP), its
// rule files loaded without error, and after traffic through the gateway
// the recording rules the dashboards read return series. It logs the scrape
// duration and series per instance and Prometheus' memory.
func testPrometheus(t *testing.T, s *stack) {
	s.prometheusTargetsUp(t, len(s.running(t, "app")))

	var rules struct {
		Groups []struct {
			Name  string `json:"name"`
			Rules []struct {
				Name      string `json:"name"`
				Type      string `json:"type"`
				Health    string `json:"health"`
				LastError string `json:"lastError"`
			} `json:"rules"`
		} `json:"groups"`
	}
	promGet(t, "/api/v1/rules", nil, &rules)
	var alerts, recorded []string
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			if r.Type == "alerting" {
				alerts = append(alerts, r.Name)
			} else {
				recorded = append(recorded, r.Name)
			}
			if r.LastError != "" || r.Health == "err" {
				t.Errorf("rule %s (%s): health %s, %s", r.Name, g.Name, r.Health, r.LastError)
			}
		}
	}
	if !slices.Contains(alerts, "SportsServiceInstanceDown") || !slices.Contains(recorded, "instance:gin_uri_request:rate1m") {
		t.Fatalf("rules loaded: alerts %v, recorded %v", alerts, recorded)
	}

	// Traffic, then the request rate per instance is recorded.
	s.waitFor(t, "instance:gin_uri_request:rate1m > 0 after requests through the gateway", promWithin, func() bool {
		for range 5 {
			s.get(t, "/ch11/player/list/all")
		}
		return len(promQuery(t, "instance:gin_uri_request:rate1m > 0")) > 0
	})
	for _, name := range []string{"sports_service:alert_threshold:error_ratio", "instance:gin_uri_request_errors:ratio_rate1m",
		"instance_uri:gin_request_duration_seconds:p99_rate1m", "instance:gin_requests_in_flight:sum"} {
		if len(promQuery(t, name)) == 0 {
			t.Errorf("%s: no series", name)
		}
	}
	for _, q := range []string{`scrape_duration_seconds{job="sports-service"}`, `scrape_samples_scraped{job="sports-service"}`,
		`process_resident_memory_bytes{job="prometheus"}`, `prometheus_tsdb_head_series`} {
		for _, r := range promQuery(t, q) {
			t.Logf("%s %v = %s", q, r.Metric["instance"], r.Value[1])
		}
	}
}

// prometheusTargetsUp waits until Prometheus has exactly n sports-service
// targets, all up, one per running app container's backend IP.
func (s *stack) prometheusTargetsUp(t *testing.T, n int) {
	t.Helper()
	var want []string
	for _, c := range s.running(t, "app") {
		want = append(want, s.backendIP(t, c)+":"+s.appPort())
	}
	slices.Sort(want)
	var got []string
	s.waitFor(t, fmt.Sprintf("%d sports-service targets up in Prometheus (want %v)", n, want), promWithin, func() bool {
		var data struct {
			Active []struct {
				Labels map[string]string `json:"labels"`
				Health string            `json:"health"`
			} `json:"activeTargets"`
		}
		promGet(t, "/api/v1/targets", url.Values{"state": {"active"}}, &data)
		got = got[:0]
		for _, tg := range data.Active {
			if tg.Labels["job"] == "sports-service" && tg.Health == "up" {
				got = append(got, tg.Labels["instance"])
			}
		}
		slices.Sort(got)
		return len(want) == n && slices.Equal(got, want)
	})
}

func promGet(t testing.TB, path string, query url.Values, out any) {
	t.Helper()
	resp, err := http.Get(prometheusURL + path + "?" + query.Encode())
	if err != nil {
		t.Fatalf("prometheus: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var answer struct {
		Status string          `json:"status"`
		Error  string          `json:"error"`
		Data   json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(b, &answer); err != nil || answer.Status != "success" {
		t.Fatalf("GET %s%s %v: %s %.300s", prometheusURL, path, query, resp.Status, b)
	}
	if err := json.Unmarshal(answer.Data, out); err != nil {
		t.Fatal(err)
	}
}

type promSample struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
}

func promQuery(t testing.TB, expr string) []promSample {
	t.Helper()
	var data struct {
		Result []promSample `json:"result"`
	}
	promGet(t, "/api/v1/query", url.Values{"query": {expr}}, &data)
	return data.Result
}
