package handlers

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
)

func TestAcceptsGzip(t *testing.T) {
	tests := []struct {
		header string
		want   bool
	}{
		{"", false},
		{"identity", false},
		{"gzip", true},
		{"gzip, deflate, br, zstd", true},
		{"br;q=1.0, GZIP;q=0.5", true},
		{"*", true},
		{"gzip;q=0", false},
		{"gzip; q=0.000", false},
		{"deflate, gzip;q=0.001", true},
		{"x-gzip", false},
	}
	for _, tt := range tests {
		if got := acceptsGzip(tt.header); got != tt.want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", tt.header, got, tt.want)
		}
	}
}

// The compressed assets decompress to the files NOTICE.md lists, and are
// served compressed or not according to Accept-Encoding.
func TestDocsServesCompressedAssets(t *testing.T) {
	notice, err := fs.ReadFile(docsAssets, "docsassets/NOTICE.md")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{} // file -> sha256 of the uncompressed bytes
	for line := range strings.Lines(string(notice)) {
		if f := strings.Fields(line); len(f) == 2 && len(f[0]) == 64 {
			want[f[1]] = f[0]
		}
	}
	if len(want) != 4 {
		t.Fatalf("NOTICE.md lists %d checksums, want 4", len(want))
	}
	r := gin.New()
	registerDocs(r)
	get := func(name, acceptEncoding string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, "/docs/"+name, nil)
		if acceptEncoding != "" {
			req.Header.Set("Accept-Encoding", acceptEncoding)
		}
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		return w
	}
	for name, sum := range want {
		plain := get(name, "")
		if plain.Code != http.StatusOK || plain.Header().Get("Content-Encoding") != "" {
			t.Fatalf("%s without gzip: %d, Content-Encoding %q", name, plain.Code, plain.Header().Get("Content-Encoding"))
		}
		if got := sha256.Sum256(plain.Body.Bytes()); hex.EncodeToString(got[:]) != sum {
			t.Errorf("%s decompressed: sha256 %x, NOTICE.md says %s", name, got, sum)
		}
		zipped := get(name, "gzip, deflate")
		if zipped.Header().Get("Content-Encoding") != "gzip" || zipped.Header().Get("Vary") != "Accept-Encoding" {
			t.Fatalf("%s with gzip: headers %v", name, zipped.Header())
		}
		zr, err := gzip.NewReader(bytes.NewReader(zipped.Body.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		unzipped, err := io.ReadAll(zr)
		if err != nil || !bytes.Equal(unzipped, plain.Body.Bytes()) {
			t.Errorf("%s: gzip body does not decompress to the plain body (err %v)", name, err)
		}
		if ct := plain.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/") {
			t.Errorf("%s: Content-Type %q", name, ct)
		}
	}
	for _, name := range []string{"swagger-ui-bundle.js.gz", "NOTICE.md", "index.html", "nothing.js"} {
		if w := get(name, "gzip"); w.Code != http.StatusNotFound {
			t.Errorf("/docs/%s: %d, want 404", name, w.Code)
		}
	}
	if w := get("index.css", "gzip"); w.Code != http.StatusOK || w.Header().Get("Content-Encoding") != "" {
		t.Errorf("index.css: %d, Content-Encoding %q", w.Code, w.Header().Get("Content-Encoding"))
	}
}

// TestRedocOffline: /redoc is a page whose every script comes from the
// binary (relative URLs, so it works behind a gateway prefix) and points at
// the service's own document.
func TestRedocOffline(t *testing.T) {
	r := gin.New()
	registerDocs(r)
	get := func(path string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		r.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
		return w
	}
	page := get("/redoc")
	if page.Code != http.StatusOK || !strings.Contains(page.Body.String(), `src="docs/redoc.standalone.js"`) {
		t.Fatalf("/redoc: %d %s", page.Code, page.Body)
	}
	if strings.Contains(page.Body.String(), "http://") || strings.Contains(page.Body.String(), "https://") {
		t.Errorf("/redoc loads something from the network: %s", page.Body)
	}
	for _, asset := range []string{"/docs/redoc.standalone.js", "/docs/redoc-init.js"} {
		if w := get(asset); w.Code != http.StatusOK || w.Body.Len() == 0 {
			t.Errorf("%s: %d", asset, w.Code)
		}
	}
	if init := get("/docs/redoc-init.js").Body.String(); !strings.Contains(init, `Redoc.init("openapi.json"`) {
		t.Errorf("redoc-init.js does not load the service's document: %s", init)
	}
}
