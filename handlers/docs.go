package handlers

import (
	"embed"
	"io/fs"
	"net/http"

	"github.com/gin-gonic/gin"
	swaggerfiles "github.com/swaggo/files/v2"
)

// docsAssets are our page and start-up script; Swagger UI's own files come
// from swaggo/files. Everything is in the binary: /docs works offline.
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
		src := swaggerfiles.FS
		if name == "init.js" {
			src = ours
		}
		if _, err := fs.Stat(src, name); err != nil || name == "index.html" {
			writeProblem(c, http.StatusNotFound, "no such file: /docs/"+name)
			return
		}
		c.Header("Cache-Control", "public, max-age=3600")
		c.FileFromFS(name, http.FS(src))
	})
}
