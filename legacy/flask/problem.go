package flask

import (
	"encoding/json"
	"net/http"
)

// problem is an RFC 9457 problem document shaped like the core API's (Huma's
// ErrorModel), so clients handle both the same way.
type problem struct {
	Type   string        `json:"type"`
	Title  string        `json:"title"`
	Status int           `json:"status"`
	Detail string        `json:"detail,omitempty"`
	Errors []fieldDetail `json:"errors,omitempty"`
}

// fieldDetail names one failing input by where it sits: "body.teams[2]",
// "query.interval_days", "path.game_id".
type fieldDetail struct {
	Location string `json:"location"`
	Message  string `json:"message"`
}

func writeProblem(w http.ResponseWriter, status int, detail string, errs ...fieldDetail) {
	writeJSON(w, status, "application/problem+json", problem{
		Type:   "about:blank",
		Title:  http.StatusText(status),
		Status: status,
		Detail: detail,
		Errors: errs,
	})
}

func writeJSON(w http.ResponseWriter, status int, contentType string, v any) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // the status line is sent; a failed write is the client's going away
}

// fieldErrors collects failing inputs in the order they are found.
type fieldErrors []fieldDetail

func (f *fieldErrors) add(location, message string) {
	*f = append(*f, fieldDetail{Location: location, Message: message})
}
