// Package clientip tells who sent a request, for the access log and the
// unique-visitor metric: gin's ClientIP, which trusts X-Forwarded-For and
// X-Real-IP only from the engine's trusted proxies, without its address
// parsing (and the string it allocates) when neither header is present and
// the peer's address is therefore the answer.
package clientip

import (
	"net"

	"github.com/gin-gonic/gin"
)

// Of returns the client address of the request c serves.
func Of(c *gin.Context) string {
	h := c.Request.Header
	if len(h["X-Forwarded-For"]) == 0 && len(h["X-Real-Ip"]) == 0 {
		if host, _, err := net.SplitHostPort(c.Request.RemoteAddr); err == nil {
			return host
		}
	}
	return c.ClientIP()
}
