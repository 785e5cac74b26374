package httpmethod

import "testing"

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{"GET": "GET", "DELETE": "DELETE", "TRACE": "TRACE", "BREW": Other, "get": Other, "": Other} {
		if got := Normalize(in); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
	}
}
