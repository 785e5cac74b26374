package deploy

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/osms/sports-service/internal/testenv"
	"gopkg.in/yaml.v3"
)

// The values table of docs/kubernetes.md lies between these lines.
const (
	valuesTableStart = "<!-- values table: generated from values.yaml by TestChartValuesDoc; UPDATE_GOLDEN=1 rewrites it -->"
	valuesTableEnd   = "<!-- end of the values table -->"
)

// valueDoc is one leaf of values.yaml: its dotted key, default and comment.
type valueDoc struct{ key, def, help string }

// wholeValues are mappings documented as one value: the service's settings
// and Kubernetes' resource requirements.
var wholeValues = map[string]bool{"config": true, "resources": true}

// valuesDocs walks values.yaml's mappings; a key whose value is a non-empty
// mapping is a group, every other key a value, which must have a comment.
func valuesDocs(t testing.TB, node *yaml.Node, prefix string) []valueDoc {
	t.Helper()
	var out []valueDoc
	for i := 0; i+1 < len(node.Content); i += 2 {
		k, v := node.Content[i], node.Content[i+1]
		key := prefix + k.Value
		if v.Kind == yaml.MappingNode && len(v.Content) > 0 && !wholeValues[k.Value] {
			out = append(out, valuesDocs(t, v, key+".")...)
			continue
		}
		help := comment(k.HeadComment)
		if help == "" {
			t.Errorf("values.yaml: %s has no comment", key)
		}
		def := v.Value
		switch {
		case v.Kind != yaml.ScalarNode:
			v.Style = yaml.FlowStyle
			b, err := yaml.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			def = strings.TrimSpace(string(b))
		case v.Tag == "!!null":
			def = "null"
		case v.Tag == "!!str":
			def = fmt.Sprintf("%q", v.Value)
		}
		out = append(out, valueDoc{key, def, help})
	}
	return out
}

// comment joins a YAML head comment's lines, without their "#". Lines before
// a blank comment line are a section's introduction, not the key's.
func comment(head string) string {
	paragraphs := strings.Split(head, "\n\n")
	var words []string
	for _, line := range strings.Split(paragraphs[len(paragraphs)-1], "\n") {
		words = append(words, strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "#")))
	}
	return strings.TrimSpace(strings.Join(words, " "))
}

// TestChartValuesDoc keeps docs/kubernetes.md's values table equal to
// values.yaml's keys, defaults and comments: UPDATE_GOLDEN=1 rewrites it.
func TestChartValuesDoc(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(chartDir(t), "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString(valuesTableStart + "\n\n| Key | Default | Meaning |\n|---|---|---|\n")
	for _, v := range valuesDocs(t, doc.Content[0], "") {
		fmt.Fprintf(&b, "| `%s` | `%s` | %s |\n", v.key, strings.ReplaceAll(v.def, "|", "\\|"), strings.ReplaceAll(v.help, "|", "\\|"))
	}
	b.WriteString("\n" + valuesTableEnd)
	table := b.String()

	path := filepath.Join(testenv.RepoRoot(t), "docs", "kubernetes.md")
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	before, rest, ok1 := strings.Cut(string(text), valuesTableStart)
	_, after, ok2 := strings.Cut(rest, valuesTableEnd)
	if !ok1 || !ok2 {
		t.Fatalf("docs/kubernetes.md lacks the lines %q and %q around the values table", valuesTableStart, valuesTableEnd)
	}
	want := before + table + after
	if os.Getenv("UPDATE_GOLDEN") != "" {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if want != string(text) {
		t.Error("docs/kubernetes.md's values table is not values.yaml's; run UPDATE_GOLDEN=1 go test -run TestChartValuesDoc ./deploy and review the diff")
	}
}
