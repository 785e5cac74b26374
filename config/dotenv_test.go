package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
)

// trickyDotEnv holds what the hand-written parser got wrong or refused:
// quotes of both kinds, escapes, export, ${VAR} and ${VAR:-default}
// (from the environment and from lines above), comments after values, a
// multi-line value and a bare name that inherits from the environment.
const trickyDotEnv = `# a comment
export EXPORTED=yes
PLAIN=value # a comment after a value
HASH_IN_VALUE=a#b
SINGLE='${NOT_EXPANDED} \n stays'
DOUBLE="tab\tnew\nline \"quoted\""
SPACES =  padded  
FROM_ENV=${HOME_DIR}/data
FROM_ABOVE=${PLAIN}-2
DEFAULTED=${UNSET_VAR:-fallback}
DEFAULTED_EMPTY=${EMPTY_IN_FILE:-used}
EMPTY_IN_FILE=
MULTI="first
second"
INHERITED
WINS=from-file
EQUALS=x=y
`

// TestDotEnvMeansWhatComposeReads feeds the same .env and environment to our
// loader and to compose-go as docker compose loads a project's .env
// (WithEnv for the shell's variables, then WithEnvFiles and WithDotEnv), and
// compares every variable.
func TestDotEnvMeansWhatComposeReads(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".env")
	if err := os.WriteFile(path, []byte(trickyDotEnv), 0o600); err != nil {
		t.Fatal(err)
	}
	process := map[string]string{"HOME_DIR": "/home/x", "INHERITED": "from-shell", "WINS": "from-shell"}
	var processList []string
	for k, v := range process {
		processList = append(processList, k+"="+v)
	}
	opts, err := cli.NewProjectOptions(nil, cli.WithEnv(processList), cli.WithEnvFiles(path), cli.WithDotEnv)
	if err != nil {
		t.Fatal(err)
	}
	getenv, err := WithDotEnv(func(k string) string { return process[k] }, path)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{ // what compose reads, spelled out so the test says what a .env means
		"EXPORTED": "yes", "PLAIN": "value", "HASH_IN_VALUE": "a#b",
		"SINGLE": `${NOT_EXPANDED} \n stays`, "DOUBLE": "tab\tnew\nline \"quoted\"",
		"SPACES": "padded", "FROM_ENV": "/home/x/data", "FROM_ABOVE": "value-2",
		"DEFAULTED": "fallback", "DEFAULTED_EMPTY": "used", "EMPTY_IN_FILE": "",
		"MULTI": "first\nsecond", "INHERITED": "from-shell", "WINS": "from-shell", "EQUALS": "x=y",
	}
	for name, value := range want {
		if got := opts.Environment[name]; got != value {
			t.Errorf("compose reads %s=%q; this test expects %q", name, got, value)
		}
		if got := getenv(name); got != opts.Environment[name] {
			t.Errorf("%s: we read %q, compose reads %q", name, got, opts.Environment[name])
		}
	}
	for name := range opts.Environment {
		if _, ok := want[name]; !ok && process[name] == "" {
			t.Errorf("compose reads %s=%q, which the test does not expect", name, opts.Environment[name])
		}
	}
	if _, err := WithDotEnv(func(string) string { return "" }, writeTemp(t, "BAD LINE WITH SPACES=1\n")); err == nil ||
		!strings.Contains(err.Error(), ".env") {
		t.Errorf("a malformed line: err = %v, want an error naming the file", err)
	}
}

func writeTemp(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), ".env")
	if err := writeFile(path, content); err != nil {
		t.Fatal(err)
	}
	return path
}
