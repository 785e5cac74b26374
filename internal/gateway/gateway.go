// Package gateway prepares the repository's nginx.conf template to run
// natively on Debian's nginx, as the deploy tests and the bench suite do: the
// template rendered with envsubst exactly as the official nginx image renders
// it, inside a main configuration that keeps the pid, logs and temp files in
// one directory.
package gateway

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// Defaults are docker-compose.yaml's values for the template's variables,
// less the ones that name places (port, upstreams, resolver, access log).
func Defaults() map[string]string {
	return map[string]string{
		"NGINX_BODY_LIMIT":  "1048576",
		"NGINX_WRITE_RATE":  "20r/s",
		"NGINX_WRITE_BURST": "40",
		"NGINX_LOGIN_RATE":  "30r/m",
		"NGINX_LOGIN_BURST": "10",
	}
}

// Upstreams is the NGINX_UPSTREAM_SERVERS value for host:port addresses.
func Upstreams(addrs ...string) string {
	var b strings.Builder
	for _, a := range addrs {
		b.WriteString("server " + a + " max_fails=3 fail_timeout=10s; ")
	}
	return b.String()
}

// Render substitutes vars into the template with envsubst, naming only those
// variables, as the image's entrypoint does, so nginx's own $variables pass
// through.
func Render(template []byte, vars map[string]string) (string, error) {
	envsubst, err := exec.LookPath("envsubst")
	if err != nil {
		return "", fmt.Errorf("envsubst is not installed (apt-get install gettext-base): %w", err)
	}
	names := make([]string, 0, len(vars))
	// Decoys: nginx variables of the same names as these must survive.
	environ := []string{"host=DECOY", "request_id=DECOY", "remote_addr=DECOY"}
	for name, value := range vars {
		names = append(names, "${"+name+"}")
		environ = append(environ, name+"="+value)
	}
	slices.Sort(names)
	cmd := exec.Command(envsubst, strings.Join(names, " "))
	cmd.Env = environ
	cmd.Stdin = bytes.NewReader(template)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("envsubst: %w: %s", err, stderr.String())
	}
	return string(out), nil
}

// Config is one native gateway's setup.
type Config struct {
	// Dir receives everything nginx reads and writes.
	Dir string
	// Template is nginx.conf's content; Vars its NGINX_* values.
	Template []byte
	Vars     map[string]string
	// ErrorLogLevel is error_log's level (e.g. "notice", "warn").
	ErrorLogLevel string
}

// Prepare writes the rendered template and its main configuration into
// cfg.Dir, checks them with `nginx -t`, and returns the arguments that run
// nginx in the foreground on them.
func Prepare(nginx string, cfg Config) ([]string, error) {
	for _, d := range []string{"conf.d", "tmp"} {
		if err := os.MkdirAll(filepath.Join(cfg.Dir, d), 0o755); err != nil {
			return nil, err
		}
	}
	site, err := Render(cfg.Template, cfg.Vars)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(cfg.Dir, "conf.d", "gateway.conf"), []byte(site), 0o644); err != nil {
		return nil, err
	}
	main := filepath.Join(cfg.Dir, "nginx.conf")
	if err := os.WriteFile(main, []byte(mainConfig(cfg.Dir, cfg.ErrorLogLevel)), 0o644); err != nil {
		return nil, err
	}
	args := []string{"-p", cfg.Dir, "-c", main, "-e", filepath.Join(cfg.Dir, "error.log")}
	if out, err := exec.Command(nginx, append(args, "-t")...).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("nginx -t: %w\n%s", err, out)
	}
	return args, nil
}

// mainConfig plays the part of the official image's /etc/nginx/nginx.conf.
func mainConfig(dir, errorLevel string) string {
	user := ""
	if os.Geteuid() == 0 {
		// Workers would drop to "nobody", which cannot enter a 0700 temp dir.
		user = "user root root;\n"
	}
	if errorLevel == "" {
		errorLevel = "notice"
	}
	return fmt.Sprintf(`# Native wrapper (internal/gateway): the official image's nginx.conf plays
# this part in Docker.
%sdaemon off;
worker_processes 2;
pid %[2]s/nginx.pid;
error_log %[2]s/error.log %[3]s;
events { worker_connections 4096; }
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
`, user, dir, errorLevel)
}
