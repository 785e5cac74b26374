// Package testenv starts the external programs that integration tests need
// (Jaeger, an embedded FerretDB) and applies the project's rule for tests
// whose dependency is missing: skip on a developer machine, fail in CI.
//
// It is imported only by _test.go files.
package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
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
	Skip(t, what)
}

// Skip skips the test for a missing component and records what was missing
// for Main's summary line.
func Skip(t testing.TB, what string) {
	t.Helper()
	skips.add(what)
	t.Skipf("skipped, not available: %s", what)
}

// skips is what this test binary skipped for. It is package state because
// testing.T gives no hook on a skip; it exists only in test binaries.
var skips skipLog

type skipLog struct {
	sync.Mutex
	count map[string]int
}

func (l *skipLog) add(what string) {
	l.Lock()
	defer l.Unlock()
	if l.count == nil {
		l.count = map[string]int{}
	}
	l.count[what]++
}

// summary is one line naming every missing component, or "".
func (l *skipLog) summary(pkg string) string {
	l.Lock()
	defer l.Unlock()
	if len(l.count) == 0 {
		return ""
	}
	n, whats := 0, make([]string, 0, len(l.count))
	for what, c := range l.count {
		n += c
		whats = append(whats, what)
	}
	slices.Sort(whats)
	tests := "tests"
	if n == 1 {
		tests = "test"
	}
	return fmt.Sprintf("SKIP %s: %d %s skipped, missing: %s", pkg, n, tests, strings.Join(whats, "; "))
}

// Main runs a package's tests and then prints one line naming the missing
// components its tests skipped for. `go test ./...` shows a passing
// package's output only with -v, so the line also goes to the terminal
// (/dev/tty) when there is one: a developer sees what did not run in the
// default output. Use it as: func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }.
func Main(m *testing.M) int {
	code := m.Run()
	line := skips.summary(strings.TrimSuffix(filepath.Base(os.Args[0]), ".test"))
	if line == "" {
		return code
	}
	fmt.Println(line)
	if !testing.Verbose() {
		if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
			fmt.Fprintln(tty, line)
			tty.Close()
		}
	}
	return code
}
