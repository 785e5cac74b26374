package clientip

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"
)

// Of takes its shortcut only when gin would answer the peer's address
// anyway; with a forwarding header it defers to gin's trusted-proxy rules.
func TestOf(t *testing.T) {
	tests := []struct {
		name, remote string
		header       map[string]string
		want         string
	}{
		{"IPv4 peer", "203.0.113.7:5555", nil, "203.0.113.7"},
		{"IPv6 peer", "[2001:db8::1]:5555", nil, "2001:db8::1"},
		{"forwarded by a trusted gateway", "10.0.0.2:5555", map[string]string{"X-Forwarded-For": "198.51.100.9"}, "198.51.100.9"},
		{"X-Real-IP from a trusted gateway", "127.0.0.1:5555", map[string]string{"X-Real-IP": "198.51.100.10"}, "198.51.100.10"},
		{"forged by an untrusted client", "203.0.113.7:5555", map[string]string{"X-Forwarded-For": "198.51.100.9"}, "203.0.113.7"},
	}
	r := gin.New()
	if err := r.SetTrustedProxies([]string{"127.0.0.0/8", "10.0.0.0/8"}); err != nil {
		t.Fatal(err)
	}
	var got string
	r.GET("/", func(c *gin.Context) { got = Of(c) })
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req.RemoteAddr = tt.remote
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			r.ServeHTTP(httptest.NewRecorder(), req)
			if got != tt.want {
				t.Errorf("Of = %q, want %q", got, tt.want)
			}
		})
	}
}
