package testenv

import "testing"

func TestSkipSummary(t *testing.T) {
	tests := []struct {
		name  string
		skips []string
		want  string
	}{
		{"none", nil, ""},
		{"one", []string{"jaeger"}, "SKIP pkg: 1 test skipped, missing: jaeger"},
		{"sorted and counted", []string{"jaeger", "chromium", "jaeger"}, "SKIP pkg: 3 tests skipped, missing: chromium; jaeger"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var l skipLog
			for _, s := range tt.skips {
				l.add(s)
			}
			if got := l.summary("pkg"); got != tt.want {
				t.Errorf("summary = %q, want %q", got, tt.want)
			}
		})
	}
}
