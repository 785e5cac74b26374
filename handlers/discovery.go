package handlers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/osms/sports-service/discovery"
)

// Discovery is what the API needs of client-side service discovery.
type Discovery interface {
	Instances(app string) (discovery.AppInstances, error)
	// StatusPage GETs the registered statusPageUrl of one UP instance of
	// app and returns the instance's answer and which instance gave it.
	StatusPage(ctx context.Context, app string) (*http.Response, discovery.Instance, error)
}

// Bounds of a call to another instance's status page, whatever the
// request's own deadline.
const (
	peerTimeout   = 10 * time.Second
	peerBodyLimit = 1 << 20
)

type appInput struct {
	App string `path:"app" minLength:"1" maxLength:"100" pattern:"^[A-Za-z0-9_.-]+$" doc:"Eureka application name, e.g. SPORTS-SERVICE"`
}

// peerAnswer is another instance's answer, passed through as it came.
type peerAnswer struct {
	Status      int
	ContentType string `header:"Content-Type"`
	Instance    string `header:"X-Discovery-Instance" doc:"instance id of the instance that answered"`
	Body        []byte
}

func discoveryProblem(err error) huma.StatusError {
	switch {
	case errors.Is(err, discovery.ErrDisabled):
		return huma.Error503ServiceUnavailable("service discovery is disabled: set EUREKA_URL")
	case errors.Is(err, discovery.ErrAppNotFound):
		return huma.Error404NotFound(err.Error())
	case errors.Is(err, discovery.ErrNoInstanceUp):
		return huma.Error503ServiceUnavailable(err.Error())
	default:
		return huma.Error502BadGateway("the remote instance did not answer: " + err.Error())
	}
}

// peerProblem names what went wrong calling app's status page: a timeout
// (504), a refused connection or another failure to get an answer (502).
func peerProblem(app string, err error) huma.StatusError {
	var netErr net.Error
	switch {
	case errors.Is(err, discovery.ErrDisabled), errors.Is(err, discovery.ErrAppNotFound), errors.Is(err, discovery.ErrNoInstanceUp):
		return discoveryProblem(err)
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return huma.Error504GatewayTimeout(fmt.Sprintf("%s did not answer in time: %v", app, err))
	case errors.Is(err, syscall.ECONNREFUSED):
		return huma.Error502BadGateway(fmt.Sprintf("%s refused the connection: %v", app, err))
	default:
		return huma.Error502BadGateway(fmt.Sprintf("%s did not answer: %v", app, err))
	}
}

func registerDiscovery(api huma.API, d Discovery) {
	tags := []string{"discovery"}
	huma.Register(api, huma.Operation{
		OperationID: "discovery-instances", Method: http.MethodGet, Path: "/ch11/discovery/{app}",
		Summary:     "Instances of an application as this instance sees them",
		Description: "From the client-side registry cache (refreshed from Eureka); `cacheAgeSeconds` and `stale` say how current it is.",
		Tags:        tags, Errors: append([]int{http.StatusNotFound, http.StatusUnprocessableEntity}, commonErrors...),
	}, func(ctx context.Context, in *appInput) (*bodyOutput[discovery.AppInstances], error) {
		res, err := d.Instances(in.App)
		if err != nil {
			return nil, discoveryProblem(err)
		}
		return &bodyOutput[discovery.AppInstances]{Body: res}, nil
	})
	huma.Register(api, huma.Operation{
		OperationID: "discovery-call-info", Method: http.MethodGet, Path: "/ch11/discovery/{app}/info",
		Summary: "Call another instance's status page through client-side load balancing",
		Description: "Picks an UP instance of the application (EUREKA_LOAD_BALANCER) and GETs the `statusPageUrl` " +
			"it registered (`/info` here, `/actuator/info` for Spring Boot), trying the next instance when one " +
			"cannot be reached. The instance's status, Content-Type and body come back unchanged (redirects are " +
			"not followed), with `X-Discovery-Instance` naming it. At most 1 MiB and 10 s; beyond, or when no " +
			"instance answers, a problem document: 504 for a timeout, 502 otherwise.",
		Tags: tags,
		Responses: map[string]*huma.Response{
			"200": {
				Description: "The instance's answer, whatever its status and content type",
				Content:     map[string]*huma.MediaType{"*/*": {Schema: &huma.Schema{Description: "the instance's body, as it sent it"}}},
			},
		},
		Errors: append([]int{http.StatusNotFound, http.StatusUnprocessableEntity, http.StatusBadGateway, http.StatusGatewayTimeout}, commonErrors...),
	}, func(ctx context.Context, in *appInput) (*peerAnswer, error) {
		ctx, cancel := context.WithTimeout(ctx, peerTimeout)
		defer cancel()
		resp, inst, err := d.StatusPage(ctx, in.App)
		if err != nil {
			return nil, peerProblem(in.App, err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(io.LimitReader(resp.Body, peerBodyLimit+1))
		if err != nil {
			return nil, peerProblem(in.App, fmt.Errorf("%s answered %s, then reading the body failed: %w", inst.InstanceID, resp.Status, err))
		}
		if len(body) > peerBodyLimit {
			return nil, huma.Error502BadGateway(fmt.Sprintf("%s (%s) answered %s with a body over %d bytes",
				in.App, inst.InstanceID, resp.Status, peerBodyLimit))
		}
		return &peerAnswer{Status: resp.StatusCode, ContentType: resp.Header.Get("Content-Type"), Instance: inst.InstanceID, Body: body}, nil
	})
}
