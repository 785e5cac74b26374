package deploy

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/osms/sports-service/internal/testenv"
	"gopkg.in/yaml.v3"
)

// loadCompose loads docker-compose.yaml the way `docker compose` does
// (schema validation, interpolation, normalization), with the variables of
// envFile as the project environment and nothing from the OS environment.
// The app's own env_file is not merged into its environment, so a developer's
// .env does not change what is tested.
func loadCompose(t *testing.T, envFile string) *types.Project {
	t.Helper()
	return loadProject(t, testenv.RepoRoot(t), nil, cli.WithEnvFiles(envFile), cli.WithDotEnv, cli.WithoutEnvironmentResolution)
}

// loadProject loads dir/docker-compose.yaml, followed by the override files
// (relative to dir), with dir as the project directory.
func loadProject(t *testing.T, dir string, overrides []string, options ...cli.ProjectOptionsFn) *types.Project {
	t.Helper()
	files := []string{filepath.Join(dir, "docker-compose.yaml")}
	for _, f := range overrides {
		files = append(files, filepath.Join(dir, f))
	}
	opts, err := cli.NewProjectOptions(files, append([]cli.ProjectOptionsFn{cli.WithWorkingDirectory(dir)}, options...)...)
	if err != nil {
		t.Fatal(err)
	}
	p, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatalf("docker-compose.yaml does not load: %v", err)
	}
	return p
}

func writeEnvFile(t *testing.T, lines ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "dummy.env")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func service(t *testing.T, p *types.Project, name string) types.ServiceConfig {
	t.Helper()
	s, err := p.GetService(name)
	if err != nil {
		t.Fatalf("service %s: %v", name, err)
	}
	return s
}

func env(s types.ServiceConfig, name string) string {
	if v, ok := s.Environment[name]; ok && v != nil {
		return *v
	}
	return ""
}

// published returns "published:target/protocol" for each port.
func published(s types.ServiceConfig) []string {
	var out []string
	for _, p := range s.Ports {
		out = append(out, p.Published+":"+strconv.Itoa(int(p.Target))+"/"+p.Protocol)
	}
	return out
}

func wantEnv(t *testing.T, s types.ServiceConfig, context string, want map[string]string) {
	t.Helper()
	for name, v := range want {
		if got := env(s, name); got != v {
			t.Errorf("%s%s: environment %s=%q, want %q", context, s.Name, name, got, v)
		}
	}
}

func wantHealthcheck(t *testing.T, s types.ServiceConfig, words ...string) {
	t.Helper()
	hc := s.HealthCheck
	if hc == nil || hc.Disable || len(hc.Test) == 0 {
		t.Errorf("%s: no healthcheck", s.Name)
		return
	}
	cmd := strings.Join(hc.Test, " ")
	for _, w := range words {
		if !strings.Contains(cmd, w) {
			t.Errorf("%s: healthcheck %q lacks %q", s.Name, cmd, w)
		}
	}
	if hc.Interval == nil || hc.Timeout == nil || hc.Retries == nil {
		t.Errorf("%s: healthcheck needs interval, timeout and retries", s.Name)
	}
}

// wantMount: the repository's dir is mounted read-only on target.
func wantMount(t *testing.T, p *types.Project, s types.ServiceConfig, dir, target string) {
	t.Helper()
	if !slices.ContainsFunc(s.Volumes, func(v types.ServiceVolumeConfig) bool {
		return v.Source == filepath.Join(p.WorkingDir, dir) && v.Target == target && v.ReadOnly
	}) {
		t.Errorf("%s: volumes %+v: want ./%s read-only on %s", s.Name, s.Volumes, dir, target)
	}
}

func wantDependsOn(t *testing.T, s types.ServiceConfig, want map[string]string) {
	t.Helper()
	for dep, cond := range want {
		d, ok := s.DependsOn[dep]
		if !ok {
			t.Errorf("%s: does not depend on %s", s.Name, dep)
			continue
		}
		if d.Condition != cond {
			t.Errorf("%s: depends on %s with condition %q, want %q", s.Name, dep, d.Condition, cond)
		}
	}
}

func TestComposeServices(t *testing.T) {
	p := loadCompose(t, writeEnvFile(t, "# empty"))

	names := p.ServiceNames()
	slices.Sort(names)
	if want := []string{"app", "eureka", "grafana", "jaeger", "mongo", "nginx", "prometheus"}; !slices.Equal(names, want) {
		t.Fatalf("services = %v, want %v", names, want)
	}
	if nets := p.NetworkNames(); len(nets) != 1 {
		t.Errorf("networks = %v, want exactly one", nets)
	}
	for _, s := range p.Services {
		if s.Restart == "" || s.Restart == "no" {
			t.Errorf("%s: no restart policy", s.Name)
		}
		if len(s.Networks) != 1 {
			t.Errorf("%s: networks = %v, want the one network", s.Name, s.Networks)
		}
		if s.Deploy == nil || s.Deploy.Resources.Limits == nil || s.Deploy.Resources.Limits.MemoryBytes == 0 {
			t.Errorf("%s: no memory limit", s.Name)
		}
	}

	t.Run("mongo", func(t *testing.T) {
		s := service(t, p, "mongo")
		if !regexp.MustCompile(`^mongo:\d+(\.\d+)?$`).MatchString(s.Image) {
			t.Errorf("image %q: want the official image pinned to a release line (mongo:8.0)", s.Image)
		}
		wantHealthcheck(t, s, "mongosh", "ping")
		if !slices.ContainsFunc(s.Volumes, func(v types.ServiceVolumeConfig) bool {
			return v.Type == types.VolumeTypeVolume && v.Target == "/data/db" && p.Volumes[v.Source].Name != ""
		}) {
			t.Errorf("volumes %+v: want a named volume on /data/db", s.Volumes)
		}
		if len(s.Ports) != 0 {
			t.Errorf("the database is published on the host: %v", published(s))
		}
	})

	t.Run("app", func(t *testing.T) {
		s := service(t, p, "app")
		if s.Build == nil || s.Build.Context != testenv.RepoRoot(t) {
			t.Errorf("build = %+v, want the repository root (.)", s.Build)
		}
		for _, arg := range []string{"VERSION", "COMMIT", "BUILD_TIME"} {
			if _, ok := s.Build.Args[arg]; !ok {
				t.Errorf("build arg %s not passed", arg)
			}
		}
		// What `--scale app=3` needs.
		if s.ContainerName != "" {
			t.Errorf("container_name %q prevents scaling", s.ContainerName)
		}
		if len(s.Ports) != 0 {
			t.Errorf("host ports %v prevent scaling (and bypass the gateway)", published(s))
		}
		if !slices.Contains([]string(s.Expose), "8000") {
			t.Errorf("expose = %v, want 8000", s.Expose)
		}
		if len(s.EnvFiles) != 1 || filepath.Base(s.EnvFiles[0].Path) != ".env" || bool(s.EnvFiles[0].Required) {
			t.Errorf("env_file = %+v, want an optional .env", s.EnvFiles)
		}
		wantDependsOn(t, s, map[string]string{
			"mongo":  types.ServiceConditionHealthy,
			"jaeger": types.ServiceConditionStarted,
			"eureka": types.ServiceConditionStarted,
		})
		wantHealthcheck(t, s, "/sports-service healthcheck")
		wantEnv(t, s, "", map[string]string{
			"LISTEN_ADDR":                 ":8000",
			"MONGODB_URI":                 "mongodb://mongo:27017",
			"EUREKA_URL":                  "http://eureka:8761/eureka",
			"OTEL_TRACES_EXPORTER":        "otlp",
			"OTEL_EXPORTER_OTLP_ENDPOINT": "http://jaeger:4318",
			"BODY_LIMIT":                  "1048576",
		})
		known := appVariables()
		for name := range s.Environment {
			if _, ok := known[name]; !ok {
				t.Errorf("environment sets %s, which the service does not read", name)
			}
		}
		// Docker kills the instance after stop_grace_period: the delay and
		// the drain must both fit, with a margin for the exit.
		setting := func(name string) time.Duration {
			v := known[name]
			if e, ok := s.Environment[name]; ok && e != nil {
				v = *e
			}
			d, err := time.ParseDuration(v)
			if err != nil {
				t.Errorf("%s=%q: %v", name, v, err)
			}
			return d
		}
		delay, shutdown := setting("SHUTDOWN_DELAY"), setting("SHUTDOWN_TIMEOUT")
		if delay < 95*time.Second {
			t.Errorf("SHUTDOWN_DELAY %v is shorter than a default Spring Cloud caller's caches (30s + 30s + 35s)", delay)
		}
		if s.StopGracePeriod == nil || time.Duration(*s.StopGracePeriod) < delay+shutdown+5*time.Second {
			t.Errorf("stop_grace_period %v must exceed SHUTDOWN_DELAY %v + SHUTDOWN_TIMEOUT %v + 5s", s.StopGracePeriod, delay, shutdown)
		}
	})

	t.Run("nginx", func(t *testing.T) {
		s := service(t, p, "nginx")
		m := regexp.MustCompile(`^nginx:(\d+)\.(\d+)(\.\d+)?(-alpine)?$`).FindStringSubmatch(s.Image)
		if m == nil {
			t.Fatalf("image %q: want the official image pinned to a release (nginx:1.30-alpine)", s.Image)
		}
		// "resolve" in an upstream server line is open-source nginx >= 1.27.3.
		if major, _ := strconv.Atoi(m[1]); major == 1 {
			if minor, _ := strconv.Atoi(m[2]); minor < 28 {
				t.Errorf("image %q: nginx.conf needs >= 1.27.3 (stable 1.28+) for upstream resolve", s.Image)
			}
		}
		if got := published(s); !slices.Equal(got, []string{"8080:8080/tcp"}) {
			t.Errorf("ports = %v, want 8080:8080 (the book's gateway port)", got)
		}
		if !slices.ContainsFunc(s.Volumes, func(v types.ServiceVolumeConfig) bool {
			return v.Source == filepath.Join(testenv.RepoRoot(t), "nginx.conf") &&
				strings.HasPrefix(v.Target, "/etc/nginx/templates/") && strings.HasSuffix(v.Target, ".conf.template") && v.ReadOnly
		}) {
			t.Errorf("volumes %+v: want ./nginx.conf read-only at /etc/nginx/templates/*.conf.template", s.Volumes)
		}
		wantDependsOn(t, s, map[string]string{"app": types.ServiceConditionHealthy})
		wantHealthcheck(t, s, "/health/live")

		// Every variable of the template is set, and the image's envsubst
		// filter lets exactly those through (and so none of nginx's own).
		filter, err := regexp.Compile(env(s, "NGINX_ENVSUBST_FILTER"))
		if err != nil || env(s, "NGINX_ENVSUBST_FILTER") == "" {
			t.Fatalf("NGINX_ENVSUBST_FILTER %q: %v", env(s, "NGINX_ENVSUBST_FILTER"), err)
		}
		for _, name := range templateVariables(t) {
			if !filter.MatchString(name) {
				t.Errorf("template variable %s is not matched by NGINX_ENVSUBST_FILTER", name)
			}
			if env(s, name) == "" {
				t.Errorf("template variable %s is not set", name)
			}
		}
		for _, name := range nginxVariables(t) {
			if filter.MatchString(name) {
				t.Errorf("NGINX_ENVSUBST_FILTER would substitute nginx's own $%s", name)
			}
		}
		if up := env(s, "NGINX_UPSTREAM_SERVERS"); !strings.Contains(up, "app:8000") || !strings.Contains(up, " resolve") {
			t.Errorf("NGINX_UPSTREAM_SERVERS=%q: want app:8000 with resolve (scaled instances)", up)
		}
		if env(s, "NGINX_RESOLVER") != "127.0.0.11" {
			t.Errorf("NGINX_RESOLVER=%q, want Docker's 127.0.0.11", env(s, "NGINX_RESOLVER"))
		}
		if got, want := env(s, "NGINX_BODY_LIMIT"), env(service(t, p, "app"), "BODY_LIMIT"); got != want {
			t.Errorf("gateway body limit %q != app BODY_LIMIT %q", got, want)
		}
	})

	t.Run("jaeger", func(t *testing.T) {
		s := service(t, p, "jaeger")
		if !regexp.MustCompile(`^jaegertracing/jaeger:2\.\d+\.\d+$`).MatchString(s.Image) {
			t.Errorf("image %q: want Jaeger v2 pinned (jaegertracing/jaeger:2.x.y)", s.Image)
		}
		got := published(s)
		for _, want := range []string{"16686:16686/tcp", "4317:4317/tcp", "4318:4318/tcp", "6831:6831/udp"} {
			if !slices.Contains(got, want) {
				t.Errorf("ports %v lack %s", got, want)
			}
		}
	})

	t.Run("prometheus", func(t *testing.T) {
		s := service(t, p, "prometheus")
		if !regexp.MustCompile(`^prom/prometheus:v3\.\d+\.\d+$`).MatchString(s.Image) {
			t.Errorf("image %q: want the official Prometheus 3 pinned (prom/prometheus:v3.x.y)", s.Image)
		}
		if got := published(s); !slices.Equal(got, []string{"9090:9090/tcp"}) {
			t.Errorf("ports = %v, want 9090:9090", got)
		}
		wantMount(t, p, s, "observability/prometheus", "/etc/prometheus")
		if !slices.Contains([]string(s.Command), "--config.file=/etc/prometheus/prometheus.yml") {
			t.Errorf("command %v: want --config.file=/etc/prometheus/prometheus.yml", s.Command)
		}
		wantHealthcheck(t, s, "/-/ready")
		// The scrape job finds the app's containers by the service's name
		// and its exposed port: what --scale app=N needs.
		var cfg struct {
			ScrapeConfigs []struct {
				JobName string `yaml:"job_name"`
				DNS     []struct {
					Names []string `yaml:"names"`
					Type  string   `yaml:"type"`
					Port  int      `yaml:"port"`
				} `yaml:"dns_sd_configs"`
			} `yaml:"scrape_configs"`
		}
		b, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "observability/prometheus/prometheus.yml"))
		if err != nil {
			t.Fatal(err)
		}
		if err := yaml.Unmarshal(b, &cfg); err != nil {
			t.Fatal(err)
		}
		app := service(t, p, "app")
		found := false
		for _, sc := range cfg.ScrapeConfigs {
			for _, d := range sc.DNS {
				found = true
				if !slices.Equal(d.Names, []string{app.Name}) || d.Type != "A" || !slices.Contains([]string(app.Expose), strconv.Itoa(d.Port)) {
					t.Errorf("job %s: dns_sd_configs %+v, want type A on %q port %v", sc.JobName, d, app.Name, app.Expose)
				}
			}
		}
		if !found {
			t.Error("prometheus.yml has no dns_sd_configs for the app")
		}
	})

	t.Run("grafana", func(t *testing.T) {
		s := service(t, p, "grafana")
		if !regexp.MustCompile(`^grafana/grafana:\d+\.\d+\.\d+$`).MatchString(s.Image) {
			t.Errorf("image %q: want the official image pinned (grafana/grafana:x.y.z)", s.Image)
		}
		if got := published(s); !slices.Equal(got, []string{"3000:3000/tcp"}) {
			t.Errorf("ports = %v, want 3000:3000", got)
		}
		wantMount(t, p, s, "observability/grafana/provisioning", "/etc/grafana/provisioning")
		wantMount(t, p, s, "observability/grafana/dashboards", "/etc/grafana/dashboards")
		// Anonymous read-only: viewers, no sign-in, no sign-up.
		wantEnv(t, s, "", map[string]string{
			"GF_AUTH_ANONYMOUS_ENABLED":  "true",
			"GF_AUTH_ANONYMOUS_ORG_ROLE": "Viewer",
			"GF_AUTH_DISABLE_LOGIN_FORM": "true",
			"GF_AUTH_BASIC_ENABLED":      "false",
			"GF_USERS_ALLOW_SIGN_UP":     "false",
		})
		wantHealthcheck(t, s, "/api/health")
	})

	t.Run("eureka", func(t *testing.T) {
		s := service(t, p, "eureka")
		if s.Build == nil || s.Build.Context != filepath.Join(testenv.RepoRoot(t), "registry") {
			t.Errorf("build = %+v, want ./registry", s.Build)
		}
		if got := published(s); !slices.Contains(got, "8761:8761/tcp") {
			t.Errorf("ports = %v, want 8761", got)
		}
	})
}

// TestComposeInterpolation: settings from the project's .env reach the
// containers (VERSION the image tag, BODY_LIMIT the app and the gateway),
// and the .env a user copies from .env.example keeps every compose value.
func TestComposeInterpolation(t *testing.T) {
	p := loadCompose(t, writeEnvFile(t,
		"VERSION=1.2.3",
		"BODY_LIMIT=2097152",
	))
	app, gw := service(t, p, "app"), service(t, p, "nginx")
	if app.Image != "osms/sports-service:1.2.3" {
		t.Errorf("app image %q, want tag 1.2.3", app.Image)
	}
	if v := app.Build.Args["VERSION"]; v == nil || *v != "1.2.3" {
		t.Errorf("build arg VERSION = %v, want 1.2.3", v)
	}
	if env(app, "BODY_LIMIT") != "2097152" || env(gw, "NGINX_BODY_LIMIT") != "2097152" {
		t.Errorf("BODY_LIMIT: app %q, gateway %q, want 2097152 on both", env(app, "BODY_LIMIT"), env(gw, "NGINX_BODY_LIMIT"))
	}

	// Copying .env.example to .env changes none of the app's compose values.
	defaults := service(t, loadCompose(t, writeEnvFile(t, "# empty")), "app")
	copied := service(t, loadCompose(t, filepath.Join(testenv.RepoRoot(t), ".env.example")), "app")
	for name := range defaults.Environment {
		if env(copied, name) != env(defaults, name) {
			t.Errorf("with .env = .env.example: %s=%q, want compose's %q (leave it empty in .env.example)",
				name, env(copied, name), env(defaults, name))
		}
	}
}

// loadComposeWithDotEnv loads docker-compose.yaml, copied into a directory
// whose .env holds lines, as `docker compose up` run there would: that .env
// feeds the interpolation and the app's env_file, and compose-go merges the
// env_file under the services' environment. The result is what the
// containers get.
func loadComposeWithDotEnv(t *testing.T, lines ...string) *types.Project {
	t.Helper()
	dir := t.TempDir()
	compose, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "docker-compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "docker-compose.yaml"), compose, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".env"), []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// No env file named: dir/.env, as docker compose does.
	return loadProject(t, dir, nil, cli.WithEnvFiles(), cli.WithDotEnv)
}

// TestComposeLocalDotEnv: a developer's .env made for `go run .` (every
// address on localhost) does not redirect the stack's containers, and its
// other settings still reach them.
func TestComposeLocalDotEnv(t *testing.T) {
	wiring := map[string]string{
		"LISTEN_ADDR":                        ":8000",
		"MONGODB_URI":                        "mongodb://mongo:27017",
		"TRACING_EXPORTER":                   "",
		"OTEL_TRACES_EXPORTER":               "otlp",
		"OTEL_EXPORTER_OTLP_ENDPOINT":        "http://jaeger:4318",
		"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "",
		"OTEL_EXPORTER_OTLP_PROTOCOL":        "http/protobuf",
		"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "",
		"JAEGER_AGENT_ENDPOINT":              "jaeger:6831",
		"JAEGER_COLLECTOR_ENDPOINT":          "http://jaeger:14268/api/traces",
		"EUREKA_URL":                         "http://eureka:8761/eureka",
		"EUREKA_PREFER_IP_ADDRESS":           "true",
		"EUREKA_INSTANCE_HOSTNAME":           "",
		"EUREKA_INSTANCE_IP":                 "",
	}
	p := loadComposeWithDotEnv(t,
		"MONGODB_URI=mongodb://localhost:27017",
		"EUREKA_URL=http://localhost:8761/eureka",
		"OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318",
		"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=http://localhost:4318/v1/traces",
		"OTEL_EXPORTER_OTLP_PROTOCOL=grpc",
		"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=grpc",
		"TRACING_EXPORTER=stdout",
		"OTEL_TRACES_EXPORTER=jaeger",
		"JAEGER_AGENT_ENDPOINT=localhost:6831",
		"JAEGER_COLLECTOR_ENDPOINT=http://localhost:14268/api/traces",
		"EUREKA_INSTANCE_HOSTNAME=localhost",
		"EUREKA_INSTANCE_IP=127.0.0.1",
		"EUREKA_PREFER_IP_ADDRESS=false",
		"LISTEN_ADDR=:9000",
		"LOG_LEVEL=debug",
		"API_TOKEN=local-token",
		"BODY_LIMIT=2097152",
	)
	app, gw := service(t, p, "app"), service(t, p, "nginx")
	for name, want := range wiring {
		v, ok := app.Environment[name]
		if !ok || v == nil || *v != want {
			got := "<unset>"
			if ok && v != nil {
				got = *v
			}
			t.Errorf("with a local .env: container %s=%s, want compose's %q", name, got, want)
		}
	}
	// The rest of .env is the developer's to set, in the containers too.
	wantEnv(t, app, "with a local .env: ", map[string]string{
		"LOG_LEVEL":  "debug",
		"API_TOKEN":  "local-token",
		"BODY_LIMIT": "2097152",
	})
	if env(gw, "NGINX_BODY_LIMIT") != "2097152" {
		t.Errorf("gateway NGINX_BODY_LIMIT = %q, want the .env's BODY_LIMIT", env(gw, "NGINX_BODY_LIMIT"))
	}

	// Every address the service reads is wiring: a new *_URI, *_URL or
	// *_ENDPOINT variable must be set literally in compose too.
	for name := range appVariables() {
		if strings.HasSuffix(name, "_URI") || strings.HasSuffix(name, "_URL") || strings.HasSuffix(name, "_ENDPOINT") {
			if _, ok := wiring[name]; !ok {
				t.Errorf("%s is an address the service reads but not part of the compose wiring", name)
			}
		}
	}
}

// TestComposeCIOverride: .ci/compose.local-images.yaml, which CI adds to run
// the stack where no registry is reachable (.ci/stack.sh), swaps images and
// mongo's healthcheck command, and nothing else: with those put back, the
// merged project equals docker-compose.yaml alone.
func TestComposeCIOverride(t *testing.T) {
	const override = ".ci/compose.local-images.yaml"
	envFile := writeEnvFile(t, "# empty")
	base := loadCompose(t, envFile)
	merged := loadProject(t, testenv.RepoRoot(t), []string{override},
		cli.WithEnvFiles(envFile), cli.WithDotEnv, cli.WithoutEnvironmentResolution)

	// grafana keeps its image: .ci/stack.sh does not start it.
	replaced := map[string]bool{"mongo": true, "nginx": true, "jaeger": true, "eureka": true, "prometheus": true}
	for name, b := range base.Services {
		m, ok := merged.Services[name]
		if !ok {
			t.Errorf("%s: missing with the override", name)
			continue
		}
		if replaced[name] != strings.HasPrefix(m.Image, "osms-ci/") {
			t.Errorf("%s: image %q with the override (replaced: %v)", name, m.Image, replaced[name])
		}
		m.Image = b.Image
		if name == "mongo" {
			if m.HealthCheck == nil || !slices.Contains(m.HealthCheck.Test, "ping") || slices.Contains(m.HealthCheck.Test, "mongosh") {
				t.Errorf("mongo: healthcheck %+v with the override, want the stand-in's ping", m.HealthCheck)
			} else {
				hc := *m.HealthCheck
				hc.Test = b.HealthCheck.Test
				m.HealthCheck = &hc
			}
		}
		if !reflect.DeepEqual(b, m) {
			t.Errorf("%s: the override changes more than the image:\nbase:     %+v\noverride: %+v", name, b, m)
		}
	}
	if len(merged.Services) != len(base.Services) {
		t.Errorf("services: %d with the override, %d without", len(merged.Services), len(base.Services))
	}
	if !reflect.DeepEqual(base.Networks, merged.Networks) || !reflect.DeepEqual(base.Volumes, merged.Volumes) {
		t.Errorf("the override changes networks or volumes")
	}
}
