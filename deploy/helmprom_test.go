package deploy

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/osms/sports-service/internal/testenv"
	"github.com/osms/sports-service/observability"
)

// relabelRule is the part of a Prometheus relabel_config the Kubernetes job
// uses.
type relabelRule struct {
	SourceLabels []string `yaml:"source_labels"`
	Separator    string   `yaml:"separator"`
	Regex        string   `yaml:"regex"`
	TargetLabel  string   `yaml:"target_label"`
	Replacement  string   `yaml:"replacement"`
	Action       string   `yaml:"action"`
}

// relabel applies rules as Prometheus does (keep, drop and replace, the
// regex anchored at both ends); false: the target is dropped.
func relabel(t testing.TB, labels map[string]string, rules []relabelRule) bool {
	t.Helper()
	for _, r := range rules {
		sep, regex, repl, action := r.Separator, r.Regex, r.Replacement, r.Action
		if sep == "" {
			sep = ";"
		}
		if regex == "" {
			regex = "(.*)"
		}
		if repl == "" {
			repl = "$1"
		}
		if action == "" {
			action = "replace"
		}
		var values []string
		for _, l := range r.SourceLabels {
			values = append(values, labels[l])
		}
		value := strings.Join(values, sep)
		re := regexp.MustCompile("^(?:" + regex + ")$")
		switch action {
		case "keep":
			if !re.MatchString(value) {
				return false
			}
		case "drop":
			if re.MatchString(value) {
				return false
			}
		case "replace":
			if m := re.FindStringSubmatchIndex(value); m != nil {
				labels[r.TargetLabel] = string(re.ExpandString(nil, repl, value, m))
			}
		default:
			t.Fatalf("relabel action %q: the test knows keep, drop and replace", action)
		}
	}
	return true
}

// podTargets are the targets Kubernetes discovery (role: pod) makes of a
// pod template: one per container port, with its labels and annotations.
func podTargets(name string, tmpl corev1.PodTemplateSpec, ip string) []map[string]string {
	meta := func(kind, k string) string {
		return "__meta_kubernetes_pod_" + kind + "_" + regexp.MustCompile(`[^a-zA-Z0-9_]`).ReplaceAllString(k, "_")
	}
	var out []map[string]string
	for _, ct := range tmpl.Spec.Containers {
		for _, p := range ct.Ports {
			l := map[string]string{"__address__": fmt.Sprintf("%s:%d", ip, p.ContainerPort), "__metrics_path__": "/metrics",
				"__meta_kubernetes_pod_name": name, "__meta_kubernetes_pod_ip": ip, "__meta_kubernetes_namespace": chartNamespace}
			for k, v := range tmpl.Labels {
				l[meta("label", k)] = v
			}
			for k, v := range tmpl.Annotations {
				l[meta("annotation", k)] = v
			}
			out = append(out, l)
		}
	}
	return out
}

// TestPrometheusKubernetesJob: observability/prometheus/kubernetes.yml's
// job (the rules' job name) keeps, of every pod the self-contained chart
// makes, exactly the service's, and scrapes them at the port and path the
// service serves its metrics on. (Debian's Prometheus has no Kubernetes
// discovery; deploy/kube runs the job in it on a real cluster's pods.)
func TestPrometheusKubernetesJob(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "observability", "prometheus", "kubernetes.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		RuleFiles     []string `yaml:"rule_files"`
		ScrapeConfigs []struct {
			JobName    string           `yaml:"job_name"`
			Kubernetes []map[string]any `yaml:"kubernetes_sd_configs"`
			Relabel    []relabelRule    `yaml:"relabel_configs"`
		} `yaml:"scrape_configs"`
	}
	if err := yaml.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	for _, r := range cfg.RuleFiles {
		if _, err := os.Stat(filepath.Join(testenv.RepoRoot(t), "observability", "prometheus", r)); err != nil {
			t.Errorf("rule file %s: %v", r, err)
		}
	}
	c := mustRender(t, testenv.ChartValues(t, "self-contained-values.yaml"))
	env := podEnvironment(t, chartScenario{}, c)
	for _, job := range cfg.ScrapeConfigs {
		if job.JobName != observability.Job {
			continue
		}
		if len(job.Kubernetes) != 1 || job.Kubernetes[0]["role"] != "pod" {
			t.Fatalf("job %s: kubernetes_sd_configs %v, want one, role pod", job.JobName, job.Kubernetes)
		}
		var kept []string
		for _, m := range c.manifests {
			var tmpl corev1.PodTemplateSpec
			switch o := m.Object.(type) {
			case *appsv1.Deployment:
				tmpl = o.Spec.Template
			case *appsv1.StatefulSet:
				tmpl = o.Spec.Template
			default:
				continue
			}
			for _, target := range podTargets(m.Name+"-0", tmpl, "10.244.1.9") {
				if relabel(t, target, job.Relabel) {
					kept = append(kept, m.Name)
					_, port, _ := netSplitPort(env["LISTEN_ADDR"])
					if target["__address__"] != "10.244.1.9:"+port || target["__metrics_path__"] != env["METRICS_PATH"] {
						t.Errorf("%s scraped at %s%s, the service serves http://10.244.1.9:%s%s", m.Name, target["__address__"],
							target["__metrics_path__"], port, env["METRICS_PATH"])
					}
					if target["pod"] != m.Name+"-0" || target["namespace"] != chartNamespace {
						t.Errorf("target labels pod=%q namespace=%q", target["pod"], target["namespace"])
					}
				}
			}
		}
		if len(kept) != 1 || kept[0] != chartFullname {
			t.Errorf("job %s scrapes %v, want the service's pods (%s) only", job.JobName, kept, chartFullname)
		}
		return
	}
	t.Fatalf("kubernetes.yml has no job %s (the rules' job)", observability.Job)
}
