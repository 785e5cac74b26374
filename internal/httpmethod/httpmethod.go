// Package httpmethod bounds HTTP methods for use in span names and metric
// labels, where a client-chosen method must not create new names.
package httpmethod

import "net/http"

// Other stands for any method outside the HTTP standard, as in the
// OpenTelemetry semantic conventions.
const Other = "_OTHER"

// Normalize returns the method when it is a standard one (case-sensitive,
// as HTTP methods are) and Other otherwise.
func Normalize(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace:
		return method
	default:
		return Other
	}
}
