// Package observability holds what an operator of the stack looks at:
// Prometheus' configuration, recording and alert rules (prometheus/), and
// Grafana's provisioning and dashboards (grafana/). The dashboards are
// written in Go with the Grafana Foundation SDK (dashboards.go); the JSON
// files Grafana loads are generated from it:
//
//	go test ./observability -run TestDashboardsCommitted -update
//
// The tests check the rules with promtool and evaluate every recording rule
// and every panel query in a real Prometheus scraping running instances of
// the service. docs/observability.md has the details.
package observability
