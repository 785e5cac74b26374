package testenv

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
)

// NewRequest builds a test request to url. body is sent as it is when it is
// a string and JSON-encoded otherwise; either way it is labelled
// application/json. nil sends none. headers are name, value pairs.
func NewRequest(method, url string, body any, headers ...string) (*http.Request, error) {
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			return nil, err
		}
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return req, nil
}
