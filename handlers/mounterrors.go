package handlers

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"

	"github.com/danielgtaylor/huma/v2"
)

// maxPlainDetail bounds the plain-text error kept as a problem's detail.
const maxPlainDetail = 512

// problemErrors wraps a legacy application so that its plain-text errors
// (http.Error, http.NotFound: "404 page not found") become RFC 9457 problem
// documents like the rest of the service's. Errors the application writes
// as JSON or HTML are its own, kept as the original's clients expect them.
//
// The wrappers are reused (every request to a mount needs one, and a
// handler may not use its writer after it returns); one left behind by a
// panic is simply not reused.
func problemErrors(h http.Handler) http.Handler {
	var writers sync.Pool
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pw, _ := writers.Get().(*plainErrorWriter)
		if pw == nil {
			pw = new(plainErrorWriter)
		}
		*pw = plainErrorWriter{ResponseWriter: w}
		h.ServeHTTP(pw, r)
		pw.finish(r)
		*pw = plainErrorWriter{} // drop the references to this request
		writers.Put(pw)
	})
}

type plainErrorWriter struct {
	http.ResponseWriter
	wrote   bool
	convert bool
	status  int
	detail  strings.Builder
}

func (w *plainErrorWriter) WriteHeader(code int) {
	if w.wrote {
		return
	}
	w.wrote = true
	h := w.Header()
	if code >= 400 && strings.HasPrefix(h.Get("Content-Type"), "text/plain") {
		w.convert, w.status = true, code
		h.Set("Content-Type", problemContentType)
		h.Del("Content-Length")
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *plainErrorWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	if w.convert {
		if room := maxPlainDetail - w.detail.Len(); room > 0 {
			w.detail.Write(b[:min(len(b), room)])
		}
		return len(b), nil
	}
	return w.ResponseWriter.Write(b)
}

// Flush passes through, for applications that stream.
func (w *plainErrorWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok && !w.convert {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection.
func (w *plainErrorWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *plainErrorWriter) finish(r *http.Request) {
	if !w.convert || r.Method == http.MethodHead {
		return
	}
	detail := strings.TrimSpace(w.detail.String())
	if detail == "404 page not found" {
		detail = "no route for " + r.URL.Path
	}
	_ = json.NewEncoder(w.ResponseWriter).Encode(&huma.ErrorModel{Status: w.status, Title: http.StatusText(w.status), Detail: detail})
}

// noRouteDetail is the detail of the service's 404.
func noRouteDetail(path string) string {
	if len(path) > 1 && strings.HasSuffix(path, "/") {
		return "no route for " + path + "; the routes have no trailing slash: try " + strings.TrimRight(path, "/")
	}
	return "no route for " + path
}
