package handlers

// The cost of the token check per request: the same trivial route with no
// guard, with the single API_TOKEN, and with sign-in (a viewer's JWT on a
// read), each through the middleware alone so that nothing else is
// measured.
//
//	go test -run '^$' -bench AuthMiddleware -benchmem ./handlers/

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/osms/sports-service/auth"
)

func BenchmarkAuthMiddleware(b *testing.B) {
	tokens, err := auth.New(auth.Config{Keys: []auth.Key{{ID: "k1", Secret: []byte(strings.Repeat("k", 32))}}, TTL: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	jwt, err := tokens.Issue("coach", auth.RoleViewer)
	if err != nil {
		b.Fatal(err)
	}
	const apiToken = "machine-token-0123456789"
	gin.SetMode(gin.ReleaseMode)
	cases := []struct {
		name, header string
		guard        gin.HandlerFunc
	}{
		{"none", "", nil},
		{"api-token", "Bearer " + apiToken, requireToken(apiToken, apiPrefix)},
		{"jwt", "Bearer " + jwt, authenticate(tokens, "", nil)},
		{"jwt+api-token-configured", "Bearer " + jwt, authenticate(tokens, apiToken, nil)},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			r := gin.New()
			if c.guard != nil {
				r.Use(c.guard)
			}
			r.GET("/ch11/player/get/:id", func(c *gin.Context) { c.String(http.StatusOK, "ok") })
			req := httptest.NewRequest(http.MethodGet, "/ch11/player/get/1", nil)
			if c.header != "" {
				req.Header.Set("Authorization", c.header)
			}
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				r.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatalf("%d %s", w.Code, w.Body)
				}
			}
		})
	}
}
