// Command baseline is the bare-Gin server the service's trivial route is
// compared with: gin.New() with no middleware, one route answering fixed
// bytes. The suite fetches the service's answer on that route first and
// passes it here, so both send the same body and Content-Type.
//
//	baseline -addr 127.0.0.1:8001 -route /ch11/flask/index -body-file F -content-type text/html
package main

import (
	"flag"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/gin-gonic/gin"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8001", "listen address")
	route := flag.String("route", "/health/live", "the route to serve")
	bodyFile := flag.String("body-file", "", "file holding the body to answer (default: {\"status\":\"UP\"})")
	contentType := flag.String("content-type", "application/json", "Content-Type of the answer")
	flag.Parse()
	body := []byte(`{"status":"UP"}`)
	if *bodyFile != "" {
		b, err := os.ReadFile(*bodyFile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "baseline:", err)
			os.Exit(1)
		}
		body = b
	}
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.GET(*route, func(c *gin.Context) { c.Data(http.StatusOK, *contentType, body) })
	r.GET("/ready", func(c *gin.Context) { c.Status(http.StatusOK) })
	// The same server timeouts as the service's defaults, so that both run
	// net/http the same way.
	srv := &http.Server{Addr: *addr, Handler: r, ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout: 30 * time.Second, IdleTimeout: 120 * time.Second, MaxHeaderBytes: 64 << 10}
	if err := srv.ListenAndServe(); err != nil {
		fmt.Fprintln(os.Stderr, "baseline:", err)
		os.Exit(1)
	}
}
