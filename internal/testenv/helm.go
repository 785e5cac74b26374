package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
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
