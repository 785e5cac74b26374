// Package testenv starts the external programs that integration tests need
// (Jaeger, an embedded FerretDB) and applies the project's rule for tests
// whose dependency is missing: skip on a developer machine, fail in CI.
//
// It is imported only by _test.go files.
package testenv

import (
	"os"
	"strconv"
	"testing"
)

// InCI reports whether the tests run in CI (CI=true, as .ci/run is started),
// where a missing dependency is an error rather than a reason to skip.
func InCI() bool {
	ci, err := strconv.ParseBool(os.Getenv("CI"))
	return err == nil && ci
}

// RequireOrSkip stops the test because what (a short description of the
// missing dependency and how to provide it) is unavailable: it skips the
// test on a developer machine and fails it when CI=true, so that CI never
// turns green by silently skipping its integration tests.
func RequireOrSkip(t testing.TB, what string) {
	t.Helper()
	if InCI() {
		t.Fatalf("required in CI (CI=true): %s", what)
	}
	t.Skipf("skipped, not available: %s", what)
}
