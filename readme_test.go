package main

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestReadme: the README stays a newcomer's page (at most about 1,200
// words; the rest is in docs/), and its example requests, sent in order to a
// fresh database, succeed.
func TestReadme(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	if n := len(strings.Fields(readme)); n > 1200 {
		t.Errorf("README.md has %d words, want at most 1,200", n)
	}
	for _, want := range []string{"legacy/README.md", "docs/security.md", "docs/concurrency.md", "docs/observability.md", "MiB"} {
		if !strings.Contains(readme, want) {
			t.Errorf("README.md does not mention %s", want)
		}
	}
	curl := regexp.MustCompile(`curl localhost:8000(\S+) --json '([^']+)'`)
	examples := curl.FindAllStringSubmatch(readme, -1)
	resources := map[string]bool{}
	s := startService(t, nil)
	for _, ex := range examples {
		var body map[string]any
		if err := json.Unmarshal([]byte(ex[2]), &body); err != nil {
			t.Fatalf("README example for %s is not JSON: %v", ex[1], err)
		}
		expect(t, s.do(t, "POST", ex[1], body), 201)
		resources[strings.Split(ex[1], "/")[2]] = true
	}
	for _, r := range []string{"login", "official", "player", "game"} {
		if !resources[r] {
			t.Errorf("README has no example body for %s", r)
		}
	}
}
