package observability

import (
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

// DatasourceUID is the uid of the Prometheus data source that
// grafana/provisioning/datasources/prometheus.yml provisions; every panel
// refers to it.
const DatasourceUID = "prometheus"

// Job is the scrape job of the service's instances (prometheus/prometheus.yml).
const Job = "sports-service"

// Dashboard is one generated dashboard: File is its name under
// grafana/dashboards.
type Dashboard struct {
	File    string
	Builder *dashboard.DashboardBuilder
}

// Dashboards returns the dashboards Grafana provisions, in file order.
func Dashboards() []Dashboard {
	return []Dashboard{
		{File: "sports-service-overview.json", Builder: overview()},
		{File: "sports-service-database.json", Builder: database()},
		{File: "sports-service-go-runtime.json", Builder: runtime()},
	}
}

func datasource() common.DataSourceRef {
	t, uid := "prometheus", DatasourceUID
	return common.DataSourceRef{Type: &t, Uid: &uid}
}

// sel is the selector every raw-metric query of the service uses.
const sel = `job="` + Job + `",instance=~"$instance"`

func query(expr, legend string) *prometheus.DataqueryBuilder {
	return prometheus.NewDataqueryBuilder().Expr(expr).LegendFormat(legend).Datasource(datasource())
}

// base is what the three dashboards share: tags, time, the instance
// variable, the links to each other and to Jaeger.
func base(uid, title, description string) *dashboard.DashboardBuilder {
	instance := dashboard.NewQueryVariableBuilder("instance").
		Label("Instance").
		Query(text(`label_values(up{job="` + Job + `"}, instance)`)).
		Datasource(datasource()).
		Multi(true).
		IncludeAll(true).
		AllValue(".*").
		Refresh(dashboard.VariableRefreshOnTimeRangeChanged).
		Sort(dashboard.VariableSortAlphabeticalAsc)
	jaegerURL := dashboard.NewTextBoxVariableBuilder("jaeger_url").
		Label("Jaeger UI").
		Description("Where a browser reaches Jaeger's UI (the compose stack publishes it on 16686).").
		DefaultValue(text("http://localhost:16686"))
	jaegerService := dashboard.NewTextBoxVariableBuilder("jaeger_service").
		Label("Traced service").
		Description("The service name the spans carry (OTEL_SERVICE_NAME; the service's default is online-sports-tracer).").
		DefaultValue(text("online-sports-tracer"))
	return dashboard.NewDashboardBuilder(title).
		Uid(uid).
		Description(description).
		Tags([]string{"sports-service", "generated"}).
		Readonly().
		Refresh("30s").
		Time("now-1h", "now").
		Timezone(common.TimeZoneBrowser).
		Tooltip(dashboard.DashboardCursorSyncCrosshair).
		WithVariable(instance).
		WithVariable(jaegerURL).
		WithVariable(jaegerService).
		Link(dashboard.NewDashboardLinkBuilder("Sports service").
			Type(dashboard.DashboardLinkTypeDashboards).
			Tags([]string{"sports-service"}).
			AsDropdown(false).IncludeVars(true).KeepTime(true)).
		Link(dashboard.NewDashboardLinkBuilder("Traces in Jaeger").
			Type(dashboard.DashboardLinkTypeLink).
			Icon("external link").
			Url("${jaeger_url}/search?service=${jaeger_service}&start=${__from}000&end=${__to}000&limit=50").
			TargetBlank(true))
}

func series(title, unit string, targets ...*prometheus.DataqueryBuilder) *timeseries.PanelBuilder {
	p := timeseries.NewPanelBuilder().
		Title(title).
		Unit(unit).
		Datasource(datasource()).
		Height(8).Span(12).
		FillOpacity(10).
		Legend(common.NewVizLegendOptionsBuilder().
			DisplayMode(common.LegendDisplayModeTable).
			Placement(common.LegendPlacementBottom).
			ShowLegend(true).
			Calcs([]string{"mean", "max", "lastNotNull"}))
	for i, t := range targets {
		p.WithTarget(t.RefId(string(rune('A' + i))))
	}
	return p
}

func single(title, unit, expr string) *stat.PanelBuilder {
	return stat.NewPanelBuilder().
		Title(title).
		Unit(unit).
		Datasource(datasource()).
		Height(4).Span(6).
		ReduceOptions(common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"})).
		WithTarget(query(expr, "").RefId("A"))
}

// threshold draws an alert threshold of prometheus/rules/thresholds.yml.
func threshold(name string) *prometheus.DataqueryBuilder {
	return query("sports_service:alert_threshold:"+name, "alert threshold")
}

// traceLink opens Jaeger's search for the route of the series under the
// cursor, in the time range shown: gin-metrics' series carry no trace ids
// (no exemplars), so this is the closest a panel gets to a trace.
func traceLink(title string, extra string) cog.Builder[dashboard.DashboardLink] {
	return dashboard.NewDashboardLinkBuilder(title).
		Url("${jaeger_url}/search?service=${jaeger_service}&tags=" +
			`%7B%22http.route%22%3A%22${__field.labels.uri}%22%7D` + extra +
			"&start=${__from}000&end=${__to}000&limit=20").
		TargetBlank(true)
}

func overview() *dashboard.DashboardBuilder {
	return base("sports-service-overview", "Sports service: overview",
		"Traffic, errors and latency of the sports service, per route and per instance. Generated by observability/dashboards.go.").
		WithRow(dashboard.NewRowBuilder("Now")).
		WithPanel(single("Instances up", "none", `sum(up{job="`+Job+`"})`)).
		WithPanel(single("Requests per second", "reqps", `sum(instance:gin_uri_request:rate1m{instance=~"$instance"})`)).
		WithPanel(single("5xx ratio (worst instance)", "percentunit", `max(instance:gin_uri_request_errors:ratio_rate1m{instance=~"$instance"})`)).
		WithPanel(single("In flight", "none", `sum(instance:gin_requests_in_flight:sum{instance=~"$instance"})`)).
		WithRow(dashboard.NewRowBuilder("Traffic")).
		WithPanel(series("Requests per second by route", "reqps",
			query(`sum by (method, uri) (instance_uri_method:gin_uri_request:rate1m{instance=~"$instance"})`, "{{method}} {{uri}}"))).
		WithPanel(series("Requests per second by instance", "reqps",
			query(`instance:gin_uri_request:rate1m{instance=~"$instance"}`, "{{instance}}"))).
		WithPanel(series("Responses by status code", "reqps",
			query(`sum by (code) (instance_uri_method_code:gin_uri_request:rate1m{instance=~"$instance"})`, "{{code}}"))).
		WithPanel(series("Requests in flight by instance", "none",
			query(`instance:gin_requests_in_flight:sum{instance=~"$instance"}`, "{{instance}}"),
			threshold("in_flight"))).
		WithRow(dashboard.NewRowBuilder("Errors")).
		WithPanel(series("5xx ratio by route", "percentunit",
			query(`max by (method, uri) (instance_uri_method:gin_uri_request_errors:ratio_rate1m{instance=~"$instance"})`, "{{method}} {{uri}}"),
			threshold("error_ratio")).
			DataLinks([]cog.Builder[dashboard.DashboardLink]{traceLink("Failed requests of ${__field.labels.uri} in Jaeger", "%2C%22error%22%3A%22true%22")})).
		WithPanel(series("5xx ratio by instance", "percentunit",
			query(`instance:gin_uri_request_errors:ratio_rate1m{instance=~"$instance"}`, "{{instance}}"),
			threshold("error_ratio"))).
		WithRow(dashboard.NewRowBuilder("Latency")).
		WithPanel(series("p99 latency by route (worst instance)", "s",
			query(`max by (uri) (instance_uri:gin_request_duration_seconds:p99_rate1m{instance=~"$instance"})`, "{{uri}}"),
			threshold("latency_p99_seconds")).
			DataLinks([]cog.Builder[dashboard.DashboardLink]{traceLink("Slowest traces of ${__field.labels.uri} in Jaeger", "")})).
		WithPanel(series("p50 latency by route (worst instance)", "s",
			query(`max by (uri) (instance_uri:gin_request_duration_seconds:p50_rate1m{instance=~"$instance"})`, "{{uri}}")).
			DataLinks([]cog.Builder[dashboard.DashboardLink]{traceLink("Traces of ${__field.labels.uri} in Jaeger", "")})).
		WithPanel(series("p90 latency by route and instance", "s",
			query(`instance_uri:gin_request_duration_seconds:p90_rate1m{instance=~"$instance"}`, "{{instance}} {{uri}}"))).
		WithPanel(series("Latency quantiles by instance, all routes", "s",
			query(`histogram_quantile(0.5, sum by (instance, le) (rate(gin_request_duration_bucket{`+sel+`}[$__rate_interval])))`, "p50 {{instance}}"),
			query(`histogram_quantile(0.99, sum by (instance, le) (rate(gin_request_duration_bucket{`+sel+`}[$__rate_interval])))`, "p99 {{instance}}"))).
		WithRow(dashboard.NewRowBuilder("Registry")).
		WithPanel(series("Eureka registration failures in a row", "none",
			query(`eureka_registration_consecutive_failures{`+sel+`}`, "{{instance}} {{eureka_app}}"),
			threshold("registry_failures")))
}

func database() *dashboard.DashboardBuilder {
	return base("sports-service-database", "Sports service: database",
		"MongoDB as the service's driver sees it: commands, their latency and failures, the connection pool. Generated by observability/dashboards.go.").
		WithRow(dashboard.NewRowBuilder("Availability")).
		WithPanel(single("Instances reaching the database", "none", `sum(sports_service_database_up{`+sel+`})`)).
		WithPanel(single("Commands per second", "ops", `sum(instance_command:mongodb_driver_commands:rate1m{instance=~"$instance"})`)).
		WithPanel(single("Command failure ratio (worst instance)", "percentunit", `max(instance:mongodb_driver_command_failures:ratio_rate1m{instance=~"$instance"})`)).
		WithPanel(single("Waiting for a connection", "none", `sum(mongodb_driver_pool_waiting{`+sel+`})`)).
		WithRow(dashboard.NewRowBuilder("Commands")).
		WithPanel(series("Commands per second by command", "ops",
			query(`sum by (command) (instance_command:mongodb_driver_commands:rate1m{instance=~"$instance"})`, "{{command}}"))).
		WithPanel(series("Command failure ratio by instance", "percentunit",
			query(`instance:mongodb_driver_command_failures:ratio_rate1m{instance=~"$instance"}`, "{{instance}}"))).
		WithPanel(series("p99 command latency by command (worst instance)", "s",
			query(`max by (command) (instance_command:mongodb_driver_command_duration_seconds:p99_rate1m{instance=~"$instance"})`, "{{command}}"))).
		WithPanel(series("p50 command latency by command (worst instance)", "s",
			query(`max by (command) (instance_command:mongodb_driver_command_duration_seconds:p50_rate1m{instance=~"$instance"})`, "{{command}}"))).
		WithRow(dashboard.NewRowBuilder("Connection pool")).
		WithPanel(series("Connections by instance", "none",
			query(`mongodb_driver_pool_connections{`+sel+`}`, "open {{instance}}"),
			query(`mongodb_driver_pool_connections_in_use{`+sel+`}`, "in use {{instance}}"),
			query(`mongodb_driver_pool_connections_idle{`+sel+`}`, "idle {{instance}}"))).
		WithPanel(series("Requests waiting for a connection", "none",
			query(`mongodb_driver_pool_waiting{`+sel+`}`, "{{instance}}"),
			threshold("pool_waiting"))).
		WithPanel(series("Readiness ping answered (1) or not (0)", "none",
			query(`sports_service_database_up{`+sel+`}`, "{{instance}}")))
}

func runtime() *dashboard.DashboardBuilder {
	return base("sports-service-go-runtime", "Sports service: Go runtime",
		"Goroutines, memory, GC and CPU of each instance, from client_golang's Go and process collectors. Generated by observability/dashboards.go.").
		WithPanel(series("Goroutines", "none", query(`go_goroutines{`+sel+`}`, "{{instance}}"))).
		WithPanel(series("OS threads", "none", query(`go_threads{`+sel+`}`, "{{instance}}"))).
		WithPanel(series("Heap in use and resident memory", "bytes",
			query(`go_memstats_heap_inuse_bytes{`+sel+`}`, "heap in use {{instance}}"),
			query(`process_resident_memory_bytes{`+sel+`}`, "resident {{instance}}"))).
		WithPanel(series("Allocation rate", "Bps",
			query(`rate(go_memstats_alloc_bytes_total{`+sel+`}[$__rate_interval])`, "{{instance}}"))).
		WithPanel(series("GC cycles per second", "none",
			query(`rate(go_gc_duration_seconds_count{`+sel+`}[$__rate_interval])`, "{{instance}}"))).
		WithPanel(series("GC pause (max in the summary's window)", "s",
			query(`go_gc_duration_seconds{`+sel+`,quantile="1"}`, "{{instance}}"))).
		WithPanel(series("CPU used (cores)", "none",
			query(`rate(process_cpu_seconds_total{`+sel+`}[$__rate_interval])`, "{{instance}}"))).
		WithPanel(series("Open file descriptors", "none",
			query(`process_open_fds{`+sel+`}`, "{{instance}}"),
			query(`process_max_fds{`+sel+`}`, "limit {{instance}}")))
}

// Build renders d as the JSON Grafana loads.
func (d Dashboard) Build() (dashboard.Dashboard, error) {
	out, err := d.Builder.Build()
	if err != nil {
		return dashboard.Dashboard{}, fmt.Errorf("dashboard %s: %w", d.File, err)
	}
	// Panel ids are unique within a dashboard (links with viewPanel=N
	// use them); the builders leave them unset, so number them in order.
	for i, p := range out.Panels {
		id := uint32(i + 1)
		switch {
		case p.Panel != nil:
			p.Panel.Id = &id
		case p.RowPanel != nil:
			p.RowPanel.Id = id
		}
	}
	return out, nil
}

func text(s string) dashboard.StringOrMap { return dashboard.StringOrMap{String: &s} }
