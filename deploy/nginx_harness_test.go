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
)

// gatewayDefaults are the compose values of the template's variables, less
// the ones that name places (port, upstream, resolver, log).
var gatewayDefaults = map[string]string{
	"NGINX_BODY_LIMIT":  "1048576",
	"NGINX_WRITE_RATE":  "20r/s",
	"NGINX_WRITE_BURST": "40",
	"NGINX_LOGIN_RATE":  "30r/m",
	"NGINX_LOGIN_BURST": "10",
}

// gateway is Debian's nginx running nginx.conf natively: the template is
// rendered with envsubst as the official image does, and included from a
// main config that keeps pid, logs and temp files in a temp directory.
type gateway struct {
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

// nativeMainConfig is the main nginx.conf around the rendered template, for
// a run with -p dir: everything nginx writes stays in dir.
func nativeMainConfig(dir string) string {
	user := ""
	if os.Geteuid() == 0 {
		// Workers would drop to "nobody", which cannot enter a 0700 temp dir.
		user = "user root root;\n"
	}
	return fmt.Sprintf(`# Native wrapper (deploy tests): the official image's nginx.conf plays this
# part in Docker.
%sdaemon off;
worker_processes 2;
pid %[2]s/nginx.pid;
error_log %[2]s/error.log notice;
events { worker_connections 1024; }
http {
    default_type application/octet-stream;
    sendfile on;
    client_body_temp_path %[2]s/tmp/client_body;
    proxy_temp_path       %[2]s/tmp/proxy;
    fastcgi_temp_path     %[2]s/tmp/fastcgi;
    uwsgi_temp_path       %[2]s/tmp/uwsgi;
    scgi_temp_path        %[2]s/tmp/scgi;
    include %[2]s/conf.d/*.conf;
}
`, user, dir)
}

// startGateway renders nginx.conf with upstream servers and overrides,
// checks it with `nginx -t` and runs nginx until the test ends.
func startGateway(t testing.TB, servers []string, overrides map[string]string) *gateway {
	t.Helper()
	nginx := requireTool(t, "nginx", "nginx")
	dir := t.TempDir()
	for _, d := range []string{"conf.d", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	port := freePort(t)
	vars := map[string]string{
		"NGINX_PORT":             fmt.Sprint(port),
		"NGINX_RESOLVER":         "127.0.0.1",
		"NGINX_ACCESS_LOG":       filepath.Join(dir, "access.log"),
		"NGINX_UPSTREAM_SERVERS": "",
	}
	for _, s := range servers {
		vars["NGINX_UPSTREAM_SERVERS"] += "server " + s + " max_fails=3 fail_timeout=10s; "
	}
	for k, v := range gatewayDefaults {
		vars[k] = v
	}
	for k, v := range overrides {
		vars[k] = v
	}
	conf := filepath.Join(dir, "nginx.conf")
	write(t, filepath.Join(dir, "conf.d", "gateway.conf"), renderTemplate(t, vars))
	write(t, conf, nativeMainConfig(dir))

	args := []string{"-p", dir, "-c", conf, "-e", filepath.Join(dir, "error.log")}
	if out, err := exec.Command(nginx, append(args, "-t")...).CombinedOutput(); err != nil {
		t.Fatalf("nginx -t: %v\n%s", err, out)
	}
	g := &gateway{URL: fmt.Sprintf("http://127.0.0.1:%d", port), Dir: dir, AccessLog: vars["NGINX_ACCESS_LOG"]}
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
func (g *gateway) accessLog(t testing.TB) []map[string]any {
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
