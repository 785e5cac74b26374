package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/osms/sports-service/discovery"
)

// Discovery is what the API needs of client-side service discovery.
type Discovery interface {
	Instances(app string) (discovery.AppInstances, error)
	Do(ctx context.Context, app, method, path string, body []byte) (*http.Response, error)
}

type appInput struct {
	App string `path:"app" minLength:"1" maxLength:"100" pattern:"^[A-Za-z0-9_.-]+$" doc:"Eureka application name, e.g. SPORTS_SERVICE"`
}

// RemoteInfo is another instance's /info, fetched through discovery.
type RemoteInfo struct {
	App  string    `json:"app" doc:"the application called"`
	Info BuildInfo `json:"info" doc:"the /info of the instance that answered; its instance field says which one"`
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
		Summary: "Call another instance's /info through client-side load balancing",
		Description: "Picks an UP instance of the application round-robin and fetches its /info, " +
			"trying the next instance when one cannot be reached.",
		Tags: tags, Errors: append([]int{http.StatusNotFound, http.StatusUnprocessableEntity, http.StatusBadGateway}, commonErrors...),
	}, func(ctx context.Context, in *appInput) (*bodyOutput[RemoteInfo], error) {
		resp, err := d.Do(ctx, in.App, http.MethodGet, "/info", nil)
		if err != nil {
			return nil, discoveryProblem(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, discoveryProblem(fmt.Errorf("/info answered %s", resp.Status))
		}
		var info BuildInfo
		if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&info); err != nil {
			return nil, discoveryProblem(fmt.Errorf("decode /info: %w", err))
		}
		return &bodyOutput[RemoteInfo]{Body: RemoteInfo{App: in.App, Info: info}}, nil
	})
}
