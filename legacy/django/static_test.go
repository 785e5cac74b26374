package django

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
)

func TestStaticAssets(t *testing.T) {
	s := newFakeSite(t)
	b := newBrowser(t, s.URL)
	login := b.get(mount + "/admin/login/")
	links := regexp.MustCompile(`(?:href|src)="(/static/[^"]+)"`).FindAllStringSubmatch(login.body, -1)
	if len(links) != 3 {
		t.Fatalf("want css, icon and script links, got %v", links)
	}
	types := map[string]string{".css": "text/css", ".js": "text/javascript", ".svg": "image/svg+xml"}
	for _, l := range links {
		path := l[1]
		if !regexp.MustCompile(`^/static/admin/[a-z]+\.[0-9a-f]{12}\.(css|js|svg)$`).MatchString(path) {
			t.Fatalf("%s is not fingerprinted", path)
		}
		r := b.get(path)
		expect(t, r, 200, "")
		ext := path[strings.LastIndex(path, "."):]
		if !strings.HasPrefix(r.Header.Get("Content-Type"), types[ext]) {
			t.Errorf("%s: Content-Type %q", path, r.Header.Get("Content-Type"))
		}
		if r.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" || r.Header.Get("ETag") == "" {
			t.Errorf("%s: headers %v", path, r.Header)
		}
		req, _ := http.NewRequest("GET", s.URL+path, nil)
		req.Header.Set("If-None-Match", r.Header.Get("ETag"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotModified {
			t.Errorf("%s with If-None-Match: %d", path, resp.StatusCode)
		}
	}
	plain := b.get("/static/admin/admin.css")
	expect(t, plain, 200, "")
	if plain.Header.Get("Cache-Control") != "public, no-cache" {
		t.Errorf("plain name: Cache-Control %q", plain.Header.Get("Cache-Control"))
	}
	expect(t, b.get("/static/admin/admin.000000000000.css"), 404, "")
	expect(t, b.get("/static/admin/../django.go"), 404, "")
	expect(t, b.post("/static/admin/admin.css", nil), 405, "")
}
