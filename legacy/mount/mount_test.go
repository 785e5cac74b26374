package mount

import (
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/osms/sports-service/legacy/internal/fakestore"
)

func TestRegisterOnGin(t *testing.T) {
	gin.SetMode(gin.TestMode)
	engine := gin.New()
	err := Register(engine, Config{Store: fakestore.New(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		SessionKey: []byte(strings.Repeat("k", 32))})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		method, path, forwarded string
		status                  int
		body, location          string
	}{
		{"GET", "/ch11/flask/index", "", 200, "flask integration", ""},
		{"GET", "/ch11/django/index/", "", 200, "django integration", ""},
		{"GET", "/ch11/django/index", "", 301, "", "/ch11/django/index/"},
		{"GET", "/ch11/django/index", "/sports", 301, "", "/sports/ch11/django/index/"},
		{"GET", "/ch11/django/admin/", "/sports", 303, "", "/sports/ch11/django/admin/login/?next=%2Fsports%2Fch11%2Fdjango%2Fadmin%2F"},
		{"GET", "/ch11/django//admin/", "", 301, "", "/ch11/django/admin/"},
		{"GET", "/ch11/flask", "", 200, `"schedule":"/ch11/flask/schedule"`, ""},
		{"GET", "/ch11/django", "", 404, "", ""},
		{"POST", "/ch11/flask/schedule", "", 422, `"location":"body.teams"`, ""},
		{"GET", "/static/admin/admin.css", "", 200, "", ""},
		{"HEAD", "/static/admin/admin.js", "", 200, "", ""},
		{"POST", "/static/admin/admin.js", "", 405, "", ""},
	}
	for _, c := range cases {
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			var body io.Reader
			if c.method == "POST" && strings.HasPrefix(c.path, "/ch11/") {
				body = strings.NewReader(`{"start_date":"2030-01-01"}`)
			}
			req := httptest.NewRequest(c.method, c.path, body)
			if c.forwarded != "" {
				req.Header.Set("X-Forwarded-Prefix", c.forwarded)
			}
			rec := httptest.NewRecorder()
			engine.ServeHTTP(rec, req)
			if rec.Code != c.status || !strings.Contains(rec.Body.String(), c.body) || rec.Header().Get("Location") != c.location {
				t.Fatalf("%d Location %q\n%s", rec.Code, rec.Header().Get("Location"), rec.Body.String())
			}
		})
	}
}
