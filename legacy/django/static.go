package django

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed assets
var assetFS embed.FS

// StaticPath is where the lead mounts Static(): the seed serves the Django
// admin's assets at /static/, outside the /ch11/django mount. Ours live in
// /static/admin/ so other static content can share the mount.
const StaticPath = "/static/"

const assetDir = "admin/"

// asset is one embedded file, read once at start.
type asset struct {
	name        string // "admin.css"
	fingerprint string // "admin/admin.1a2b3c4d5e6f.css"
	etag        string
	body        []byte
	contentType string
}

// assets maps both the plain and the fingerprinted name (below /static/)
// to the file. Pages link to fingerprinted names, which never change
// content, so browsers may keep them for a year; plain names revalidate.
type assets struct {
	byPath map[string]*asset
	byName map[string]*asset
}

func loadAssets() (*assets, error) {
	a := &assets{byPath: map[string]*asset{}, byName: map[string]*asset{}}
	err := fs.WalkDir(assetFS, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := assetFS.ReadFile(p)
		if err != nil {
			return fmt.Errorf("read %s: %w", p, err)
		}
		sum := sha256.Sum256(body)
		hash := hex.EncodeToString(sum[:6])
		name := strings.TrimPrefix(p, "assets/")
		ext := path.Ext(name)
		ct := mime.TypeByExtension(ext)
		if ct == "" {
			ct = "application/octet-stream"
		}
		as := &asset{
			name:        name,
			fingerprint: assetDir + strings.TrimSuffix(name, ext) + "." + hash + ext,
			etag:        `"` + hash + `"`,
			body:        body,
			contentType: ct,
		}
		a.byName[name] = as
		a.byPath[assetDir+name] = as
		a.byPath[as.fingerprint] = as
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load admin assets: %w", err)
	}
	return a, nil
}

// url returns the path below /static/ that pages link to.
func (a *assets) url(name string) string {
	if as, ok := a.byName[name]; ok {
		return as.fingerprint
	}
	return assetDir + name // a template names a missing asset: the request will 404 and the test shows it
}

// ServeHTTP serves /static/admin/<name>; the request path keeps /static/
// (the lead mounts it at the site root) but a stripped path works too.
func (a *assets) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	p := strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, StaticPath), "/")
	as, ok := a.byPath[p]
	if !ok {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", as.contentType)
	h.Set("ETag", as.etag)
	h.Set("X-Content-Type-Options", "nosniff")
	if p == as.fingerprint {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "public, no-cache")
	}
	// No modification time: it would differ between instances behind the
	// gateway, while the ETag (the content hash) does not.
	http.ServeContent(w, r, as.name, time.Time{}, bytes.NewReader(as.body))
}
