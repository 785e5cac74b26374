package handlers

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"

	"github.com/danielgtaylor/huma/v2"
	"github.com/gin-gonic/gin"
)

// problemContentType is RFC 9457's media type; every error the service sends
// uses it, whether it comes from an API operation or from the middleware.
const problemContentType = "application/problem+json"

// writeProblem answers with an RFC 9457 problem document from outside the
// API framework (middleware, unknown routes). It has the same shape as the
// framework's errors.
func writeProblem(c *gin.Context, status int, detail string, errs ...*huma.ErrorDetail) {
	p := &huma.ErrorModel{Status: status, Title: http.StatusText(status), Detail: detail, Errors: errs}
	c.Header("Content-Type", problemContentType)
	c.Status(status)
	if c.Request.Method != http.MethodHead {
		_ = json.NewEncoder(c.Writer).Encode(p)
	}
	c.Abort()
}

// scrubSecrets is an API transformer: it removes from error details the values
// that may hold a password, because the framework echoes invalid input back.
// A detail about the whole body (malformed JSON) carries the raw body, and one
// about an unexpected property carries the whole object around it.
func scrubSecrets(_ huma.Context, _ string, v any) (any, error) {
	em, ok := v.(*huma.ErrorModel)
	if !ok {
		return v, nil
	}
	for _, d := range em.Errors {
		if d == nil {
			continue
		}
		_, isObject := d.Value.(map[string]any)
		if isObject || d.Location == "body" || strings.Contains(strings.ToLower(d.Location), "password") {
			d.Value = nil
		}
	}
	return v, nil
}

// maxErrorDetails bounds the details of one problem document. A body can
// break a rule once per list item, and the framework echoes each value: a
// 1 MB list of objects made a 422 with 333,000 details. The first ones are
// what a client needs to fix its request.
const maxErrorDetails = 50

// boundErrors is an API transformer that keeps the first maxErrorDetails
// details, says how many were left out, and drops list values, which can be
// as large as the body itself (the framework echoes a list that is too long).
func boundErrors(_ huma.Context, _ string, v any) (any, error) {
	em, ok := v.(*huma.ErrorModel)
	if !ok {
		return v, nil
	}
	if n := len(em.Errors); n > maxErrorDetails {
		em.Errors = append(em.Errors[:maxErrorDetails:maxErrorDetails],
			&huma.ErrorDetail{Location: "body", Message: fmt.Sprintf("%d more errors not shown", n-maxErrorDetails)})
	}
	for _, d := range em.Errors {
		if d != nil && d.Value != nil && reflect.TypeOf(d.Value).Kind() == reflect.Slice {
			d.Value = nil
		}
	}
	return v, nil
}
