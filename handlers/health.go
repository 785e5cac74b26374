package handlers

import (
	"context"
	"net/http"
	"reflect"
	"runtime"
	"time"

	"github.com/danielgtaylor/huma/v2"
)

// Status values, as Spring Boot's actuator writes them.
const (
	StatusUp   = "UP"
	StatusDown = "DOWN"
	// StatusOutOfService is a component that works but takes no traffic:
	// the service is draining before it stops.
	StatusOutOfService = "OUT_OF_SERVICE"
)

// Component is one part of the service's health.
type Component struct {
	Status  string         `json:"status" enum:"UP,DOWN,UNKNOWN,OUT_OF_SERVICE"`
	Details map[string]any `json:"details,omitempty"`
}

// HealthCheck reports one component. Checks with Ready set decide readiness
// (and so the overall status); the others are shown for information only,
// e.g. the registry, whose absence must not take the service out of traffic.
type HealthCheck struct {
	Name  string
	Ready bool
	Check func(ctx context.Context) Component
}

// Health is the body of the health endpoints.
type Health struct {
	Status     string               `json:"status" enum:"UP,DOWN"`
	Components map[string]Component `json:"components,omitempty"`
}

type healthOutput struct {
	Status int
	Body   Health
}

// BuildInfo is what /info reports.
type BuildInfo struct {
	App       string    `json:"app"`
	Version   string    `json:"version"`
	Commit    string    `json:"commit"`
	BuildTime string    `json:"build_time"`
	GoVersion string    `json:"go_version"`
	StartTime time.Time `json:"start_time"`
	Database  string    `json:"database" doc:"embedded (FerretDB/SQLite) or external MongoDB"`
	Instance  string    `json:"instance" doc:"host:port of this instance"`
}

func runChecks(ctx context.Context, checks []HealthCheck, readyOnly bool, timeout time.Duration) (int, Health) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	h := Health{Status: StatusUp, Components: map[string]Component{}}
	for _, c := range checks {
		if readyOnly && !c.Ready {
			continue
		}
		comp := c.Check(ctx)
		h.Components[c.Name] = comp
		if c.Ready && comp.Status != StatusUp {
			h.Status = StatusDown
		}
	}
	if h.Status != StatusUp {
		return http.StatusServiceUnavailable, h
	}
	return http.StatusOK, h
}

// notReady documents the 503 of the health checks: the same body as the 200,
// with the failing component, rather than a problem document.
func notReady(api huma.API) map[string]*huma.Response {
	schema := api.OpenAPI().Components.Schemas.Schema(reflect.TypeOf(Health{}), true, "")
	return map[string]*huma.Response{
		"503": {Description: "A component needed to serve requests is down",
			Content: map[string]*huma.MediaType{"application/json": {Schema: schema}}},
	}
}

func registerHealth(api huma.API, checks []HealthCheck, timeout time.Duration, info BuildInfo) {
	tags := []string{"health"}
	huma.Register(api, huma.Operation{
		OperationID: "health-live", Method: http.MethodGet, Path: "/health/live",
		Summary: "Liveness: the process is up", Tags: tags,
	}, func(context.Context, *struct{}) (*healthOutput, error) {
		return &healthOutput{Status: http.StatusOK, Body: Health{Status: StatusUp}}, nil
	})
	huma.Register(api, huma.Operation{
		OperationID: "health-ready", Method: http.MethodGet, Path: "/health/ready",
		Summary:     "Readiness: the database answers",
		Description: "503 with the failing component when a dependency needed to serve requests is down.",
		Tags:        tags, Responses: notReady(api),
	}, func(ctx context.Context, _ *struct{}) (*healthOutput, error) {
		status, h := runChecks(ctx, checks, true, timeout)
		return &healthOutput{Status: status, Body: h}, nil
	})
	huma.Register(api, huma.Operation{
		OperationID: "health", Method: http.MethodGet, Path: "/health",
		Summary: "Overall health with every component", Tags: tags, Responses: notReady(api),
	}, func(ctx context.Context, _ *struct{}) (*healthOutput, error) {
		status, h := runChecks(ctx, checks, false, timeout)
		return &healthOutput{Status: status, Body: h}, nil
	})
	info.GoVersion = runtime.Version()
	huma.Register(api, huma.Operation{
		OperationID: "info", Method: http.MethodGet, Path: "/info",
		Summary: "Build and start-up information", Tags: tags,
	}, func(context.Context, *struct{}) (*bodyOutput[BuildInfo], error) {
		return &bodyOutput[BuildInfo]{Body: info}, nil
	})
}
