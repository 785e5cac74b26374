package handlers

import (
	"net/http"
	"strconv"

	"github.com/danielgtaylor/huma/v2"
)

// documentLegacy adds to the OpenAPI document the routes served outside the
// framework, so that clients generated from /openapi.json know them: the
// flask-style schedule API (when mounted at flaskPrefix) and /metrics. Only
// the document changes; the handlers are the mounts' and the metrics
// middleware's. TestSpecExamples sends the schedule example.
//
// With sign-in on (auth), the schedule API is guarded like the rest of /ch11
// (security is set by the OnAddOperation hook of apiConfig): its 401, and
// the 403 of a viewer's POST, are documented here.
func documentLegacy(oapi *huma.OpenAPI, mounts []Mount, metrics, auth bool) {
	const flaskPrefix = "/ch11/flask"
	str := func(desc string) *huma.Schema { return &huma.Schema{Type: huma.TypeString, Description: desc} }
	date := &huma.Schema{Type: huma.TypeString, Format: "date", Description: "ISO 8601 date (YYYY-MM-DD)"}
	ids := func(desc string) *huma.Schema {
		return &huma.Schema{Type: huma.TypeArray, Items: &huma.Schema{Type: huma.TypeInteger, Format: "int64"}, Description: desc}
	}
	calendar := map[string]*huma.Schema{
		"interval_days":      {Type: huma.TypeInteger, Description: "days between rounds; default 7"},
		"double_round_robin": {Type: huma.TypeBoolean, Description: "every pairing twice, home and away"},
		"skip_weekdays":      {Type: huma.TypeArray, Items: str("a weekday name, e.g. Sunday"), Description: "weekdays on which no round is played"},
		"skip_dates":         {Type: huma.TypeArray, Items: date, Description: "dates on which no round is played"},
	}
	schedule := &huma.Schema{Type: huma.TypeObject, Description: "a round-robin schedule (circle method)",
		AdditionalProperties: true}
	problemResponses := func(codes ...int) map[string]*huma.Response {
		r := map[string]*huma.Response{"200": {Description: "the schedule",
			Content: map[string]*huma.MediaType{"application/json": {Schema: schedule}}}}
		for _, c := range codes {
			r[strconv.Itoa(c)] = &huma.Response{Description: http.StatusText(c),
				Content: map[string]*huma.MediaType{problemContentType: {Schema: &huma.Schema{Ref: "#/components/schemas/ErrorModel"}}}}
		}
		return r
	}
	noToken := []map[string][]string{{}} // the mounts are exempt from API_TOKEN
	read, write := []int{}, []int{}
	if auth {
		read, write = []int{http.StatusUnauthorized}, []int{http.StatusUnauthorized, http.StatusForbidden}
	}
	for _, m := range mounts {
		if m.Prefix != flaskPrefix {
			continue
		}
		body := &huma.Schema{Type: huma.TypeObject, Required: []string{"start_date"},
			Description: "Exactly one of teams, player_ids and official_ids names the participants (at least 2).",
			Properties: map[string]*huma.Schema{
				"teams":        {Type: huma.TypeArray, Items: str("team name"), Description: "team names"},
				"player_ids":   ids("ids of existing players, each a team"),
				"official_ids": ids("ids of existing officials, each a team"),
				"start_date":   date,
			}}
		for k, v := range calendar {
			body.Properties[k] = v
		}
		oapi.AddOperation(&huma.Operation{
			OperationID: "flask-schedule", Method: http.MethodPost, Path: flaskPrefix + "/schedule",
			Security: noToken,
			Summary:  "Make a round-robin schedule for named teams, players or officials", Tags: []string{"flask (legacy)"},
			RequestBody: &huma.RequestBody{Required: true, Content: map[string]*huma.MediaType{"application/json": {
				Schema:  body,
				Example: map[string]any{"teams": []string{"Lions", "Tigers", "Bears"}, "start_date": "2024-06-01"},
			}}},
			Responses: problemResponses(append(write, http.StatusBadRequest, http.StatusUnprocessableEntity)...),
		})
		oapi.AddOperation(&huma.Operation{
			OperationID: "flask-schedule-game", Method: http.MethodGet, Path: flaskPrefix + "/schedule/games/{game_id}",
			Security: noToken,
			Summary:  "Make a round-robin schedule of a stored game's players", Tags: []string{"flask (legacy)"},
			Parameters: []*huma.Param{{Name: "game_id", In: "path", Required: true, Schema: &huma.Schema{Type: huma.TypeInteger, Format: "int64"}}},
			Responses:  problemResponses(append(read, http.StatusNotFound, http.StatusUnprocessableEntity)...),
		})
	}
	if metrics {
		oapi.AddOperation(&huma.Operation{
			OperationID: "metrics", Method: http.MethodGet, Path: "/metrics",
			Summary: "Prometheus metrics (not reachable through the gateway)", Tags: []string{"health"},
			Responses: map[string]*huma.Response{"200": {Description: "Prometheus text format",
				Content: map[string]*huma.MediaType{"text/plain": {Schema: &huma.Schema{Type: huma.TypeString}}}}},
		})
	}
}
