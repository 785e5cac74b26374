package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The Go side must find each jar exactly where .ci/maven-jar.sh puts it.
func TestCachedMavenJarMatchesScript(t *testing.T) {
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ dir, name string }{
		{"registry", "eureka-server"},
		{"interop/spring-client", "interop-spring-client"},
	} {
		t.Run(tc.dir, func(t *testing.T) {
			got, err := cachedMavenJar(tc.dir, tc.name)
			if err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command("bash", filepath.Join(root, ".ci", "maven-jar.sh"), "--print-path", tc.dir, tc.name).Output()
			if err != nil {
				t.Fatalf("maven-jar.sh --print-path: %v", err)
			}
			if want := strings.TrimSpace(string(out)); got != want {
				t.Errorf("Go computes %s; the script caches at %s", got, want)
			}
			if !strings.HasPrefix(filepath.Base(got), tc.name+"-") || filepath.Ext(got) != ".jar" {
				t.Errorf("unexpected jar path %s", got)
			}
		})
	}
	// CI builds the registry before the tests, so its jar must be there.
	if jar, _ := cachedJarPath(); InCI() {
		if _, err := os.Stat(jar); err != nil {
			t.Fatalf("CI runs .ci/registry.sh first, so the jar must be at %s: %v", jar, err)
		}
	}
}
