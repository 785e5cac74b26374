package handlers

import (
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/gin-gonic/gin"
)

// recordWrites are the middleware of docs/concurrency.md: Idempotency-Key on
// creates (outermost, so that the stored answer carries the ETag), then the
// conditional requests.
func recordWrites(o Options) []gin.HandlerFunc {
	var mw []gin.HandlerFunc
	if o.Idempotency != nil {
		mw = append(mw, idempotentCreates(o.Idempotency, o.IdempotencyKeyTTL, 2*o.RequestTimeout+time.Minute, o.BodyLimit, o.Logger))
	}
	return append(mw, conditionalRequests(o.RequireIfMatch))
}

// documentRecordWrites declares in the OpenAPI document the headers and
// answers the middleware of recordWrites adds to the record operations.
func documentRecordWrites() func(*huma.OpenAPI, *huma.Operation) {
	str := func() *huma.Schema { return &huma.Schema{Type: huma.TypeString} }
	// RFC 9110's syntax of If-Match and If-None-Match, simplified: "*" or
	// a comma-separated list of (weak) quoted tags.
	tagList := func() *huma.Schema {
		return &huma.Schema{Type: huma.TypeString, Pattern: `^(\*|(W/)?"[!#-~]*"( *, *(W/)?"[!#-~]*")*)$`, Examples: []any{`"1796119646341120195"`}}
	}
	etag := &huma.Param{Name: "ETag", Description: "strong entity tag of the record's version", Schema: str()}
	problem := func(desc string) *huma.Response {
		return &huma.Response{Description: desc, Content: map[string]*huma.MediaType{
			problemContentType: {Schema: &huma.Schema{Ref: "#/components/schemas/ErrorModel"}}}}
	}
	return func(_ *huma.OpenAPI, op *huma.Operation) {
		verb, _, _ := strings.Cut(op.OperationID, "-")
		if !strings.HasPrefix(op.Path, "/ch11/") || strings.HasPrefix(op.OperationID, "update-login") ||
			strings.HasPrefix(op.Path, "/ch11/discovery") {
			return
		}
		addHeader := func(status string, h *huma.Param) {
			r := op.Responses[status]
			if r == nil {
				return
			}
			if r.Headers == nil {
				r.Headers = map[string]*huma.Param{}
			}
			r.Headers[h.Name] = h
		}
		if op.Responses == nil {
			op.Responses = map[string]*huma.Response{}
		}
		switch verb {
		case "add":
			op.Parameters = append(op.Parameters, &huma.Param{Name: idempotencyKeyHeader, In: "header",
				Description: "makes the request safe to retry: a retry with the same key and body gets the first answer " +
					"again (marked " + replayedHeader + ": true); the same key with another body 422; while the first runs 409",
				Schema: &huma.Schema{Type: huma.TypeString, MinLength: intp(1), MaxLength: intp(maxIdempotencyKey), Pattern: "^[ -~]+$"}})
			addHeader("201", etag)
			addHeader("201", &huma.Param{Name: replayedHeader, Description: "true when the answer is a replay", Schema: str()})
			if op.Responses["409"] == nil {
				op.Responses["409"] = problem("Conflict")
			}
		case "get":
			op.Parameters = append(op.Parameters, &huma.Param{Name: "If-None-Match", In: "header",
				Description: "answer 304 if the record is still at one of these versions", Schema: tagList()})
			addHeader("200", etag)
			op.Responses["400"] = problem("Bad Request")
			op.Responses["304"] = &huma.Response{Description: "Not Modified: the record is still at the version given",
				Headers: map[string]*huma.Param{"ETag": etag}}
		case "update", "delete":
			op.Parameters = append(op.Parameters, &huma.Param{Name: "If-Match", In: "header",
				Description: "write only if the record is still at this version (its ETag); " +
					"without it the write is unconditional unless the service requires it (428)", Schema: tagList()})
			if verb == "update" {
				addHeader("200", etag)
			}
			op.Responses["400"] = problem("Bad Request")
			op.Responses["412"] = problem("Precondition Failed: the record changed; the problem names its current version")
			op.Responses["428"] = problem("Precondition Required: send If-Match (only when the service runs with REQUIRE_IF_MATCH=true)")
		}
	}
}

func intp(i int) *int { return &i }
