package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/osms/sports-service/internal/testenv"
)

// TestMain removes the binaries built for the run once every test is done
// (their processes are stopped by the tests' cleanups).
func TestMain(m *testing.M) {
	code := testenv.Main(m)
	if builds.dir != "" {
		os.RemoveAll(builds.dir)
	}
	os.Exit(code)
}

// readRoot returns the contents of a file at the repository root.
func readRoot(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// requireTool returns the path of an executable, or skips the test naming it
// (fails in CI). path may be absolute or a name looked up in $PATH.
func requireTool(t testing.TB, path, apt string) string {
	t.Helper()
	p, err := exec.LookPath(path)
	if err == nil {
		return p
	}
	testenv.RequireOrSkip(t, path+" not found ("+err.Error()+"); install it with: apt-get install -y "+apt)
	return ""
}
