package handlers

import (
	"bytes"
	"compress/gzip"
	"embed"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
)

// docsAssets are our page and start-up script and the Swagger UI files they
// load (see docsassets/NOTICE.md). Everything is in the binary: /docs works
// offline. The large files are stored as NAME.gz.
//
//go:embed docsassets
var docsAssets embed.FS

// registerDocs serves Swagger UI at /docs (FastAPI's URL) and its files
// under /docs/, and redirects / there.
func registerDocs(r gin.IRoutes) {
	ours, _ := fs.Sub(docsAssets, "docsassets")
	page, _ := fs.ReadFile(ours, "index.html")
	redoc, _ := fs.ReadFile(ours, "redoc.html")
	// Read once: an embed.FS hands out a copy of a file on every ReadFile.
	compressed := map[string][]byte{}
	gzipped, _ := fs.Glob(ours, "*.gz")
	for _, gz := range gzipped {
		compressed[strings.TrimSuffix(gz, ".gz")], _ = fs.ReadFile(ours, gz)
	}
	// The root has no API: it sends a browser (or anyone following the
	// host's address) to the docs. Eureka registers /docs itself as the
	// home page, which answers 200 without a redirect.
	r.GET("/", func(c *gin.Context) { c.Redirect(http.StatusFound, "/docs") })
	r.GET("/docs", func(c *gin.Context) {
		c.Header("Cache-Control", "no-cache")
		c.Data(http.StatusOK, "text/html; charset=utf-8", page)
	})
	// ReDoc, which FastAPI users expect next to Swagger UI, from the same
	// embedded files.
	r.GET("/redoc", func(c *gin.Context) {
		c.Header("Cache-Control", "no-cache")
		c.Data(http.StatusOK, "text/html; charset=utf-8", redoc)
	})
	r.GET("/docs/:file", func(c *gin.Context) {
		name := c.Param("file")
		if name == "index.html" || name == "redoc.html" || name == "NOTICE.md" || strings.HasSuffix(name, ".gz") {
			writeProblem(c, http.StatusNotFound, "no such file: /docs/"+name)
			return
		}
		if gz, ok := compressed[name]; ok {
			serveGzipped(c, name, gz)
			return
		}
		if _, err := fs.Stat(ours, name); err != nil {
			writeProblem(c, http.StatusNotFound, "no such file: /docs/"+name)
			return
		}
		c.Header("Cache-Control", "public, max-age=3600")
		c.FileFromFS(name, http.FS(ours))
	})
}

// serveGzipped sends a file stored gzip-compressed: as it is to a client
// that accepts gzip (every browser), decompressed to any other.
func serveGzipped(c *gin.Context, name string, compressed []byte) {
	h := c.Writer.Header()
	h.Set("Cache-Control", "public, max-age=3600")
	h.Set("Content-Type", mime.TypeByExtension(path.Ext(name)))
	h.Add("Vary", "Accept-Encoding")
	if acceptsGzip(c.GetHeader("Accept-Encoding")) {
		h.Set("Content-Encoding", "gzip")
		h.Set("Content-Length", strconv.Itoa(len(compressed)))
		c.Status(http.StatusOK)
		if c.Request.Method != http.MethodHead {
			_, _ = c.Writer.Write(compressed)
		}
		return
	}
	zr, err := gzip.NewReader(bytes.NewReader(compressed))
	if err != nil {
		// The embedded files are checked by a test; this cannot happen
		// with a binary built from this repository.
		writeProblem(c, http.StatusInternalServerError, "corrupt embedded asset "+name)
		return
	}
	c.Status(http.StatusOK)
	if c.Request.Method != http.MethodHead {
		_, _ = io.Copy(c.Writer, zr)
	}
}

// acceptsGzip reports whether an Accept-Encoding value admits gzip: listed
// (or "*") without q=0.
func acceptsGzip(header string) bool {
	for part := range strings.SplitSeq(header, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		coding = strings.ToLower(strings.TrimSpace(coding))
		if coding != "gzip" && coding != "*" {
			continue
		}
		if v, ok := strings.CutPrefix(strings.ReplaceAll(strings.ToLower(params), " ", ""), "q="); ok {
			if q, err := strconv.ParseFloat(v, 64); err == nil && q == 0 {
				return false
			}
		}
		return true
	}
	return false
}
