// Package legacy holds what the sub-applications mounted under /ch11/flask
// and /ch11/django share: mounting a plain http.Handler under a path prefix
// the way WSGI does with SCRIPT_NAME, so that every link, redirect and form
// action the application writes carries the prefix, also behind a gateway
// that forwards a sub-path (X-Forwarded-Prefix).
//
// Nothing here imports Gin: the applications are ordinary net/http handlers
// and package legacy/mount holds the Gin glue.
package legacy

import (
	"context"
	"net/http"
	"net/url"
	"path"
	"strings"
)

// ForwardedPrefixHeader is the header a gateway (NGINX: proxy_set_header
// X-Forwarded-Prefix /sports;) sets when it serves the service under a sub-path.
const ForwardedPrefixHeader = "X-Forwarded-Prefix"

// Prefix is where a mounted application lives, as the client sees it: like
// WSGI's SCRIPT_NAME, split in two because the admin site also links to the
// site-wide /static/ mount, which sits under the gateway's prefix but not
// under the application's.
type Prefix struct {
	// Gateway is the sanitised X-Forwarded-Prefix ("" or "/a/b", no trailing slash).
	Gateway string
	// Mount is the path the application is mounted at, e.g. "/ch11/django".
	Mount string
}

// App returns the client-visible URL path of path (which starts with "/")
// inside the application.
func (p Prefix) App(path string) string { return p.Gateway + p.Mount + path }

// Site returns the client-visible URL path of a site-wide path such as
// "/static/admin/admin.css".
func (p Prefix) Site(path string) string { return p.Gateway + path }

type prefixKey struct{}

// WithPrefix returns ctx carrying p; Mount does this for every request.
func WithPrefix(ctx context.Context, p Prefix) context.Context {
	return &prefixContext{Context: ctx, prefix: p}
}

// prefixContext is context.WithValue(ctx, prefixKey{}, p) in one allocation
// instead of two (the node and p boxed in an interface): it is made for
// every request to a mounted application.
type prefixContext struct {
	context.Context
	prefix Prefix
	// url is Mount's copy of the request's URL, which it allocates here.
	url url.URL
}

func (c *prefixContext) Value(key any) any {
	if _, ok := key.(prefixKey); ok {
		return &c.prefix // a pointer: returning the struct would box it on every lookup
	}
	return c.Context.Value(key)
}

// PrefixFrom returns the prefix Mount stored in ctx, or the zero Prefix (an
// application served at the root) when there is none.
func PrefixFrom(ctx context.Context) Prefix {
	if p, ok := ctx.Value(prefixKey{}).(*Prefix); ok {
		return *p
	}
	return Prefix{}
}

// Mount serves app under mount (e.g. "/ch11/flask"): requests for mount or
// below reach app with the prefix stripped from URL.Path (so app sees "/" and
// "/index"), and the client-visible prefix in the request context (PrefixFrom).
// Requests outside mount get 404, as http.StripPrefix does.
func Mount(mount string, app http.Handler) http.Handler {
	mount = strings.TrimRight(mount, "/")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rest, ok := strip(r.URL.Path, mount)
		if !ok {
			http.NotFound(w, r)
			return
		}
		p := Prefix{Gateway: sanitizeGateway(r.Header.Get(ForwardedPrefixHeader)), Mount: mount}
		// http.ServeMux would redirect an unclean path ("//x", "/a/../b")
		// to a Location without the prefix; redirect here, with it.
		if clean := cleanPath(rest); clean != rest {
			target := p.App(clean)
			if r.URL.RawQuery != "" {
				target += "?" + r.URL.RawQuery
			}
			http.Redirect(w, r, target, http.StatusMovedPermanently)
			return
		}
		// The context and the copy of the URL share one allocation.
		ctx := &prefixContext{Context: r.Context(), prefix: p, url: *r.URL}
		r2 := r.WithContext(ctx)
		u := &ctx.url
		u.Path = rest
		u.RawPath = ""
		if raw, ok := strip(r.URL.RawPath, mount); ok && r.URL.RawPath != "" {
			u.RawPath = raw
		}
		r2.URL = u
		app.ServeHTTP(w, r2)
	})
}

// strip removes mount from the front of path when path is mount or lies
// below it; the rest always starts with "/".
func strip(path, mount string) (string, bool) {
	if path == mount {
		return "/", true
	}
	// path[len(mount):] is the rest with its slash: no concatenation.
	if len(path) > len(mount) && path[len(mount)] == '/' && strings.HasPrefix(path, mount) {
		return path[len(mount):], true
	}
	return "", false
}

// cleanPath is path.Clean keeping a trailing slash, as http.ServeMux does.
func cleanPath(p string) string {
	clean := path.Clean(p)
	if strings.HasSuffix(p, "/") && clean != "/" {
		clean += "/"
	}
	return clean
}

// sanitizeGateway accepts a forwarded prefix only when it is a plain absolute
// path of safe characters. The header comes from the client when no gateway
// overwrites it, and it ends up in Location headers and links: "//evil.example"
// or "/x\"><script>" must never get there, so anything unusual is dropped
// rather than escaped.
func sanitizeGateway(h string) string {
	h = strings.TrimRight(strings.TrimSpace(h), "/")
	if h == "" || h[0] != '/' || len(h) > 256 {
		return ""
	}
	for _, seg := range strings.Split(h[1:], "/") {
		if seg == "" || seg == "." || seg == ".." {
			return ""
		}
		for _, c := range seg {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("-._~", c)) {
				return ""
			}
		}
	}
	return h
}
