package deploy

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/osms/sports-service/internal/gateway"
)

var (
	templateVarRE = regexp.MustCompile(`\$\{([A-Z][A-Z0-9_]*)\}`)
	nginxVarRE    = regexp.MustCompile(`\$([a-z_][a-z0-9_]*)`)
)

// templateVariables lists the ${NAME} placeholders of nginx.conf.
func templateVariables(t testing.TB) []string {
	var names []string
	for _, m := range templateVarRE.FindAllStringSubmatch(string(readRoot(t, "nginx.conf")), -1) {
		if !slices.Contains(names, m[1]) {
			names = append(names, m[1])
		}
	}
	slices.Sort(names)
	return names
}

// nginxVariables lists nginx's own $variables used in nginx.conf.
func nginxVariables(t testing.TB) []string {
	var names []string
	for _, m := range nginxVarRE.FindAllStringSubmatch(string(readRoot(t, "nginx.conf")), -1) {
		if !slices.Contains(names, m[1]) {
			names = append(names, m[1])
		}
	}
	return names
}

// renderTemplate renders nginx.conf as the official image's
// 20-envsubst-on-templates.sh does: envsubst with the list of the defined
// variables that match NGINX_ENVSUBST_FILTER (here: vars, all NGINX_*), so
// nginx's $variables are left alone even when the environment has a variable
// of the same name (the decoys below).
func renderTemplate(t testing.TB, vars map[string]string) string {
	t.Helper()
	requireTool(t, "envsubst", "gettext-base")
	out, err := gateway.Render(readRoot(t, "nginx.conf"), vars)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestTemplateRendersCompletely: the placeholders are exactly the documented
// NGINX_* ones, none survives rendering, and every nginx variable does.
func TestTemplateRendersCompletely(t *testing.T) {
	names := templateVariables(t)
	want := []string{
		"NGINX_ACCESS_LOG", "NGINX_BODY_LIMIT", "NGINX_LOGIN_BURST", "NGINX_LOGIN_RATE",
		"NGINX_PORT", "NGINX_RESOLVER", "NGINX_UPSTREAM_SERVERS", "NGINX_WRITE_BURST", "NGINX_WRITE_RATE",
	}
	if !slices.Equal(names, want) {
		t.Errorf("template variables = %v, want %v", names, want)
	}
	vars := map[string]string{}
	for _, n := range names {
		vars[n] = "VALUE_OF_" + n
	}
	out := renderTemplate(t, vars)
	if m := templateVarRE.FindString(out); m != "" {
		t.Errorf("rendered config still has %s", m)
	}
	if strings.Contains(out, "DECOY") {
		t.Error("envsubst replaced one of nginx's own variables")
	}
	for _, v := range nginxVariables(t) {
		if !strings.Contains(out, "$"+v) {
			t.Errorf("nginx variable $%s lost in rendering", v)
		}
	}
}
