package deploy

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/osms/sports-service/internal/testenv"
)

// TestCINginxTemplateStep: the CI nginx image's copy of the official image's
// template step (.ci/images/nginx/20-envsubst-on-templates.sh), run with the
// compose file's nginx environment, renders nginx.conf exactly as the
// official mechanism does (renderTemplate), leaving nginx's own $variables
// alone although the environment has variables of the same names.
func TestCINginxTemplateStep(t *testing.T) {
	requireTool(t, "envsubst", "gettext-base")
	requireTool(t, "awk", "mawk")
	dir := t.TempDir()
	templates, confd := filepath.Join(dir, "templates"), filepath.Join(dir, "conf.d")
	for _, d := range []string{templates, confd} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write(t, filepath.Join(templates, "default.conf.template"), string(readRoot(t, "nginx.conf")))

	gw := service(t, loadCompose(t, writeEnvFile(t, "# empty")), "nginx")
	environ := []string{
		"PATH=" + os.Getenv("PATH"),
		"NGINX_ENVSUBST_TEMPLATE_DIR=" + templates,
		"NGINX_ENVSUBST_OUTPUT_DIR=" + confd,
		"host=DECOY", "request_id=DECOY", "remote_addr=DECOY",
	}
	vars := map[string]string{}
	for name := range gw.Environment {
		environ = append(environ, name+"="+env(gw, name))
		if strings.HasPrefix(name, "NGINX_") && !strings.HasPrefix(name, "NGINX_ENVSUBST_") {
			vars[name] = env(gw, name)
		}
	}
	cmd := exec.Command("sh", filepath.Join(testenv.RepoRoot(t), ".ci/images/nginx/20-envsubst-on-templates.sh"))
	cmd.Env = environ
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("template step: %v\n%s", err, out)
	}
	got, err := os.ReadFile(filepath.Join(confd, "default.conf"))
	if err != nil {
		t.Fatal(err)
	}
	if want := renderTemplate(t, vars); string(got) != want {
		t.Errorf("the CI image's template step renders differently from the official mechanism:\n%s", firstDiff(string(got), want))
	}
	if strings.Contains(string(got), "DECOY") {
		t.Error("the template step replaced one of nginx's own variables")
	}
}

// firstDiff shows the first line where got and want differ.
func firstDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := range min(len(g), len(w)) {
		if g[i] != w[i] {
			return fmt.Sprintf("line %d:\n got: %s\nwant: %s", i+1, g[i], w[i])
		}
	}
	return fmt.Sprintf("lengths %d and %d lines", len(g), len(w))
}
