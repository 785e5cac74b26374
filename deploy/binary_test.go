package deploy

import (
	"bufio"
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/osms/sports-service/internal/testenv"
)

// The deployment target is an image under 30 MB. The image is scratch with
// the binary, CA certificates and a passwd entry, so its size is
// their sum, which TestImageBuild checks. binaryBudget guards the binary's
// own growth: it was 26.5 MiB stripped with -tags noembed,nomsgpack and the
// Swagger UI stored compressed, and 27.4 MiB after sign-in (JWT), ReDoc's
// compressed bundle, versions and idempotency; most of it is the MongoDB driver,
// OpenTelemetry with gRPC and protobuf, Huma, Gin (which links quic-go for
// its HTTP/3 server) and Prometheus (docs/deployment.md, "The image").
const (
	binaryBudget = 28 << 20
	imageBudget  = 30_000_000
)

// Build arguments given to the Docker-equivalent build.
var buildArgs = map[string]string{
	"VERSION":    "9.8.7-deploytest",
	"COMMIT":     "0123456789abcdef0123456789abcdef01234567",
	"BUILD_TIME": "2026-01-02T03:04:05Z",
}

var builds struct {
	sync.Mutex
	image, app string
	dir        string
}

// buildDir is one temp dir for the binaries of the whole test run.
func buildDir(t testing.TB) string {
	if builds.dir == "" {
		d, err := os.MkdirTemp("", "deploy-bin-")
		if err != nil {
			t.Fatal(err)
		}
		builds.dir = d
	}
	return builds.dir
}

// imageBinary builds /sports-service the way the Dockerfile does: the build
// context is the repository less what .dockerignore excludes, and the
// command is the go build RUN of the Dockerfile's build stage, run by sh with
// the build args set. Built once per test run.
func imageBinary(t testing.TB) string {
	t.Helper()
	return buildOnce(t, &builds.image, buildImage)
}

func buildImage(t testing.TB) string {
	ctxDir := filepath.Join(buildDir(t), "context")
	copyBuildContext(t, testenv.RepoRoot(t), ctxDir)

	res, err := parser.Parse(bytes.NewReader(readRoot(t, "Dockerfile")))
	if err != nil {
		t.Fatal(err)
	}
	stages, _, err := instructions.Parse(res.AST, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The build stage's RUNs after its COPY of the sources: the go build
	// and the runtime's files.
	var scripts []string
	for _, c := range stages[0].Commands {
		if r, ok := c.(*instructions.RunCommand); ok && !strings.Contains(strings.Join(r.CmdLine, " "), "go mod download") {
			scripts = append(scripts, strings.Join(r.CmdLine, " "))
		}
	}
	if len(scripts) == 0 {
		t.Fatal("the Dockerfile's build stage has no RUN")
	}
	out := filepath.Join(buildDir(t), "image")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, script := range scripts {
		// The only change: the image's /out/ is a temp dir here.
		script = strings.ReplaceAll(script, "/out/", out+"/")
		cmd := exec.Command("sh", "-ec", script)
		cmd.Dir = ctxDir
		cmd.Env = append(os.Environ(), "TARGETOS="+runtime.GOOS, "TARGETARCH="+runtime.GOARCH)
		for k, v := range buildArgs {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("the Dockerfile's build stage, run in the .dockerignore'd context: %v\n%s\n%s", err, script, b)
		}
	}
	return filepath.Join(out, "sports-service")
}

// appBinary is a default build (with the embedded FerretDB) for the native
// stack: no MongoDB runs here.
func appBinary(t testing.TB) string {
	t.Helper()
	return buildOnce(t, &builds.app, buildApp)
}

func buildApp(t testing.TB) string {
	out := filepath.Join(buildDir(t), "app", "sports-service")
	ldflags := fmt.Sprintf("-X main.version=%s -X main.commit=%s -X main.buildTime=%s",
		buildArgs["VERSION"], buildArgs["COMMIT"], buildArgs["BUILD_TIME"])
	cmd := exec.Command("go", "build", "-ldflags", ldflags, "-o", out, ".")
	cmd.Dir = testenv.RepoRoot(t)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	return out
}

// buildOnce runs build the first time and keeps its result in *slot.
func buildOnce(t testing.TB, slot *string, build func(testing.TB) string) string {
	t.Helper()
	builds.Lock()
	defer builds.Unlock()
	if *slot == "" {
		*slot = build(t)
	}
	return *slot
}

// copyBuildContext copies what `docker build .` would send.
func copyBuildContext(t testing.TB, root, dst string) {
	t.Helper()
	pm := dockerignore(t)
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if rel == "." {
			return os.MkdirAll(dst, 0o755)
		}
		if ignored, _ := pm.MatchesOrParentMatches(filepath.ToSlash(rel)); ignored {
			if d.IsDir() && !pm.Exclusions() {
				return filepath.SkipDir
			}
			return nil
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestImageBuild: the Dockerfile's build, run natively on its context, gives
// a static binary within the image budget that reports its build args.
func TestImageBuild(t *testing.T) {
	bin := imageBinary(t)
	fi, err := os.Stat(bin)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("stripped image binary: %d bytes (%.1f MiB)", fi.Size(), float64(fi.Size())/(1<<20))
	if fi.Size() > binaryBudget {
		t.Errorf("binary is %.1f MiB, over the %d MiB budget", float64(fi.Size())/(1<<20), binaryBudget>>20)
	}

	// The rest of the image: the files the build stage prepares for the
	// scratch runtime.
	rootfs := filepath.Join(filepath.Dir(bin), "rootfs")
	var rest int64
	err = filepath.WalkDir(rootfs, func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			var info fs.FileInfo
			if info, err = d.Info(); err == nil {
				rest += info.Size()
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if image := fi.Size() + rest; image >= imageBudget {
		t.Errorf("image content %d bytes (binary %d + files %d), over the %d target", image, fi.Size(), rest, imageBudget)
	} else {
		t.Logf("image content: %d bytes (%.1f MB), binary %d + runtime files %d", image, float64(image)/1e6, fi.Size(), rest)
	}
	certs, err := os.ReadFile(filepath.Join(rootfs, "etc/ssl/certs/ca-certificates.crt"))
	if pool := x509.NewCertPool(); err != nil || !pool.AppendCertsFromPEM(certs) {
		t.Errorf("the image's CA bundle is missing or holds no certificate: %v", err)
	}
	passwd, err := os.ReadFile(filepath.Join(rootfs, "etc/passwd"))
	if err != nil || !regexp.MustCompile(`(?m)^nonroot:x:65532:65532:[^:]*:[^:]*:/sbin/nologin$`).Match(passwd) {
		t.Errorf("the image's /etc/passwd lacks the nonroot user 65532: %q %v", passwd, err)
	}
	if group, err := os.ReadFile(filepath.Join(rootfs, "etc/group")); err != nil || !strings.Contains(string(group), "nonroot:x:65532:") {
		t.Errorf("the image's /etc/group lacks nonroot: %q %v", group, err)
	}
	elf, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(elf, []byte("/lib64/ld-linux")) || bytes.Contains(elf, []byte("libc.so")) {
		t.Error("the binary is dynamically linked: it cannot run on scratch")
	}
	out, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != buildArgs["VERSION"] {
		t.Errorf("sports-service version: %q %v, want %s", out, err, buildArgs["VERSION"])
	}

	// Without MONGODB_URI the image's binary stops and says why.
	cmd := exec.Command(bin)
	cmd.Dir = t.TempDir()
	cmd.Env = []string{"LISTEN_ADDR=127.0.0.1:0", "PATH=" + os.Getenv("PATH")}
	out, err = cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || !strings.Contains(string(out), "MONGODB_URI") {
		t.Errorf("noembed binary without MONGODB_URI: %v %q, want a non-zero exit naming MONGODB_URI", err, out)
	}
}

// instance is one running service process.
type instance struct {
	Addr string // host:port
	URL  string
	Log  string // its stdout: JSON log lines
	cmd  *exec.Cmd
	done chan struct{}
}

// startInstance runs bin on a free loopback port with env added, and waits
// until /health/ready answers 200 (when ready is set) or /health/live does.
func startInstance(t testing.TB, bin string, ready bool, env ...string) *instance {
	t.Helper()
	dir, err := os.MkdirTemp(buildDir(t), "instance-")
	if err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	in := &instance{Addr: fmt.Sprintf("127.0.0.1:%d", port), Log: filepath.Join(dir, "stdout.log"), done: make(chan struct{})}
	in.URL = "http://" + in.Addr
	logf, err := os.Create(in.Log)
	if err != nil {
		t.Fatal(err)
	}
	in.cmd = exec.Command(bin)
	in.cmd.Dir = dir // no stray .env
	in.cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + dir,
		"LISTEN_ADDR=" + in.Addr,
		"DATA_DIR=" + filepath.Join(dir, "data"),
		"LOG_FORMAT=json",
	}, env...)
	in.cmd.Stdout, in.cmd.Stderr = logf, logf
	if err := in.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = in.cmd.Wait(); logf.Close(); close(in.done) }()
	path := "/health/live"
	if ready {
		path = "/health/ready"
	}
	waitFor(t, bin+" on "+in.Addr+path, in.done, func() bool {
		resp, err := http.Get(in.URL + path)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return in
}

// stop ends the instance: SIGTERM (graceful), or SIGKILL with kill set.
func (in *instance) stop(kill bool) {
	select {
	case <-in.done:
		return
	default:
	}
	if kill {
		_ = in.cmd.Process.Kill()
	} else {
		_ = in.cmd.Process.Signal(syscall.SIGTERM)
	}
	select {
	case <-in.done:
	case <-time.After(30 * time.Second):
		_ = in.cmd.Process.Kill()
		<-in.done
	}
}

// logLines returns the instance's JSON log lines so far.
func (in *instance) logLines(t testing.TB) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(in.Log)
	if err != nil {
		t.Fatal(err)
	}
	var lines []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil {
			lines = append(lines, m)
		}
	}
	return lines
}

// healthcheck runs `bin healthcheck` with env and returns its exit code.
func healthcheck(t *testing.T, bin string, env ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "healthcheck")
	cmd.Dir = t.TempDir()
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, out.String()
	case errors.As(err, &exit):
		return exit.ExitCode(), out.String()
	default:
		t.Fatalf("healthcheck: %v", err)
		return -1, ""
	}
}

// TestHealthcheckCommand: the image's HEALTHCHECK command exits 0 against a
// ready service and non-zero when nothing listens or the database is down.
func TestHealthcheckCommand(t *testing.T) {
	bin := imageBinary(t)

	// Nothing listens on the port.
	if code, out := healthcheck(t, bin, fmt.Sprintf("LISTEN_ADDR=:%d", freePort(t)), "MONGODB_URI=mongodb://127.0.0.1:1"); code == 0 {
		t.Errorf("no service: healthcheck exited 0: %s", out)
	}

	// Live but not ready: the database does not answer.
	down := startInstance(t, bin, false, "MONGODB_URI=mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=300", "READY_TIMEOUT=500ms")
	defer down.stop(false)
	_, port, _ := strings.Cut(down.Addr, ":")
	if code, out := healthcheck(t, bin, "LISTEN_ADDR=:"+port); code == 0 {
		t.Errorf("database down: healthcheck exited 0: %s", out)
	}

	// Ready: the app binary with its embedded database.
	up := startInstance(t, appBinary(t), true)
	defer up.stop(false)
	_, port, _ = strings.Cut(up.Addr, ":")
	if code, out := healthcheck(t, bin, "LISTEN_ADDR=:"+port); code != 0 {
		t.Errorf("ready service: healthcheck exited %d: %s", code, out)
	}
}

// get is a GET with the body read.
func get(t testing.TB, url string) (*http.Response, string) {
	t.Helper()
	return do(t, http.DefaultClient, http.MethodGet, url, "", nil)
}

// drain reads a response body fully (keepalive).
func drain(r io.ReadCloser) { _, _ = io.Copy(io.Discard, r); r.Close() }
