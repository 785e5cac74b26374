package deploy

import (
	"bufio"
	"bytes"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

type dockerfile struct {
	ast      *parser.Node
	stages   []instructions.Stage
	metaArgs []instructions.ArgCommand
}

// parseDockerfile parses the Dockerfile with BuildKit's parser and turns it
// into typed instructions with BuildKit's linter on; any parser or linter
// warning fails the test.
func parseDockerfile(t *testing.T) dockerfile {
	t.Helper()
	res, err := parser.Parse(bytes.NewReader(readRoot(t, "Dockerfile")))
	if err != nil {
		t.Fatalf("Dockerfile does not parse: %v", err)
	}
	for _, w := range res.Warnings {
		t.Errorf("parser warning: %s (line %v)", w.Short, w.Location)
	}
	lint := linter.New(&linter.Config{
		Warn: func(rule, description, url, msg string, loc []parser.Range) {
			t.Errorf("lint %s: %s (line %v)", rule, msg, loc)
		},
	})
	stages, metaArgs, err := instructions.Parse(res.AST, lint)
	if err != nil {
		t.Fatalf("Dockerfile instructions: %v", err)
	}
	return dockerfile{res.AST, stages, metaArgs}
}

func dockerignore(t testing.TB) *patternmatcher.PatternMatcher {
	t.Helper()
	patterns, err := ignorefile.ReadAll(bytes.NewReader(readRoot(t, ".dockerignore")))
	if err != nil {
		t.Fatal(err)
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		t.Fatal(err)
	}
	return pm
}

// goVersion is the go directive of go.mod.
func goVersion(t *testing.T) string {
	sc := bufio.NewScanner(bytes.NewReader(readRoot(t, "go.mod")))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "go "); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatal("go.mod has no go directive")
	return ""
}

func commands[T instructions.Command](s instructions.Stage) []T {
	var out []T
	for _, c := range s.Commands {
		if tc, ok := c.(T); ok {
			out = append(out, tc)
		}
	}
	return out
}

func code(c instructions.Command) string { return fmt.Sprint(c) }

// TestDockerfileLint covers the BuildKit lint rules that run outside
// dockerfile2llb (which would pull containerd, gRPC and OpenTelemetry into
// go.mod): casing, exec-form commands, key=value form, absolute WORKDIR,
// defaults of the ARGs used in FROM, and COPY sources the .dockerignore drops.
func TestDockerfileLint(t *testing.T) {
	df := parseDockerfile(t)

	for _, n := range df.ast.Children {
		word, rest, _ := strings.Cut(strings.TrimSpace(n.Original), " ")
		if word != strings.ToUpper(word) {
			t.Errorf("line %d: ConsistentInstructionCasing: %q is not upper case", n.StartLine, word)
		}
		switch strings.ToUpper(word) {
		case "ENV", "LABEL":
			if first, _, _ := strings.Cut(strings.TrimSpace(rest), " "); !strings.Contains(first, "=") {
				t.Errorf("line %d: LegacyKeyValueFormat: use %s key=value", n.StartLine, word)
			}
		case "MAINTAINER":
			t.Errorf("line %d: MaintainerDeprecated", n.StartLine)
		}
	}

	defaults := map[string]bool{}
	for _, a := range df.metaArgs {
		for _, kv := range a.Args {
			defaults[kv.Key] = kv.Value != nil && *kv.Value != ""
		}
	}
	argRef := regexp.MustCompile(`\$\{?([A-Za-z_][A-Za-z0-9_]*)`)
	pm := dockerignore(t)
	for _, s := range df.stages {
		for _, m := range argRef.FindAllStringSubmatch(s.BaseName, -1) {
			if m[1] != "BUILDPLATFORM" && m[1] != "TARGETPLATFORM" && !defaults[m[1]] {
				t.Errorf("FROM %s: InvalidDefaultArgInFrom: ARG %s needs a default", s.BaseName, m[1])
			}
		}
		for _, w := range commands[*instructions.WorkdirCommand](s) {
			if !path.IsAbs(w.Path) {
				t.Errorf("WorkdirRelativePath: WORKDIR %s", w.Path)
			}
		}
		for _, c := range commands[*instructions.EntrypointCommand](s) {
			if c.PrependShell {
				t.Errorf("JSONArgsRecommended: %s", code(c))
			}
		}
		for _, c := range commands[*instructions.CmdCommand](s) {
			if c.PrependShell {
				t.Errorf("JSONArgsRecommended: %s", code(c))
			}
		}
		for _, c := range commands[*instructions.CopyCommand](s) {
			if c.From != "" {
				continue
			}
			for _, src := range c.SourcePaths {
				if ignored, _ := pm.MatchesOrParentMatches(path.Clean(src)); ignored && src != "." {
					t.Errorf("CopyIgnoredFile: %s copies %s, which .dockerignore excludes", code(c), src)
				}
			}
		}
	}
}

// TestDockerfileStages checks the build described in the deployment issue.
func TestDockerfileStages(t *testing.T) {
	df := parseDockerfile(t)
	if len(df.stages) != 2 {
		t.Fatalf("stages = %d, want build and runtime", len(df.stages))
	}
	build, runtime := df.stages[0], df.stages[1]

	t.Run("build", func(t *testing.T) {
		var goArg string
		for _, a := range df.metaArgs {
			for _, kv := range a.Args {
				if kv.Key == "GO_VERSION" && kv.Value != nil {
					goArg = *kv.Value
				}
			}
		}
		if build.BaseName != "golang:${GO_VERSION}-bookworm" || goArg != goVersion(t) {
			t.Errorf("FROM %s with GO_VERSION=%s; want golang:${GO_VERSION}-bookworm with go.mod's %s",
				build.BaseName, goArg, goVersion(t))
		}

		// go.mod and go.sum are copied and downloaded before the sources.
		var order []string
		for _, c := range build.Commands {
			switch c := c.(type) {
			case *instructions.CopyCommand:
				order = append(order, "COPY "+strings.Join(c.SourcePaths, " "))
			case *instructions.RunCommand:
				line := strings.Join(c.CmdLine, " ")
				switch {
				case strings.Contains(line, "go mod download"):
					order = append(order, "download")
					if !strings.Contains(code(c), "--mount=type=cache,target=/go/pkg/mod") {
						t.Errorf("go mod download without a module cache mount: %s", code(c))
					}
				case strings.Contains(line, "go build"):
					order = append(order, "build")
				}
			}
		}
		if want := []string{"COPY go.mod go.sum", "download", "COPY .", "build"}; !slices.Equal(order, want) {
			t.Errorf("build stage order = %q, want %q", order, want)
		}

		run := buildRun(t, build)
		for _, want := range []string{
			"CGO_ENABLED=0", "go build", "-trimpath", "-tags noembed,nomsgpack",
			`-ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT} -X main.buildTime=${BUILD_TIME}"`,
		} {
			if !strings.Contains(strings.Join(run.CmdLine, " "), want) {
				t.Errorf("go build RUN lacks %s", want)
			}
		}
		for _, mount := range []string{"--mount=type=cache,target=/go/pkg/mod", "--mount=type=cache,target=/root/.cache/go-build"} {
			if !strings.Contains(code(run), mount) {
				t.Errorf("go build RUN lacks %s", mount)
			}
		}
		var args []string
		for _, a := range commands[*instructions.ArgCommand](build) {
			for _, kv := range a.Args {
				args = append(args, kv.Key)
			}
		}
		for _, want := range []string{"VERSION", "COMMIT", "BUILD_TIME", "TARGETOS", "TARGETARCH"} {
			if !slices.Contains(args, want) {
				t.Errorf("build stage does not declare ARG %s", want)
			}
		}
	})

	t.Run("runtime", func(t *testing.T) {
		if runtime.BaseName != "scratch" {
			t.Errorf("FROM %s, want scratch", runtime.BaseName)
		}
		// A numeric user: scratch has no user database of its own, and
		// Kubernetes' runAsNonRoot can only verify a numeric one.
		users := commands[*instructions.UserCommand](runtime)
		if len(users) == 0 {
			t.Error("no USER: the image would run as root")
		} else if u := users[len(users)-1].User; u != "65532:65532" {
			t.Errorf("USER %s, want 65532:65532 (nonroot in the image's /etc/passwd)", u)
		}
		var ports []string
		for _, e := range commands[*instructions.ExposeCommand](runtime) {
			ports = append(ports, e.Ports...)
		}
		if !slices.Equal(ports, []string{"8000"}) {
			t.Errorf("EXPOSE %v, want 8000", ports)
		}
		hcs := commands[*instructions.HealthCheckCommand](runtime)
		if len(hcs) != 1 || !slices.Equal(hcs[0].Health.Test, []string{"CMD", "/sports-service", "healthcheck"}) {
			t.Errorf("HEALTHCHECK = %v, want CMD [\"/sports-service\",\"healthcheck\"]", hcs)
		} else if h := hcs[0].Health; h.Interval == 0 || h.Timeout == 0 || h.Retries == 0 {
			t.Errorf("HEALTHCHECK without interval/timeout/retries: %+v", h)
		}
		stops := commands[*instructions.StopSignalCommand](runtime)
		if len(stops) != 1 || stops[0].Signal != "SIGTERM" {
			t.Errorf("STOPSIGNAL = %v, want SIGTERM", stops)
		}
		eps := commands[*instructions.EntrypointCommand](runtime)
		if len(eps) != 1 || !slices.Equal(eps[0].CmdLine, []string{"/sports-service"}) {
			t.Errorf("ENTRYPOINT = %v, want [\"/sports-service\"]", eps)
		}
		var copies []string
		for _, c := range commands[*instructions.CopyCommand](runtime) {
			if c.From != build.Name {
				t.Errorf("runtime COPY from %q, want the build stage", c.From)
			}
			copies = append(copies, strings.Join(c.SourcePaths, " ")+" -> "+c.DestPath)
		}
		if want := []string{"/out/rootfs/ -> /", "/out/sports-service -> /sports-service"}; !slices.Equal(copies, want) {
			t.Errorf("runtime COPY = %q, want %q: the binary and its CA certificates and passwd", copies, want)
		}
	})
}

// buildRun is the build stage's RUN that calls go build.
func buildRun(t *testing.T, build instructions.Stage) *instructions.RunCommand {
	t.Helper()
	for _, r := range commands[*instructions.RunCommand](build) {
		if strings.Contains(strings.Join(r.CmdLine, " "), "go build") {
			return r
		}
	}
	t.Fatal("the build stage has no RUN go build")
	return nil
}
