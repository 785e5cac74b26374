//go:build kube

package kube

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/osms/sports-service/internal/testenv"
)

// The release under test.
const (
	release  = "osms"
	fullname = "osms-sports-service"
	// appSelector selects the service's pods (the chart's selector labels).
	appSelector = "app.kubernetes.io/name=sports-service,app.kubernetes.io/instance=" + release + ",app.kubernetes.io/component=api"
)

// cluster is the running cluster and this run's namespace in it.
type cluster struct {
	kubectlBin string
	helmBin    string
	ns         string
	// nodes and their containerd sockets, in the same order.
	nodes   []string
	sockets []string
	// images the nodes have (KUBE_IMAGE_TAGS).
	images []string
	// appImage is the service's image (repository:tag).
	appImage string
	// storageDir holds the in-chart MongoDB's volume.
	storageDir   string
	storageClass string
}

func chartDir(t testing.TB) string {
	return filepath.Join(testenv.RepoRoot(t), "deploy", "helm", "sports-service")
}

// connect finds the cluster and makes this run's namespace; the cleanup
// removes it. A missing cluster skips the test, or fails it in CI.
func connect(t *testing.T) *cluster {
	t.Helper()
	c := &cluster{
		kubectlBin: testenv.EnvOr("KUBECTL", "kubectl"),
		helmBin:    testenv.Helm(t),
		appImage:   testenv.EnvOr("KUBE_APP_IMAGE", "osms/sports-service:dev"),
		nodes:      strings.Fields(os.Getenv("KUBE_NODES")),
		sockets:    strings.Fields(os.Getenv("KUBE_CONTAINERD_SOCKETS")),
		images:     strings.Fields(os.Getenv("KUBE_IMAGE_TAGS")),
	}
	if os.Getenv("KUBECONFIG") == "" {
		testenv.RequireOrSkip(t, "a Kubernetes cluster (KUBECONFIG unset: run under `bash .ci/kube.sh test -- ...`)")
	}
	if _, err := exec.LookPath(c.kubectlBin); err != nil {
		testenv.RequireOrSkip(t, "kubectl ("+c.kubectlBin+"): "+err.Error())
	}
	if out, err := c.run(t, 30*time.Second, nil, c.kubectlBin, "get", "nodes", "-o", "name"); err != nil {
		testenv.RequireOrSkip(t, fmt.Sprintf("a Kubernetes cluster at KUBECONFIG=%s: %v: %s", os.Getenv("KUBECONFIG"), err, out))
	}
	if len(c.nodes) == 0 {
		for _, n := range strings.Fields(c.kubectl(t, "get", "nodes", "-o", "jsonpath={.items[*].metadata.name}")) {
			c.nodes = append(c.nodes, n)
		}
	}
	c.ns = fmt.Sprintf("osms-test-%06x", rand.Uint32()&0xffffff)
	// The pods run under Pod Security "restricted": the apiserver refuses
	// any that asks for more.
	c.kubectl(t, "create", "namespace", c.ns)
	c.kubectl(t, "label", "namespace", c.ns, "pod-security.kubernetes.io/enforce=restricted",
		"pod-security.kubernetes.io/warn=restricted")
	t.Cleanup(func() { c.teardown(t) })
	return c
}

// run runs a command with a deadline and returns its standard output
// (with standard error when it fails).
func (c *cluster) run(t testing.TB, timeout time.Duration, stdin []byte, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = testenv.RepoRoot(t)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return strings.TrimSpace(stdout.String() + "\n" + stderr.String()), fmt.Errorf("%s %s: %w", filepath.Base(name), strings.Join(args, " "), err)
	}
	if s := strings.TrimSpace(stderr.String()); s != "" {
		return strings.TrimSpace(stdout.String()), &warnings{s}
	}
	return strings.TrimSpace(stdout.String()), nil
}

// mustRun is run that fails the test on an error (warnings are logged).
func (c *cluster) mustRun(t testing.TB, timeout time.Duration, stdin []byte, name string, args ...string) string {
	t.Helper()
	out, err := c.run(t, timeout, stdin, name, args...)
	return must(t, out, err)
}

// warnings is a command that succeeded but wrote to standard error.
type warnings struct{ text string }

func (w *warnings) Error() string { return w.text }

// must fails the test on a real error and logs warnings.
func must(t testing.TB, out string, err error) string {
	t.Helper()
	if w, ok := err.(*warnings); ok {
		t.Logf("stderr: %s", w.text)
		return out
	}
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return out
}

// kubectl runs kubectl in the test's namespace.
func (c *cluster) kubectl(t testing.TB, args ...string) string {
	t.Helper()
	out, err := c.kubectlTry(t, args...)
	return must(t, out, err)
}

func (c *cluster) kubectlTry(t testing.TB, args ...string) (string, error) {
	t.Helper()
	if c.ns != "" {
		args = append([]string{"-n", c.ns}, args...)
	}
	return c.run(t, 10*time.Minute, nil, c.kubectlBin, args...)
}

// kubectlJSON runs kubectl ... -o json into out.
func (c *cluster) kubectlJSON(t testing.TB, out any, args ...string) {
	t.Helper()
	if err := json.Unmarshal([]byte(c.kubectl(t, append(args, "-o", "json")...)), out); err != nil {
		t.Fatalf("kubectl %v: %v", args, err)
	}
}

// helm runs helm in the test's namespace.
func (c *cluster) helm(t testing.TB, timeout time.Duration, args ...string) string {
	t.Helper()
	return c.mustRun(t, timeout, nil, c.helmBin, append(args, "--namespace", c.ns)...)
}

// appPods are the service's pods that are not being deleted, by name.
func (c *cluster) appPods(t testing.TB) []corev1.Pod {
	t.Helper()
	var list corev1.PodList
	c.kubectlJSON(t, &list, "get", "pods", "-l", appSelector)
	var pods []corev1.Pod
	for _, p := range list.Items {
		if p.DeletionTimestamp == nil {
			pods = append(pods, p)
		}
	}
	slices.SortFunc(pods, func(a, b corev1.Pod) int { return strings.Compare(a.Name, b.Name) })
	return pods
}

func podReady(p corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// image picks an image of the nodes by repository, else def (a registry's).
func (c *cluster) image(repository, def string) (string, string) {
	for _, ref := range c.images {
		if repo, tag, ok := strings.Cut(ref, ":"); ok && repo == repository {
			return repo, tag
		}
	}
	repo, tag, _ := strings.Cut(def, ":")
	return repo, tag
}

// merge copies src into dst, recursing into maps.
func merge(dst, src map[string]any) map[string]any {
	for k, v := range src {
		if sm, ok := v.(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				dst[k] = merge(dm, sm)
				continue
			}
		}
		dst[k] = v
	}
	return dst
}

// testValues are the self-contained install with the images the nodes have:
// the CI stand-ins of .ci/stack.sh (pull policy Never: there is no
// registry), an admin whose password is in a Secret of the test's own.
func (c *cluster) testValues(t testing.TB) map[string]any {
	t.Helper()
	appRepo, appTag, _ := strings.Cut(c.appImage, ":")
	mongoRepo, mongoTag := c.image("osms-ci/mongo-standin", "mongo:8.0")
	eurekaRepo, eurekaTag := c.image("osms-ci/eureka-server", "osms/eureka-server:latest")
	jaegerRepo, jaegerTag := c.image("osms-ci/jaeger", "jaegertracing/jaeger:2.13.0")
	policy := "IfNotPresent"
	if len(c.images) > 0 {
		policy = "Never"
	}
	img := func(repo, tag string) map[string]any {
		return map[string]any{"repository": repo, "tag": tag, "pullPolicy": policy}
	}
	mongo := map[string]any{"image": img(mongoRepo, mongoTag),
		"persistence": map[string]any{"storageClass": c.storageClass, "size": "1Gi"}}
	if mongoRepo == "osms-ci/mongo-standin" {
		// The stand-in has no mongosh; its own ping is compose's CI override.
		mongo["probeCommand"] = []string{"/usr/local/bin/mongostandin", "ping"}
	}
	return merge(testenv.ChartValues(t, "self-contained-values.yaml"), map[string]any{
		"replicaCount": 2,
		"image":        img(appRepo, appTag),
		"mongodb":      mongo,
		"eureka":       map[string]any{"image": img(eurekaRepo, eurekaTag)},
		"jaeger":       map[string]any{"image": img(jaegerRepo, jaegerTag)},
		// The Eureka image has a shell and curl (the test pod uses wget or
		// curl). The nodes' osms-kube/busybox crashed there, which was its
		// wget's -T (Debian's busybox-static 1.35.0), since replaced by
		// `timeout 10 wget`; the Eureka image stays, as tested.
		"tests":   map[string]any{"image": img(eurekaRepo, eurekaTag)},
		"config":  map[string]any{"AUTH_ENABLED": "true", "ADMIN_USERNAME": adminUser},
		"secrets": map[string]any{"existingSecret": "osms-test-secrets"},
	})
}

// adminUser is the first admin the release creates.
const adminUser = "kube-admin"

// prepareStorage makes a static volume for the in-chart MongoDB's claim:
// the cluster has no provisioner. A hostPath under the cluster's state
// directory (the nodes share the host's file system).
func (c *cluster) prepareStorage(t testing.TB) {
	t.Helper()
	base := testenv.EnvOr("KUBE_STATE_DIR", os.TempDir())
	c.storageDir = filepath.Join(base, "volumes", c.ns)
	if err := os.MkdirAll(c.storageDir, 0o755); err != nil {
		t.Fatal(err)
	}
	// MongoDB runs as its own uid; a hostPath volume gets no fsGroup.
	if err := os.Chmod(c.storageDir, 0o777); err != nil {
		t.Fatal(err)
	}
	c.storageClass = c.ns + "-manual"
	pv := fmt.Sprintf(`apiVersion: v1
kind: PersistentVolume
metadata:
  name: %[1]s-mongodb
  labels: {osms-test: %[1]s}
spec:
  storageClassName: %[2]s
  capacity: {storage: 1Gi}
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  hostPath: {path: %[3]s, type: Directory}
`, c.ns, c.storageClass, c.storageDir)
	c.mustRun(t, time.Minute, []byte(pv), c.kubectlBin, "apply", "-f", "-")
}

// teardown uninstalls the release, deletes the namespace and the volume,
// and waits (bounded) for the pods to go: their drain takes up to the grace
// period.
func (c *cluster) teardown(t testing.TB) {
	if t.Failed() {
		c.dumpState(t)
	}
	_, _ = c.run(t, 2*time.Minute, nil, c.helmBin, "uninstall", release, "--namespace", c.ns, "--wait=false")
	// The pods would drain for their grace period (2 min); nobody calls them now.
	_, _ = c.run(t, 2*time.Minute, nil, c.kubectlBin, "-n", c.ns, "delete", "pods", "--all", "--grace-period=1", "--wait=false")
	if out, err := c.run(t, 5*time.Minute, nil, c.kubectlBin, "delete", "namespace", c.ns, "--timeout=4m"); err != nil {
		t.Logf("delete namespace %s: %v: %s", c.ns, err, out)
	}
	_, _ = c.run(t, time.Minute, nil, c.kubectlBin, "delete", "pv", "-l", "osms-test="+c.ns, "--wait=false")
	if c.storageDir != "" {
		os.RemoveAll(c.storageDir)
	}
}

// dumpState logs what a failure needs: pods, events, the service's logs.
func (c *cluster) dumpState(t testing.TB) {
	for _, args := range [][]string{
		{"get", "pods,svc,endpointslices,pdb,pvc", "-o", "wide"},
		{"get", "events", "--sort-by=.lastTimestamp"},
		{"logs", "-l", appSelector, "--tail=40", "--prefix", "--all-containers"},
	} {
		out, err := c.kubectlTry(t, args...)
		t.Logf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}
