package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"gopkg.in/yaml.v3"
)

// HelmVersion is the Helm release the chart is tested with (.ci/helm.sh
// builds it).
const HelmVersion = "v3.22.1"

// Helm returns the helm binary the chart's tests run: $HELM (exported by
// .ci/kube.sh), else the one .ci/helm.sh caches under
// $SPORTS_SERVICE_CACHE/kube/bin, else helm on PATH. None: the test skips
// naming it, or fails in CI.
func Helm(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("HELM"); p != "" {
		if _, err := exec.LookPath(p); err != nil {
			t.Fatalf("HELM=%s: %v", p, err)
		}
		return p
	}
	if cache, err := cacheDir(); err == nil {
		p := filepath.Join(cache, "kube", "bin", "helm")
		if _, err := exec.LookPath(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("helm"); err == nil {
		return p
	}
	RequireOrSkip(t, "helm "+HelmVersion+" (bash .ci/helm.sh builds it into $SPORTS_SERVICE_CACHE/kube/bin, or set HELM)")
	return ""
}

// ChartDir is the service's Helm chart, deploy/helm/sports-service.
func ChartDir(t testing.TB) string {
	t.Helper()
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(root, "deploy", "helm", "sports-service")
}

// ChartValues reads one of the chart's example values files (ci/NAME).
func ChartValues(t testing.TB, name string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(ChartDir(t), "ci", name))
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := yaml.Unmarshal(b, &v); err != nil {
		t.Fatalf("ci/%s: %v", name, err)
	}
	return v
}

// HelmValuesFile writes values to a file for helm's -f, removed at the
// test's end. Not under a directory named after the test: helm splits -f
// at commas, which subtest names may hold.
func HelmValuesFile(t testing.TB, values map[string]any) string {
	t.Helper()
	b, err := yaml.Marshal(values)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.CreateTemp("", "helm-values-*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(f.Name()) })
	defer f.Close()
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
	return f.Name()
}
