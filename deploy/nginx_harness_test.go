package deploy

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/osms/sports-service/internal/gateway"
)

// gatewayProc is Debian's nginx running nginx.conf natively: the template is
// rendered with envsubst as the official image does, and included from a
// main config that keeps pid, logs and temp files in a temp directory.
type gatewayProc struct {
	URL       string
	Dir       string
	AccessLog string
	cmd       *exec.Cmd
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startGateway renders nginx.conf with upstream servers and overrides,
// checks it with `nginx -t` and runs nginx until the test ends.
func startGateway(t testing.TB, servers []string, overrides map[string]string) *gatewayProc {
	t.Helper()
	nginx := requireTool(t, "nginx", "nginx")
	requireTool(t, "envsubst", "gettext-base")
	dir := t.TempDir()
	port := freePort(t)
	vars := gateway.Defaults()
	vars["NGINX_PORT"] = fmt.Sprint(port)
	vars["NGINX_RESOLVER"] = "127.0.0.1"
	vars["NGINX_ACCESS_LOG"] = filepath.Join(dir, "access.log")
	vars["NGINX_UPSTREAM_SERVERS"] = gateway.Upstreams(servers...)
	for k, v := range overrides {
		vars[k] = v
	}
	args, err := gateway.Prepare(nginx, gateway.Config{Dir: dir, Template: readRoot(t, "nginx.conf"), Vars: vars, ErrorLogLevel: "notice"})
	if err != nil {
		t.Fatal(err)
	}
	g := &gatewayProc{URL: fmt.Sprintf("http://127.0.0.1:%d", port), Dir: dir, AccessLog: vars["NGINX_ACCESS_LOG"]}
	g.cmd = exec.Command(nginx, args...)
	stderr, err := os.Create(filepath.Join(dir, "stderr.log"))
	if err != nil {
		t.Fatal(err)
	}
	g.cmd.Stdout, g.cmd.Stderr = stderr, stderr
	if err := g.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = g.cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = g.cmd.Process.Signal(syscall.SIGQUIT) // graceful: workers finish, then exit
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = g.cmd.Process.Kill()
			<-exited
		}
		stderr.Close()
		if t.Failed() {
			for _, f := range []string{"error.log", "stderr.log"} {
				t.Logf("nginx %s (last lines, rate-limit warnings left out):\n%s", f, tail(filepath.Join(dir, f), 30, "limiting requests"))
			}
		}
	})
	waitFor(t, "nginx to listen on "+g.URL, exited, func() bool {
		c, err := net.DialTimeout("tcp", g.URL[len("http://"):], time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return g
}

// accessLog returns the gateway's access log entries so far.
func (g *gatewayProc) accessLog(t testing.TB) []map[string]any {
	t.Helper()
	f, err := os.Open(g.AccessLog)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var entries []map[string]any
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var e map[string]any
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("access log line is not JSON: %v: %s", err, sc.Text())
		}
		entries = append(entries, e)
	}
	return entries
}

// waitFor polls cond until it holds; it fails the test when the process
// behind exited ends first or after a generous minute (a hang, not a timing
// assertion).
func waitFor(t testing.TB, what string, exited <-chan struct{}, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		select {
		case <-exited:
			t.Fatalf("waiting for %s: the process exited", what)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func write(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// do sends a request and returns the response with its body read.
func do(t testing.TB, c *http.Client, method, url, body string, header http.Header) (*http.Response, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	if body != "" && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	if _, err := bufio.NewReader(resp.Body).WriteTo(&b); err != nil {
		t.Fatalf("%s %s: reading body: %v", method, url, err)
	}
	return resp, b.String()
}

// clientFrom is an HTTP client whose connections come from a given loopback
// address, so each rate-limit test has its own bucket (nginx keys on the
// client address).
func clientFrom(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
}

// tail returns the last n lines of a file that do not contain skip.
func tail(path string, n int, skip string) string {
	b, _ := os.ReadFile(path)
	var keep []string
	for _, l := range strings.Split(string(b), "\n") {
		if l != "" && !strings.Contains(l, skip) {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep[max(0, len(keep)-n):], "\n")
}
