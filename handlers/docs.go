package handlers

import (
	"embed"
	"io/fs"
	"net/http"

	"github.com/gin-gonic/gin"
)

// docsAssets are our page and start-up script and the Swagger UI files they
// load (see docsassets/NOTICE.md). Everything is in the binary: /docs works
// offline.
//
//go:embed docsassets
var docsAssets embed.FS

// registerDocs serves Swagger UI at /docs (FastAPI's URL) and its files
// under /docs/.
func registerDocs(r gin.IRoutes) {
	ours, _ := fs.Sub(docsAssets, "docsassets")
	page, _ := fs.ReadFile(ours, "index.html")
	r.GET("/docs", func(c *gin.Context) {
		c.Header("Cache-Control", "no-cache")
		c.Data(http.StatusOK, "text/html; charset=utf-8", page)
	})
	r.GET("/docs/:file", func(c *gin.Context) {
		name := c.Param("file")
		if _, err := fs.Stat(ours, name); err != nil || name == "index.html" || name == "NOTICE.md" {
			writeProblem(c, http.StatusNotFound, "no such file: /docs/"+name)
			return
		}
		c.Header("Cache-Control", "public, max-age=3600")
		c.FileFromFS(name, http.FS(ours))
	})
}
