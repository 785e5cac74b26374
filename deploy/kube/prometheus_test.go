//go:build kube

package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
	corev1 "k8s.io/api/core/v1"

	"github.com/osms/sports-service/internal/testenv"
)

// metaLabel is a pod's annotation or label as Kubernetes service discovery
// names it (__meta_kubernetes_pod_annotation_prometheus_io_scrape, ...).
func metaLabel(kind, name string) string {
	return "__meta_kubernetes_pod_" + kind + "_" + regexp.MustCompile(`[^a-zA-Z0-9_]`).ReplaceAllString(name, "_")
}

// discoveredTargets are every pod of the namespace as Prometheus' Kubernetes
// discovery (role: pod) gives it: one target per container port, with the
// pod's labels, annotations, IP and name as __meta_kubernetes_* labels.
func discoveredTargets(pods []corev1.Pod) []map[string]any {
	var groups []map[string]any
	for _, p := range pods {
		for _, ct := range p.Spec.Containers {
			for _, port := range ct.Ports {
				labels := map[string]string{
					"__meta_kubernetes_namespace":                 p.Namespace,
					"__meta_kubernetes_pod_name":                  p.Name,
					"__meta_kubernetes_pod_ip":                    p.Status.PodIP,
					"__meta_kubernetes_pod_ready":                 fmt.Sprint(podReady(p)),
					"__meta_kubernetes_pod_node_name":             p.Spec.NodeName,
					"__meta_kubernetes_pod_container_name":        ct.Name,
					"__meta_kubernetes_pod_container_port_number": fmt.Sprint(port.ContainerPort),
				}
				for k, v := range p.Labels {
					labels[metaLabel("label", k)] = v
				}
				for k, v := range p.Annotations {
					labels[metaLabel("annotation", k)] = v
				}
				groups = append(groups, map[string]any{
					"targets": []string{net.JoinHostPort(p.Status.PodIP, fmt.Sprint(port.ContainerPort))},
					"labels":  labels,
				})
			}
		}
	}
	return groups
}

// testPrometheus: Prometheus scrapes the pods with observability/prometheus/
// kubernetes.yml's job and rules, unchanged but for the discovery: Debian's
// Prometheus has no Kubernetes discovery, so the pods of the namespace (every
// one, the in-chart MongoDB, Eureka and Jaeger too) are given to it as the
// targets that discovery would make, and the job's relabeling picks the
// service's pods and their annotated port and path. Every ready replica is
// up, and the recording rules return data.
func testPrometheus(t *testing.T, s *suite) {
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		testenv.RequireOrSkip(t, "prometheus (Debian: apt-get install prometheus)")
	}
	var list corev1.PodList
	s.kubectlJSON(t, &list, "get", "pods")
	dir := t.TempDir()
	targets, err := json.Marshal(discoveredTargets(list.Items))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "pods.json"), targets, 0o644); err != nil {
		t.Fatal(err)
	}

	root := testenv.RepoRoot(t)
	b, err := os.ReadFile(filepath.Join(root, "observability", "prometheus", "kubernetes.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	cfg["global"] = map[string]any{"scrape_interval": "2s", "scrape_timeout": "2s", "evaluation_interval": "2s"}
	var rules []string
	for _, r := range cfg["rule_files"].([]any) {
		rules = append(rules, filepath.Join(root, "observability", "prometheus", r.(string)))
	}
	cfg["rule_files"] = rules
	found := false
	for _, sc := range cfg["scrape_configs"].([]any) {
		job := sc.(map[string]any)
		if job["job_name"] != "sports-service" {
			continue
		}
		if _, ok := job["kubernetes_sd_configs"]; !ok {
			t.Fatal("kubernetes.yml: job sports-service has no kubernetes_sd_configs")
		}
		delete(job, "kubernetes_sd_configs")
		job["file_sd_configs"] = []any{map[string]any{"files": []string{filepath.Join(dir, "pods.json")}}}
		found = true
	}
	if !found {
		t.Fatal("kubernetes.yml has no job sports-service")
	}
	out, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), out, 0o644); err != nil {
		t.Fatal(err)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address="+addr)
	logFile, err := os.Create(filepath.Join(dir, "prometheus.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		logFile.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logFile.Name())
			t.Logf("prometheus log:\n%s", b)
		}
	})
	base := "http://" + addr

	// Traffic for the recording rules.
	for range 20 {
		s.api.must(t, http.StatusOK, http.MethodGet, fmt.Sprintf("/ch11/player/get/%d", s.players[0]), nil)
	}
	var want []string
	for _, p := range s.readyPods(t) {
		want = append(want, net.JoinHostPort(p.Status.PodIP, "8000"))
	}
	slices.Sort(want)
	var up []string
	start := time.Now()
	for deadline := start.Add(time.Minute); ; time.Sleep(time.Second) {
		up = nil
		for _, r := range promQuery(t, base, `up{job="sports-service"} == 1`) {
			up = append(up, r.Metric["instance"])
		}
		slices.Sort(up)
		if slices.Equal(up, want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("targets up %v, want the ready replicas %v (every target: %v)", up, want, promQuery(t, base, `up`))
		}
	}
	s.measure(t, "Prometheus scraped all %d replicas %v after it started", len(want), time.Since(start).Round(time.Second))
	// And the prometheus job itself: its first scrape has its own
	// offset in the interval, so it may come after the replicas'.
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(time.Second) {
		all := promQuery(t, base, `up`)
		if len(all) == len(want)+1 {
			break
		}
		if len(all) > len(want)+1 || time.Now().After(deadline) {
			t.Errorf("Prometheus scrapes %d targets, want the %d replicas and itself: %v", len(all), len(want), all)
			break
		}
	}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(2 * time.Second) {
		rate := promQuery(t, base, `instance:gin_uri_request:rate1m{job="sports-service"}`)
		if len(rate) > 0 {
			t.Logf("instance:gin_uri_request:rate1m: %v", rate)
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the recording rule instance:gin_uri_request:rate1m has no data")
		}
		for range 5 {
			s.api.must(t, http.StatusOK, http.MethodGet, fmt.Sprintf("/ch11/player/get/%d", s.players[0]), nil)
		}
	}
}

type promSample struct {
	Metric map[string]string `json:"metric"`
	Value  []any             `json:"value"`
}

// promQuery runs an instant query.
func promQuery(t testing.TB, base, expr string) []promSample {
	t.Helper()
	resp, err := http.Get(base + "/api/v1/query?" + url.Values{"query": {expr}}.Encode())
	if err != nil {
		return nil // not up yet
	}
	defer resp.Body.Close()
	var doc struct {
		Status string `json:"status"`
		Data   struct {
			Result []promSample `json:"result"`
		} `json:"data"`
		Error string `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil || doc.Status != "success" {
		t.Fatalf("query %s: %v %s", expr, err, doc.Error)
	}
	return doc.Data.Result
}

func (s promSample) String() string { return fmt.Sprintf("%v=%v", s.Metric, s.Value) }
